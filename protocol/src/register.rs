//! The connector register as the agent builds it: plugin reports merged and
//! stamped with each plugin's identity. These are the agent's own types;
//! plugins only ever see the WIT contract.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How bad a finding is. Ordered: `Info < Low < … < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For the record.
    Info,
    /// Tidy up when convenient.
    Low,
    /// Fix this quarter.
    Medium,
    /// Fix this week.
    High,
    /// Fix today.
    Critical,
}

impl Severity {
    /// All, lowest first.
    pub const ALL: [Severity; 5] = [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown severity {s:?}; use one of info, low, medium, high, critical"))
    }
}

/// A register key: the reporting plugin's name, `/`, and the key the plugin
/// chose (`exchange-connectors/exchange:inbound:ID`). Keys are namespaced
/// so that no plugin can report under another's key and take its place in
/// the register (and dodge its review); plugin names never hold a `/`.
pub fn qualified_key(plugin: &str, local: &str) -> String {
    format!("{plugin}/{local}")
}

/// `(plugin, local key)` of a register key; `None` when it has no namespace.
pub fn split_key(key: &str) -> Option<(&str, &str)> {
    key.split_once('/').filter(|(plugin, _)| !plugin.is_empty())
}

/// One register entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectorEntry {
    /// Stable key in the plugin's namespace: see [`qualified_key`].
    pub key: String,
    /// `teams-connector`, `incoming-webhook`, `workflow`,
    /// `power-automate-flow`, `exchange-connector`, `smtp-relay`,
    /// `webhook-reference`.
    pub category: String,
    /// Display name.
    pub name: String,
    /// Where it applies.
    pub scope: String,
    /// Owner, when known.
    pub owner: Option<String>,
    /// Co-owners.
    pub co_owners: Vec<String>,
    /// Purpose, when known.
    pub purpose: Option<String>,
    /// Authentication or trigger type.
    pub auth_type: Option<String>,
    /// Migration state.
    pub migration_state: Option<String>,
    /// Created, RFC 3339.
    pub created: Option<String>,
    /// Last changed, RFC 3339.
    pub last_change: Option<String>,
    /// Non-secret attributes.
    pub attributes: BTreeMap<String, String>,
    /// The plugin that reported it.
    pub plugin: String,
}

/// Attribute names that start with this belong to Plumbline, not to the
/// plugin: the agent keeps only the ones below and drops any other.
pub const RESERVED_ATTRIBUTE_PREFIX: &str = "plumbline:";
/// The reserved attribute that says what kind of record an entry is.
pub const RECORD_ATTRIBUTE: &str = "plumbline:record";
/// [`RECORD_ATTRIBUTE`]'s one value: the entry is not a connector but what
/// a plugin scanned around them (the Exchange organisation, a flow
/// environment, the Teams tenant, a file search). Findings may attach to
/// it, and the register keeps it, but it is never counted as a connector.
pub const CONTEXT_RECORD: &str = "context";

/// Is a reserved attribute one Plumbline knows, with a value it knows?
pub fn reserved_attribute_ok(name: &str, value: &str) -> bool {
    name == RECORD_ATTRIBUTE && value == CONTEXT_RECORD
}

