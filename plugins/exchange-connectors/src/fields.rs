//! Tolerant readers for the fields of one cmdlet object.
//!
//! The same cmdlet output reaches us in several shapes: Exchange Online's
//! REST answer, PowerShell 7's `ConvertTo-Json` and Windows PowerShell 5.1's.
//! These readers accept every shape we know of and say "unknown" (`None`)
//! for anything else: a missing or unreadable field is never read as `false`
//! or as "empty".

use plumbline_plugin_sdk::time;
use serde_json::{Map, Value};

/// A JSON object: one cmdlet result.
pub(crate) type Object = Map<String, Value>;

/// A field that may be absent, present but null, or set.
///
/// Some settings mean something when explicitly null: `TlsSettings: null` on
/// an outbound connector says "no TLS requirement", whereas a missing
/// `TlsSettings` key says nothing at all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Presence<T> {
    /// The key is not there: unknown.
    #[default]
    Absent,
    /// The key is there with `null` (or an empty string): explicitly unset.
    Null,
    /// The key holds a value.
    Value(T),
}

impl<T> Presence<T> {
    /// The value, when set.
    pub fn value(&self) -> Option<&T> {
        match self {
            Presence::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the key was there at all (null or a value).
    pub fn is_known(&self) -> bool {
        !matches!(self, Presence::Absent)
    }
}

/// The value of `key`, exact spelling first, then ignoring case.
///
/// Windows PowerShell 5.1 sometimes writes an extended-type value as an
/// object `{"value": ..., "Count": n}` or `{"value": ..., "DisplayHint": n,
/// "DateTime": "..."}`; such wrappers are unwrapped.
pub(crate) fn field<'a>(obj: &'a Object, key: &str) -> Option<&'a Value> {
    let v = obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })?;
    Some(unwrap_ps(v))
}

/// Strip PowerShell 5.1's `{"value": ...}` wrappers (at most a few levels).
pub(crate) fn unwrap_ps(mut v: &Value) -> &Value {
    for _ in 0..4 {
        match v {
            Value::Object(o) => match o.get("value") {
                Some(inner) if o.keys().all(|k| is_wrapper_key(k)) => v = inner,
                _ => return v,
            },
            _ => return v,
        }
    }
    v
}

fn is_wrapper_key(k: &str) -> bool {
    matches!(k, "value" | "Count" | "DisplayHint" | "DateTime")
}

