//! A Power Platform environment, the unit the flows are listed by.

use crate::fields::{boolean, object, text};
use serde_json::Value;

/// One Power Platform environment
/// (`GET api.bap.microsoft.com/.../scopes/admin/environments`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `name`: `Default-{tenant}` or a GUID; used in URLs and folder names.
    pub name: String,
    /// `properties.displayName`.
    pub display_name: Option<String>,
    /// `properties.isDefault`.
    pub is_default: Option<bool>,
    /// `properties.environmentSku` (Default, Production, Sandbox, Trial, Developer...).
    pub sku: Option<String>,
    /// `location`.
    pub location: Option<String>,
}

impl Environment {
    /// Read one environment; `None` when it has no usable `name`.
    pub fn from_value(v: &Value) -> Option<Environment> {
        let o = v.as_object()?;
        let name = text(o, "name")?;
        let props = object(o, "properties");
        Some(Environment {
            name,
            display_name: props.and_then(|p| text(p, "displayName")),
            is_default: props.and_then(|p| boolean(p, "isDefault")),
            sku: props.and_then(|p| text(p, "environmentSku")),
            location: text(o, "location"),
        })
    }

    /// A name for people: the display name, else the environment name.
    pub fn display(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_environments() {
        let e = Environment::from_value(&json!({"name": "Default-t", "location": "europe",
            "properties": {"displayName": "Contoso (default)", "isDefault": true, "environmentSku": "Default"}})).unwrap();
        assert_eq!((e.display(), e.is_default, e.sku.as_deref()), ("Contoso (default)", Some(true), Some("Default")));
        assert_eq!(Environment::from_value(&json!({"name": "x"})).unwrap().display(), "x");
        assert!(Environment::from_value(&json!({"properties": {}})).is_none());
    }
}