impl ConnectorEntry {
    /// A scan-context record rather than a connector: see [`CONTEXT_RECORD`].
    pub fn is_context(&self) -> bool {
        self.attributes.get(RECORD_ATTRIBUTE).is_some_and(|v| v == CONTEXT_RECORD)
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingEntry {
    /// Deterministic id: sha256 of tenant, check id and connector key, so a
    /// re-scan or a re-send names the same finding.
    pub id: String,
    /// The check that produced it.
    pub check_id: String,
    /// The register entry it is about.
    pub connector_key: String,
    /// How bad.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// What was seen.
    pub detail: String,
    /// How to fix it.
    pub remediation: String,
    /// Evidence.
    pub evidence: BTreeMap<String, String>,
    /// The plugin that reported it.
    pub plugin: String,
}

/// The deterministic finding id.
pub fn finding_id(tenant_id: &str, check_id: &str, connector_key: &str) -> String {
    let mut h = Sha256::new();
    for part in [tenant_id, check_id, connector_key] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// How one plugin's run went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginStatus {
    /// Plugin name (from the config when the plugin could not even load).
    pub name: String,
    /// Plugin version, when known.
    pub version: Option<String>,
    /// sha256 of the component file, when it could be read.
    pub sha256: Option<String>,
    /// `ok`, `error`, or `config` when its configuration stopped it
    /// (settings, signature, pin).
    pub status: String,
    /// The error, when it failed.
    pub error: Option<String>,
    /// Entries reported.
    pub connectors: usize,
    /// Findings reported.
    pub findings: usize,
    /// Problems that did not stop it (ignored declarations, duplicate keys).
    pub warnings: Vec<String>,
    /// Wall-clock time of its scan.
    pub duration_ms: u64,
}

/// One full scan: every configured plugin, merged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanResult {
    /// Tenant.
    pub tenant_id: String,
    /// Site.
    pub site_id: String,
    /// Start, RFC 3339.
    pub started_at: String,
    /// End, RFC 3339.
    pub finished_at: String,
    /// Per-plugin status, by name.
    pub plugins: Vec<PluginStatus>,
    /// The register entries, sorted by key.
    pub connectors: Vec<ConnectorEntry>,
    /// Findings, most severe first.
    pub findings: Vec<FindingEntry>,
}

impl ScanResult {
    /// Findings per severity, lowest first.
    pub fn severity_counts(&self) -> Vec<(Severity, usize)> {
        Severity::ALL
            .into_iter()
            .map(|s| (s, self.findings.iter().filter(|f| f.severity == s).count()))
            .collect()
    }

    /// Real connectors: entries that are not scan-context records.
    pub fn connector_count(&self) -> usize {
        self.connectors.iter().filter(|c| !c.is_context()).count()
    }

    /// Scan-context records: entries that are not connectors.
    pub fn context_count(&self) -> usize {
        self.connectors.len() - self.connector_count()
    }

    /// Plugins that failed.
    pub fn failed_plugins(&self) -> usize {
        self.plugins.iter().filter(|p| p.status != "ok").count()
    }

    /// Is there a finding at or above `threshold`?
    pub fn has_finding_at_or_above(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_context_marker_makes_a_context_record() {
        let entry = |attrs: &[(&str, &str)]| ConnectorEntry {
            key: "p/k".into(),
            category: "smtp-relay".into(),
            name: "n".into(),
            scope: "s".into(),
            owner: None,
            co_owners: vec![],
            purpose: None,
            auth_type: None,
            migration_state: None,
            created: None,
            last_change: None,
            attributes: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            plugin: "p".into(),
        };
        assert!(entry(&[(RECORD_ATTRIBUTE, CONTEXT_RECORD)]).is_context());
        for other in [&[][..], &[(RECORD_ATTRIBUTE, "Context")], &[("record", "context")]] {
            assert!(!entry(other).is_context(), "{other:?}");
        }
        assert!(reserved_attribute_ok(RECORD_ATTRIBUTE, CONTEXT_RECORD));
        assert!(!reserved_attribute_ok(RECORD_ATTRIBUTE, "connector") && !reserved_attribute_ok("plumbline:owner", "x"));
    }

    #[test]
    fn finding_ids_are_deterministic_and_unambiguous() {
        let a = finding_id("t", "exo.x", "k");
        assert_eq!(a, finding_id("t", "exo.x", "k"));
        assert_ne!(a, finding_id("t2", "exo.x", "k"));
        // Length-prefixed: moving a boundary changes the id.
        assert_ne!(finding_id("ab", "c", "d"), finding_id("a", "bc", "d"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().unwrap_err().contains("one of"));
    }
}
