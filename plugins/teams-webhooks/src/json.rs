//! Tolerant readers for Graph JSON as the API answers it and as PowerShell
//! saves it: a field that is absent, null or unreadable is unknown (`None`),
//! never `false` or empty.

use plumbline_plugin_sdk::ScanError;
use serde_json::{Map, Value};

/// One JSON object.
pub(crate) type Object = Map<String, Value>;

/// The value of `key`, exact spelling first, then ignoring case (PowerShell
/// hashtables and exports are not careful about case).
pub(crate) fn field<'a>(obj: &'a Object, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Trimmed text of a string or number field; `None` when absent, null or empty.
pub(crate) fn text(obj: &Object, key: &str) -> Option<String> {
    match field(obj, key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A boolean: JSON `true`/`false` or the strings `True`/`False` (PowerShell).
pub(crate) fn boolean(obj: &Object, key: &str) -> Option<bool> {
    match field(obj, key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool(s),
        _ => None,
    }
}

/// `true`/`false` (also `$true`, `yes`/`no`, `1`/`0`), any case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    let s = s.strip_prefix('$').unwrap_or(s);
    if ["true", "yes", "1"].iter().any(|t| s.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if ["false", "no", "0"].iter().any(|t| s.eq_ignore_ascii_case(t)) {
        Some(false)
    } else {
        None
    }
}

/// What one saved or received Graph answer holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Collection {
    /// The items, and the next page's link when the answer was only a page.
    Items {
        /// The objects of `value` (or of the top-level array).
        items: Vec<Value>,
        /// `@odata.nextLink`, when there are more pages.
        next_link: Option<String>,
    },
    /// A Graph error answer (`{"error": {...}}`), with the HTTP status when
    /// the saver wrote it down (`"status": 403`).
    Error(GraphError),
}

/// A Graph error: `{"error": {"code": "Forbidden", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// The HTTP status, when known.
    pub status: Option<u16>,
    /// `error.code`.
    pub code: Option<String>,
    /// `error.message`.
    pub message: String,
}

impl GraphError {
    /// Read `{"error": {...}}` (and a sibling `status`), if that is what `v` is.
    pub fn from_value(v: &Value, status: Option<u16>) -> Option<GraphError> {
        let o = v.as_object()?;
        let err = field(o, "error")?;
        let status = status.or_else(|| {
            ["status", "statusCode"]
                .iter()
                .find_map(|k| field(o, k).and_then(Value::as_u64))
                .and_then(|n| u16::try_from(n).ok())
        });
        let (code, message) = match err {
            Value::Object(e) => (
                text(e, "code"),
                text(e, "message").unwrap_or_else(|| "no message".to_string()),
            ),
            Value::String(s) => (None, s.clone()),
            _ => (None, "no message".to_string()),
        };
        Some(GraphError { status, code, message })
    }

    /// `HTTP 403 Forbidden: message`, for notes and logs.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(s) = self.status {
            out.push_str(&format!("HTTP {s}"));
        }
        if let Some(c) = &self.code {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(c);
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&short(&self.message, 200));
        out
    }
}

/// Parse one Graph answer, saved or received.
///
/// Accepts a Graph page (`{"value": [...], "@odata.nextLink": ...}`), a bare
/// array, a bare object (PowerShell's `ConvertTo-Json` of one item), an
/// empty text or `null` (nothing), and a Graph error object. Anything else
/// is [`ScanError::Malformed`] naming `source`.
pub fn parse_collection(text: &str, source: &str) -> Result<Collection, ScanError> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Ok(Collection::Items { items: Vec::new(), next_link: None });
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let hint = if e.is_eof() {
            " (the file ends early: truncated or still being written?)"
        } else {
            ""
        };
        ScanError::Malformed(format!("{source}: not valid JSON: {e}{hint}"))
    })?;
    collection_of(value, source)
}

