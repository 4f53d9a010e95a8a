//! Offline exports: which files, and how their JSON is read.

use plumbline_plugin_sdk::ScanError;
use serde_json::Value;

/// One of the four cmdlets the plugin reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// Get-InboundConnector.
    Inbound,
    /// Get-OutboundConnector.
    Outbound,
    /// Get-OrganizationConfig.
    Organization,
    /// Get-TransportConfig.
    Transport,
}

impl Export {
    /// All four, in the order they are read.
    pub const ALL: [Export; 4] = [
        Export::Inbound,
        Export::Outbound,
        Export::Organization,
        Export::Transport,
    ];

    /// The cmdlet name.
    pub fn cmdlet(self) -> &'static str {
        match self {
            Export::Inbound => "Get-InboundConnector",
            Export::Outbound => "Get-OutboundConnector",
            Export::Organization => "Get-OrganizationConfig",
            Export::Transport => "Get-TransportConfig",
        }
    }

    /// The export file name (matched case-insensitively).
    pub fn file_name(self) -> String {
        format!("{}.json", self.cmdlet())
    }
}

/// Parse one export's JSON text into its cmdlet objects.
///
/// Accepts what `ConvertTo-Json` writes in Windows PowerShell 5.1 and
/// PowerShell 7: an array of objects, or a bare object when the cmdlet
/// returned a single item. Also accepts a saved REST answer
/// (`{"value": [...]}`) and PowerShell 5.1's `{"value": [...], "Count": n}`
/// array wrapper. A cmdlet with no results gives zero objects however it was
/// exported: an empty file, `null`, `[]`, or `[null]` (what
/// `ConvertTo-Json @($null)` writes, as CISA ScubaGear's EXO provider does);
/// `null` items beside objects are dropped for the same reason.
///
/// Anything else is a [`ScanError::Malformed`] naming `source` (the file
/// or cmdlet) and saying what is wrong, with serde's line and column for
/// broken JSON.
pub fn parse_export(text: &str, source: &str) -> Result<Vec<Value>, ScanError> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let hint = if e.is_eof() {
            " (the file ends early: truncated or still being written?)"
        } else {
            ""
        };
        ScanError::Malformed(format!("{source}: not valid JSON: {e}{hint}"))
    })?;
    let value = match value {
        Value::Object(mut o) if is_list_wrapper(&o) => o.remove("value").unwrap_or(Value::Null),
        other => other,
    };
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Object(_) => Ok(vec![value]),
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().filter(|v| !v.is_null()).collect();
            if let Some((i, bad)) = items.iter().enumerate().find(|(_, v)| !v.is_object()) {
                return Err(ScanError::Malformed(format!(
                    "{source}: item {i} of the top-level array is {}; expected one object per \
                     cmdlet result",
                    kind(bad)
                )));
            }
            Ok(items)
        }
        other => Err(ScanError::Malformed(format!(
            "{source}: the top-level JSON value is {}; expected an object or an array of objects",
            kind(&other)
        ))),
    }
}

/// `{"value": [...]}` with nothing but OData or PowerShell bookkeeping
/// beside it.
fn is_list_wrapper(o: &serde_json::Map<String, Value>) -> bool {
    matches!(o.get("value"), Some(Value::Array(_)))
        && o.keys()
            .all(|k| k == "value" || k == "Count" || k.starts_with("@odata."))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plumbline_plugin_sdk::files::decode_text;
    use plumbline_plugin_sdk::time::parse_ms;

    fn malformed(r: Result<Vec<Value>, ScanError>) -> String {
        match r {
            Err(ScanError::Malformed(m)) => m,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn ps51_utf16le_bare_object_with_ms_dates() {
        // What `Get-InboundConnector | ConvertTo-Json | Out-File x.json` writes
        // in Windows PowerShell 5.1 for a single connector.
        let json = "{\r\n    \"Name\":  \"Contoso relay\",\r\n    \"Enabled\":  true,\r\n    \
                    \"WhenCreatedUTC\":  \"\\/Date(1772500512000)\\/\"\r\n}\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(json.encode_utf16().flat_map(u16::to_le_bytes));
        let text = decode_text(&bytes).expect("UTF-16LE decodes");
        let items = parse_export(&text, "Get-InboundConnector.json").expect("parses");
        assert_eq!(items.len(), 1);
        let created = items[0]["WhenCreatedUTC"].as_str().expect("a string");
        assert_eq!(created, "/Date(1772500512000)/");
        assert_eq!(parse_ms(created), Some(1_772_500_512_000));
    }

    #[test]
    fn ps7_array_with_iso_dates() {
        let text = r#"[
  {"Name": "A", "WhenCreatedUTC": "2026-07-23T22:55:13.0000000Z"},
  {"Name": "B", "WhenCreatedUTC": "2026-07-24T08:00:00.0000000Z"}
]"#;
        let items = parse_export(text, "Get-OutboundConnector.json").expect("parses");
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0]["WhenCreatedUTC"].as_str().and_then(parse_ms),
            Some(1_784_847_313_000)
        );
    }

    #[test]
    fn truncated_json_names_file_and_position() {
        let m = malformed(parse_export(
            "[\n  {\"Name\": \"A\",\n   \"Enabled\": tr",
            "Get-InboundConnector.json",
        ));
        assert!(
            m.starts_with("Get-InboundConnector.json: not valid JSON"),
            "{m}"
        );
        assert!(m.contains("line 3"), "{m}");
        assert!(m.contains("column"), "{m}");
        let m = malformed(parse_export("[{\"Name\": \"A\"}", "x.json"));
        assert!(m.contains("truncated"), "{m}");
    }

    #[test]
    fn wrong_top_level_shapes_are_malformed() {
        let m = malformed(parse_export("42", "Get-TransportConfig.json"));
        assert!(
            m.contains("Get-TransportConfig.json") && m.contains("a number"),
            "{m}"
        );
        let m = malformed(parse_export("[{\"a\":1}, \"x\"]", "f.json"));
        assert!(m.contains("item 1") && m.contains("a string"), "{m}");
        let m = malformed(parse_export("\"hello\"", "f.json"));
        assert!(m.contains("a string"), "{m}");
    }

    #[test]
    fn empty_exports_and_wrappers() {
        assert!(parse_export("", "f").unwrap().is_empty());
        assert!(parse_export("\u{feff}\r\n", "f").unwrap().is_empty());
        assert!(parse_export("null", "f").unwrap().is_empty());
        assert!(parse_export("[]", "f").unwrap().is_empty());
        let rest =
            parse_export(r#"{"value":[{"a":1},{"a":2}],"@odata.nextLink":"x"}"#, "f").unwrap();
        assert_eq!(rest.len(), 2);
        let ps51 = parse_export(r#"{"value":[{"a":1}],"Count":1}"#, "f").unwrap();
        assert_eq!(ps51.len(), 1);
        // An object that merely has a `value` field is an object.
        let obj = parse_export(r#"{"value":[1],"Name":"x"}"#, "f").unwrap();
        assert_eq!(obj.len(), 1);
    }

    #[test]
    fn never_panics_on_junk() {
        for junk in [
            "{", "}", "[", "]]", "\u{0}", "\u{feff}", "[null]", "nul", "{\"a\":}", "💥",
        ] {
            let _ = parse_export(junk, "junk.json");
        }
    }
}