/// A boolean: JSON `true`/`false`, or the strings `True`/`False` (any case,
/// also `$true`/`$false`). Anything else, null included, is unknown.
pub(crate) fn bool_field(obj: &Object, key: &str) -> Option<bool> {
    match field(obj, key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => {
            let s = s.trim();
            let s = s.strip_prefix('$').unwrap_or(s);
            if s.eq_ignore_ascii_case("true") {
                Some(true)
            } else if s.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A text value, trimmed; `None` when absent, null, empty or not a scalar.
pub(crate) fn text_field(obj: &Object, key: &str) -> Option<String> {
    presence_text(obj, key).value().cloned()
}

/// A text value that keeps "present but null/empty" apart from "absent".
/// A value that is neither text nor a number (an object, an array) is
/// unreadable and so unknown ([`Presence::Absent`]).
pub(crate) fn presence_text(obj: &Object, key: &str) -> Presence<String> {
    match field(obj, key) {
        None => Presence::Absent,
        Some(Value::Null) => Presence::Null,
        Some(Value::String(s)) if s.trim().is_empty() => Presence::Null,
        Some(Value::String(s)) => Presence::Value(s.trim().to_string()),
        Some(Value::Number(n)) => Presence::Value(n.to_string()),
        Some(Value::Bool(b)) => Presence::Value(b.to_string()),
        Some(_) => Presence::Absent,
    }
}

/// A multi-valued field: an array of strings, or a single string. Null is
/// a known empty list; absent (or unreadable) is unknown.
pub(crate) fn list_field(obj: &Object, key: &str) -> Option<Vec<String>> {
    match field(obj, key)? {
        Value::Null => Some(Vec::new()),
        Value::String(s) => Some(
            Some(s.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .into_iter()
                .collect(),
        ),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|item| match unwrap_ps(item) {
                    Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}

/// [`time::parse_ms`], but only on ASCII text: the SDK's parser slices by
/// byte offset and panics on some non-ASCII input (`2026-07-23T1€:00:00Z`),
/// and no date Microsoft writes is anything but ASCII.
pub(crate) fn parse_date_ms(text: &str) -> Option<i64> {
    if text.is_ascii() {
        time::parse_ms(text)
    } else {
        None
    }
}

/// [`time::normalize`] with the same ASCII guard as [`parse_date_ms`].
pub(crate) fn normalize_date(text: &str) -> Option<String> {
    if text.is_ascii() {
        time::normalize(text)
    } else {
        None
    }
}

/// The first of `keys` that holds a date `plumbline_plugin_sdk::time`
/// can read, as written. Put the `...UTC` variant first: PowerShell 7
/// writes the plain one in the exporting machine's local time.
pub(crate) fn date_field(obj: &Object, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match field(obj, k)? {
        Value::String(s) if parse_date_ms(s).is_some() => Some(s.trim().to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        match v {
            Value::Object(o) => o,
            _ => panic!("test input must be an object"),
        }
    }

    #[test]
    fn bools_accept_powershell_strings_and_keep_unknown() {
        let o = obj(
            json!({"A": true, "B": "False", "C": "$true", "D": null, "E": "maybe", "f": "TRUE"}),
        );
        assert_eq!(bool_field(&o, "A"), Some(true));
        assert_eq!(bool_field(&o, "B"), Some(false));
        assert_eq!(bool_field(&o, "C"), Some(true));
        assert_eq!(bool_field(&o, "D"), None);
        assert_eq!(bool_field(&o, "E"), None);
        assert_eq!(bool_field(&o, "F"), Some(true), "case-insensitive key");
        assert_eq!(bool_field(&o, "Missing"), None);
    }

    #[test]
    fn lists_accept_single_strings_and_ps51_wrappers() {
        let o = obj(json!({
            "One": "smtp:*;1",
            "Many": ["a", " ", "b", 3, {"x": 1}],
            "Wrapped": {"value": ["c", "d"], "Count": 2},
            "Null": null,
            "Odd": {"x": 1}
        }));
        assert_eq!(list_field(&o, "One"), Some(vec!["smtp:*;1".to_string()]));
        assert_eq!(
            list_field(&o, "Many"),
            Some(vec!["a".into(), "b".into(), "3".into()])
        );
        assert_eq!(
            list_field(&o, "Wrapped"),
            Some(vec!["c".into(), "d".into()])
        );
        assert_eq!(list_field(&o, "Null"), Some(vec![]));
        assert_eq!(list_field(&o, "Odd"), None);
        assert_eq!(list_field(&o, "Missing"), None);
    }

    #[test]
    fn presence_tells_null_from_absent() {
        let o = obj(json!({"N": null, "E": "", "V": "EncryptionOnly", "O": [1]}));
        assert_eq!(presence_text(&o, "N"), Presence::Null);
        assert_eq!(presence_text(&o, "E"), Presence::Null);
        assert_eq!(
            presence_text(&o, "V"),
            Presence::Value("EncryptionOnly".into())
        );
        assert_eq!(presence_text(&o, "O"), Presence::Absent);
        assert_eq!(presence_text(&o, "Missing"), Presence::Absent);
    }

    #[test]
    fn dates_prefer_the_first_readable_key() {
        let o = obj(json!({
            "WhenCreated": "2026-07-23T15:55:13",
            "WhenCreatedUTC": "2026-07-23T22:55:13.0000000Z",
            "WhenChangedUTC": "garbage",
            "WhenChanged": {"value": "/Date(1772500512000)/", "DisplayHint": 2, "DateTime": "Tuesday"}
        }));
        assert_eq!(
            date_field(&o, &["WhenCreatedUTC", "WhenCreated"]).as_deref(),
            Some("2026-07-23T22:55:13.0000000Z")
        );
        assert_eq!(
            date_field(&o, &["WhenChangedUTC", "WhenChanged"]).as_deref(),
            Some("/Date(1772500512000)/")
        );
        assert_eq!(date_field(&o, &["Nope"]), None);
        let o = obj(json!({"WhenCreated": "2026-07-23T1\u{20ac}:00:00Z"}));
        assert_eq!(
            date_field(&o, &["WhenCreated"]),
            None,
            "non-ASCII is unreadable, not a panic"
        );
    }
}
