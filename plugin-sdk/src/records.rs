//! Builders for register entries and findings.

use crate::{Attribute, Category, ConnectorRecord, Finding, Severity};

/// The reserved attribute that marks a context record; the host knows it
/// by this name (`plumbline_protocol::register::RECORD_ATTRIBUTE`).
pub const RECORD_ATTRIBUTE: &str = "plumbline:record";
/// Its value for a context record.
pub const CONTEXT_RECORD: &str = "context";

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

    /// Mark this entry as scan context, not a connector: what the plugin
    /// scanned around the connectors (an organisation's settings, an
    /// environment, a search), kept in the register so that findings can
    /// attach to it, but never counted as a connector in the console or
    /// the client's report. Names under `plumbline:` are reserved; the host
    /// drops any other.
    pub fn context_record(self) -> Self {
        self.attr(RECORD_ATTRIBUTE, CONTEXT_RECORD)
    }

    /// Is this entry marked as scan context?
    pub fn is_context_record(&self) -> bool {
        self.get_attr(RECORD_ATTRIBUTE) == Some(CONTEXT_RECORD)
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

impl crate::Report {
    /// Put the report in its canonical order: entries by key, findings by
    /// connector key then check id. Deterministic output makes re-scans
    /// compare cleanly.
    pub fn sorted(mut self) -> Self {
        self.connectors.sort_by(|a, b| a.key.cmp(&b.key));
        self.findings
            .sort_by(|a, b| (&a.connector_key, &a.check_id).cmp(&(&b.connector_key, &b.check_id)));
        self
    }
}

/// Hands out unique register keys: the first claim of a key gets it as it
/// is, a repeat gets `~2`, `~3`, ... appended (two exports of nameless
/// objects, two paths that normalise alike).
#[derive(Debug, Default)]
pub struct UniqueKeys(std::collections::HashSet<String>);

impl UniqueKeys {
    /// A unique key based on `key`.
    pub fn claim(&mut self, key: String) -> String {
        if self.0.insert(key.clone()) {
            return key;
        }
        let mut n = 2;
        loop {
            let candidate = format!("{key}~{n}");
            if self.0.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_first_claims_unchanged() {
        let mut u = UniqueKeys::default();
        assert_eq!(u.claim("a".into()), "a");
        assert_eq!(u.claim("a".into()), "a~2");
        assert_eq!(u.claim("a~2".into()), "a~2~2");
        assert_eq!(u.claim("a".into()), "a~3");
    }

    #[test]
    fn reports_sort_canonically() {
        let r = crate::Report {
            connectors: vec![
                ConnectorRecord::new("b", Category::SmtpRelay, "b"),
                ConnectorRecord::new("a", Category::SmtpRelay, "a"),
            ],
            findings: vec![
                Finding::new("y", "a", Severity::Low, "t"),
                Finding::new("x", "a", Severity::Low, "t"),
            ],
        }
        .sorted();
        assert_eq!(r.connectors[0].key, "a");
        assert_eq!(r.findings[0].check_id, "x");
    }
}
