//! Builders for what a plugin declares: its settings and the Microsoft 365
//! permissions it needs.

use crate::{Permission, SettingKind, SettingSpec};

impl SettingSpec {
    fn of(name: &str, kind: SettingKind, doc: &str) -> Self {
        SettingSpec { name: name.to_string(), kind, required: false, default: None, doc: doc.to_string() }
    }

    /// A setting of any text.
    pub fn text(name: &str, doc: &str) -> Self {
        Self::of(name, SettingKind::Text, doc)
    }

    /// A whole number.
    pub fn integer(name: &str, doc: &str) -> Self {
        Self::of(name, SettingKind::Integer, doc)
    }

    /// `true` or `false`.
    pub fn boolean(name: &str, doc: &str) -> Self {
        Self::of(name, SettingKind::Boolean, doc)
    }

    /// A whole number of the unit the name says (`timeout_ms`).
    pub fn duration(name: &str, doc: &str) -> Self {
        Self::of(name, SettingKind::Duration, doc)
    }

    /// A file or directory path.
    pub fn path(name: &str, doc: &str) -> Self {
        Self::of(name, SettingKind::Path, doc)
    }

    /// Comma-separated items.
    pub fn list(name: &str, doc: &str) -> Self {
        Self::of(name, SettingKind::List, doc)
    }

    /// One of `words`, without regard to case.
    pub fn choice(name: &str, words: &[&str], doc: &str) -> Self {
        Self::of(name, SettingKind::Choice(words.iter().map(|w| w.to_string()).collect()), doc)
    }

    /// With the default the plugin applies, shown to the operator.
    pub fn default(mut self, value: impl std::fmt::Display) -> Self {
        self.default = Some(value.to_string());
        self
    }

    /// The scan cannot run without it.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

impl Permission {
    fn of(api: &str, name: &str, why: &str) -> Self {
        Permission { api: api.to_string(), name: name.to_string(), why: why.to_string(), credential_setting: None }
    }

    /// A Microsoft Graph application permission, e.g. `User.Read.All`.
    pub fn graph(name: &str, why: &str) -> Self {
        Self::of("graph", name, why)
    }

    /// An Office 365 Exchange Online application permission, e.g.
    /// `Exchange.ManageAsApp`.
    pub fn exchange(name: &str, why: &str) -> Self {
        Self::of("exchange", name, why)
    }

    /// An Exchange RBAC role, e.g. `View-Only Configuration`.
    pub fn exchange_role(name: &str, why: &str) -> Self {
        Self::of("exchange-role", name, why)
    }

    /// A Microsoft Entra directory role.
    pub fn entra_role(name: &str, why: &str) -> Self {
        Self::of("entra-role", name, why)
    }

    /// A Power Platform admin registration or role.
    pub fn power_platform(name: &str, why: &str) -> Self {
        Self::of("power-platform", name, why)
    }

    /// Carried by the token of the credential profile that `setting` names.
    pub fn via(mut self, setting: &str) -> Self {
        self.credential_setting = Some(setting.to_string());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_fill_every_field() {
        let s = SettingSpec::choice("mode", &["offline", "live"], "where").default("offline").required();
        assert_eq!(s.kind, SettingKind::Choice(vec!["offline".into(), "live".into()]));
        assert_eq!((s.default.as_deref(), s.required, s.doc.as_str()), (Some("offline"), true, "where"));
        let p = Permission::graph("User.Read.All", "owners").via("graph_credential");
        assert_eq!((p.api.as_str(), p.credential_setting.as_deref()), ("graph", Some("graph_credential")));
    }
}
