//! Tolerant readers for JSON objects as the Power Platform, Power Automate
//! and Graph APIs write them, and as PowerShell re-serialises them.
//!
//! Absent is unknown: a reader answers `None` for a missing, null or
//! unreadable value, never a made-up default.

use plumbline_plugin_sdk::time;
use serde_json::{Map, Value};

/// A JSON object.
pub(crate) type Object = Map<String, Value>;

/// The value of `key`, exact spelling first, then ignoring case
/// (PowerShell and the services do not always agree on casing).
pub(crate) fn field<'a>(obj: &'a Object, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A nested object.
pub(crate) fn object<'a>(obj: &'a Object, key: &str) -> Option<&'a Object> {
    field(obj, key)?.as_object()
}

/// A nested array.
pub(crate) fn array<'a>(obj: &'a Object, key: &str) -> Option<&'a Vec<Value>> {
    field(obj, key)?.as_array()
}

/// A text value, trimmed; numbers and booleans as written. `None` when
/// absent, null, empty or not a scalar.
pub(crate) fn text(obj: &Object, key: &str) -> Option<String> {
    match field(obj, key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A boolean: JSON `true`/`false` or the strings `True`/`False`.
pub(crate) fn boolean(obj: &Object, key: &str) -> Option<bool> {
    match field(obj, key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A date as RFC 3339 UTC: ISO 8601 as the services write it, or Windows
/// PowerShell 5.1's `/Date(ms)/`. Only ASCII is handed to the SDK's parser.
pub(crate) fn date(obj: &Object, key: &str) -> Option<String> {
    let raw = text(obj, key)?;
    if raw.is_ascii() {
        time::normalize(&raw)
    } else {
        None
    }
}

/// A name that goes into a URL path or a file path: the services use GUIDs
/// and `Default-{guid}`; anything else is refused rather than escaped.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn readers_keep_unknown_apart() {
        let o = obj(json!({"a": " x ", "b": "", "c": null, "d": 3, "E": "TRUE", "f": {"g": 1}, "h": [1]}));
        assert_eq!(text(&o, "a").as_deref(), Some("x"));
        assert_eq!(text(&o, "b"), None);
        assert_eq!(text(&o, "c"), None);
        assert_eq!(text(&o, "d").as_deref(), Some("3"));
        assert_eq!(text(&o, "f"), None);
        assert_eq!(boolean(&o, "e"), Some(true), "case-insensitive key");
        assert_eq!(boolean(&o, "a"), None);
        assert!(object(&o, "f").is_some() && object(&o, "h").is_none());
        assert!(array(&o, "h").is_some() && array(&o, "missing").is_none());
    }

    #[test]
    fn dates_in_both_powershell_forms() {
        let o = obj(json!({
            "iso": "2026-03-03T01:15:12.4590149Z",
            "ps51": "/Date(1772500512000)/",
            "junk": "2026-07-23T1\u{20ac}:00:00Z"
        }));
        assert_eq!(date(&o, "iso").as_deref(), Some("2026-03-03T01:15:12Z"));
        assert_eq!(date(&o, "ps51").as_deref(), Some("2026-03-03T01:15:12Z"));
        assert_eq!(date(&o, "junk"), None);
    }

    #[test]
    fn safe_names() {
        assert!(is_safe_name("Default-5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa"));
        assert!(is_safe_name("0b6e3a58-8d1c-4f2e-b7a9-3c5d1e0f9a21"));
        for bad in ["", "..", "a/b", "a?b", "a b", "a%2Fb", ".hidden", "ü"] {
            assert!(!is_safe_name(bad), "{bad}");
        }
    }
}
