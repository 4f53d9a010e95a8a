//! Builders for register entries and findings.

use crate::{Attribute, Category, ConnectorRecord, Finding, Severity};

impl ConnectorRecord {
    /// A record with its key, category and display name; everything else empty.
    pub fn new(key: impl Into<String>, category: Category, name: impl Into<String>) -> Self {
        ConnectorRecord {
            key: key.into(),
            category,
            name: name.into(),
            scope: String::new(),
            owner: None,
            co_owners: Vec::new(),
            purpose: None,
            auth_type: None,
            migration_state: None,
            created: None,
            changed: None,
            attributes: Vec::new(),
        }
    }

    /// Where the connector applies.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Its owner, when known.
    pub fn owner(mut self, owner: Option<String>) -> Self {
        self.owner = owner;
        self
    }

    /// Add a co-owner.
    pub fn co_owner(mut self, who: impl Into<String>) -> Self {
        self.co_owners.push(who.into());
        self
    }

    /// What it is for, when known.
    pub fn purpose(mut self, purpose: Option<String>) -> Self {
        self.purpose = purpose;
        self
    }

    /// Authentication or trigger type.
    pub fn auth_type(mut self, auth: Option<String>) -> Self {
        self.auth_type = auth;
        self
    }

    /// Migration state, e.g. `legacy-retired`.
    pub fn migration_state(mut self, state: impl Into<String>) -> Self {
        self.migration_state = Some(state.into());
        self
    }

    /// Creation time, RFC 3339.
    pub fn created(mut self, at: Option<String>) -> Self {
        self.created = at;
        self
    }

    /// Last change time, RFC 3339.
    pub fn changed(mut self, at: Option<String>) -> Self {
        self.changed = at;
        self
    }

    /// Add a non-secret attribute. Pass secrets through
    /// [`crate::redact::fingerprint`] first.
    pub fn attr(mut self, name: &str, value: impl Into<String>) -> Self {
        self.attributes.push(Attribute {
            name: name.to_string(),
            value: value.into(),
        });
        self
    }

    /// The value of attribute `name`, if set.
    pub fn get_attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }
}

impl Finding {
    /// A finding of `check_id` on the connector with `connector_key`.
    pub fn new(
        check_id: &str,
        connector_key: impl Into<String>,
        severity: Severity,
        title: impl Into<String>,
    ) -> Self {
        Finding {
            check_id: check_id.to_string(),
            connector_key: connector_key.into(),
            severity,
            title: title.into(),
            detail: String::new(),
            remediation: String::new(),
            evidence: Vec::new(),
        }
    }

    /// What was seen, in a sentence or two.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// How to fix it.
    pub fn remediation(mut self, remediation: impl Into<String>) -> Self {
        self.remediation = remediation.into();
        self
    }

    /// Add a piece of evidence.
    pub fn evidence(mut self, name: &str, value: impl Into<String>) -> Self {
        self.evidence.push(Attribute {
            name: name.to_string(),
            value: value.into(),
        });
        self
    }
}