/// [`parse_collection`] for an already parsed value.
pub fn collection_of(value: Value, source: &str) -> Result<Collection, ScanError> {
    if let Some(err) = GraphError::from_value(&value, None) {
        return Ok(Collection::Error(err));
    }
    let (items, next_link) = match value {
        Value::Null => (Vec::new(), None),
        Value::Object(mut o) if matches!(o.get("value"), Some(Value::Array(_))) => {
            let next = o
                .get("@odata.nextLink")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            match o.remove("value") {
                Some(Value::Array(items)) => (items, next),
                _ => (Vec::new(), next),
            }
        }
        Value::Object(_) => (vec![value], None),
        Value::Array(items) => (items, None),
        other => {
            return Err(ScanError::Malformed(format!(
                "{source}: the JSON is {}; expected a Graph answer ({{\"value\": [...]}}), an array or an object",
                kind(&other)
            )))
        }
    };
    if let Some(i) = items.iter().position(|v| !v.is_object()) {
        return Err(ScanError::Malformed(format!(
            "{source}: item {i} is {}, not an object",
            kind(&items[i])
        )));
    }
    Ok(Collection::Items { items, next_link })
}

/// The JSON kind of `v`, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most `max` characters of `s`, with `…` when cut.
pub(crate) fn short(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(c: Collection) -> Vec<Value> {
        match c {
            Collection::Items { items, .. } => items,
            other => panic!("expected items, got {other:?}"),
        }
    }

    #[test]
    fn reads_every_shape_of_a_saved_answer() {
        let page = parse_collection(
            r#"{"@odata.context":"x","value":[{"id":"a"}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/groups?$skiptoken=1"}"#,
            "teams.json",
        )
        .unwrap();
        assert_eq!(
            page,
            Collection::Items {
                items: vec![json!({"id": "a"})],
                next_link: Some("https://graph.microsoft.com/v1.0/groups?$skiptoken=1".into())
            }
        );
        assert_eq!(items(parse_collection("[{\"id\":\"a\"},{\"id\":\"b\"}]", "f").unwrap()).len(), 2);
        assert_eq!(items(parse_collection("{\"id\":\"a\"}", "f").unwrap()).len(), 1);
        assert!(items(parse_collection("\u{feff}\r\n", "f").unwrap()).is_empty());
        assert!(items(parse_collection("null", "f").unwrap()).is_empty());
    }

    #[test]
    fn error_answers_are_errors_not_items() {
        let c = parse_collection(
            r#"{"status":403,"error":{"code":"Forbidden","message":"Missing role permissions"}}"#,
            "f",
        )
        .unwrap();
        let Collection::Error(e) = c else { panic!("{c:?}") };
        assert_eq!(e.status, Some(403));
        assert_eq!(e.code.as_deref(), Some("Forbidden"));
        assert_eq!(e.describe(), "HTTP 403 Forbidden: Missing role permissions");
    }

    #[test]
    fn junk_is_malformed_and_names_the_file() {
        for (text, want) in [
            ("[{\"id\":", "truncated"),
            ("42", "a number"),
            ("[1]", "item 0"),
        ] {
            let e = parse_collection(text, "owners/x.json").unwrap_err();
            assert!(
                matches!(&e, ScanError::Malformed(m) if m.starts_with("owners/x.json") && m.contains(want)),
                "{text}: {e:?}"
            );
        }
    }

    #[test]
    fn booleans_from_json_and_powershell() {
        let o = json!({"A": true, "b": "False", "c": "$true", "d": "maybe", "e": null});
        let o = o.as_object().unwrap();
        assert_eq!(boolean(o, "a"), Some(true));
        assert_eq!(boolean(o, "B"), Some(false));
        assert_eq!(boolean(o, "c"), Some(true));
        assert_eq!(boolean(o, "d"), None);
        assert_eq!(boolean(o, "e"), None);
        assert_eq!(boolean(o, "missing"), None);
    }
}
