//! Change control: what a review decision means for the register. A change
//! marked suspicious keeps a critical finding on its connector until an
//! engineer decides a later change of it was expected.

use super::OPEN;
use crate::store::console::Decision;
use plumbline_protocol::read_api::{FieldChange, FindingRecord};
use plumbline_protocol::register::{finding_id, split_key, ConnectorEntry, FindingEntry, Severity};

/// Category of Exchange Online connectors.
pub const EXCHANGE_CATEGORY: &str = "exchange-connector";
/// Key prefix of inbound Exchange connectors.
pub const INBOUND_PREFIX: &str = "exchange:inbound:";

/// Why a connector is in the history, for its review wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    /// The first report of its plugin for the tenant: it was already there.
    Baseline,
    /// New since the plugin's last report.
    New,
    /// Back after it had disappeared.
    Reappeared,
    /// Some field differs from the last report.
    Changed,
}

/// Why this history entry needs review, if it does, worded as what it is:
/// an inbound Exchange connector accepts mail from outside as trusted, and
/// an unexpected one is a classic sign of a compromised tenant. The first
/// scan of a tenant is a baseline ("not yet reviewed"), not news.
pub fn review_reason(entry: &ConnectorEntry, occasion: Occasion, fields: &[FieldChange]) -> Option<String> {
    let local = split_key(&entry.key).map_or(entry.key.as_str(), |(_, local)| local);
    if entry.category != EXCHANGE_CATEGORY || !local.starts_with(INBOUND_PREFIX) {
        return None;
    }
    let created = entry.created.as_deref().map(|c| format!(" (created {})", &c[..c.len().min(10)])).unwrap_or_default();
    Some(match occasion {
        Occasion::Baseline => format!(
            "not yet reviewed: this inbound Exchange connector was already there when Plumbline first scanned the \
             tenant{created}; confirm the client set it up and still needs it"
        ),
        Occasion::New => "new since the last scan: an inbound Exchange connector appeared; mail from outside can \
                          be accepted as trusted, so confirm the client set it up"
            .to_string(),
        Occasion::Reappeared => "reappeared: an inbound Exchange connector that had disappeared is back; confirm \
                                 the client restored it"
            .to_string(),
        Occasion::Changed => {
            let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
            format!("changed since the last scan ({}): confirm the client made this change", names.join(", "))
        }
    })
}

/// The decisions an engineer can make.
pub const DECISIONS: &[&str] = &["expected", "suspicious"];
/// The check id of the finding a suspicious decision raises.
pub const SUSPICIOUS_CHECK: &str = "plumbline.review.suspicious";
/// The "plugin" of findings the collector raises itself: no scan resolves them.
pub const COLLECTOR_PLUGIN: &str = "plumbline-collector";
/// Longest note kept with a decision.
pub const MAX_NOTE_CHARS: usize = 4096;

/// Check a decision before it is stored.
pub fn validate(decision: &str, note: &str) -> Result<(), (&'static str, String)> {
    if !DECISIONS.contains(&decision) {
        return Err(("decision", "choose expected or suspicious".into()));
    }
    if note.trim().is_empty() {
        return Err(("note", "say why, in a sentence: the note is the change record".into()));
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(("note", format!("at most {MAX_NOTE_CHARS} characters")));
    }
    Ok(())
}

/// The critical finding a suspicious decision keeps open.
pub fn suspicious_finding(tenant_id: &str, connector_key: &str, site_id: &str, d: &Decision) -> FindingRecord {
    FindingRecord {
        entry: FindingEntry {
            id: finding_id(tenant_id, SUSPICIOUS_CHECK, connector_key),
            check_id: SUSPICIOUS_CHECK.into(),
            connector_key: connector_key.into(),
            severity: Severity::Critical,
            title: "A change to this connector was marked suspicious in review".into(),
            detail: format!("{} marked it suspicious on {}: {}", d.by, &d.at[..d.at.len().min(10)], d.note),
            remediation: "Treat it as a possible compromise: find who made the change (the admin audit log), \
                          compare it with the change record here, and disable or remove the connector if no \
                          admin made it (for Exchange: Set-InboundConnector -Identity NAME -Enabled $false)."
                .into(),
            evidence: Default::default(),
            plugin: COLLECTOR_PLUGIN.into(),
        },
        status: OPEN.into(),
        site_id: site_id.into(),
        first_seen: d.at.clone(),
        last_seen: d.at.clone(),
        resolved_at: None,
        reopened_count: 0,
    }
}
