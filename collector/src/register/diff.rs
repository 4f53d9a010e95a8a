//! Field-by-field difference of two reports of one connector.

use plumbline_protocol::read_api::FieldChange;
use plumbline_protocol::register::ConnectorEntry;
use serde_json::{Map, Value};

/// Every field of [`ConnectorEntry`] that differs, then the attributes that
/// differ, one by one as `attributes.NAME`, by name.
pub fn fields(before: &ConnectorEntry, after: &ConnectorEntry) -> Vec<FieldChange> {
    let (b, a) = (object(before), object(after));
    let mut out = Vec::new();
    for (name, after_value) in &a {
        let before_value = b.get(name).cloned().unwrap_or(Value::Null);
        if name != "key" && name != "attributes" && &before_value != after_value {
            out.push(FieldChange { field: name.clone(), before: before_value, after: after_value.clone() });
        }
    }
    let null = Value::Null;
    attributes(b.get("attributes").unwrap_or(&null), a.get("attributes").unwrap_or(&null), &mut out);
    out
}

fn attributes(before: &Value, after: &Value, out: &mut Vec<FieldChange>) {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut names: Vec<&String> = b.keys().chain(a.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let (bv, av) = (b.get(name).cloned().unwrap_or(Value::Null), a.get(name).cloned().unwrap_or(Value::Null));
        if bv != av {
            out.push(FieldChange { field: format!("attributes.{name}"), before: bv, after: av });
        }
    }
}

fn object(entry: &ConnectorEntry) -> Map<String, Value> {
    match serde_json::to_value(entry) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry() -> ConnectorEntry {
        ConnectorEntry {
            key: "k".into(),
            category: "smtp-relay".into(),
            name: "Relay".into(),
            scope: "tenant".into(),
            owner: None,
            co_owners: vec![],
            purpose: None,
            auth_type: None,
            migration_state: None,
            created: None,
            last_change: None,
            attributes: [("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())].into(),
            plugin: "p".into(),
        }
    }

    #[test]
    fn only_differences_with_before_and_after() {
        assert!(fields(&entry(), &entry()).is_empty());
        let mut after = entry();
        after.name = "Relay 2".into();
        after.owner = Some("ann".into());
        after.attributes.remove("a");
        after.attributes.insert("b".into(), "3".into());
        after.attributes.insert("c".into(), "4".into());
        let got: Vec<(String, Value, Value)> =
            fields(&entry(), &after).into_iter().map(|f| (f.field, f.before, f.after)).collect();
        assert_eq!(
            got,
            vec![
                ("name".into(), json!("Relay"), json!("Relay 2")),
                ("owner".into(), Value::Null, json!("ann")),
                ("attributes.a".into(), json!("1"), Value::Null),
                ("attributes.b".into(), json!("2"), json!("3")),
                ("attributes.c".into(), Value::Null, json!("4")),
            ]
        );
    }
}
