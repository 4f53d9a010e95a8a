//! The register as people read it: the scanned state merged with the
//! annotations, and the open findings.

use super::{ConnectorState, DISAPPEARED, PRESENT, RESOLVED};
use plumbline_protocol::read_api::{Annotations, Effective, FindingRecord, RegisterConnector, RegisterView};
use std::collections::HashMap;

/// Finding status in views: open, but accepted as a risk until its expiry.
pub const ACCEPTED: &str = "accepted";

/// Merge connectors, annotations (by key) and findings into the register view.
pub fn register(
    tenant_id: &str,
    mut connectors: Vec<ConnectorState>,
    mut annotations: HashMap<String, Annotations>,
    findings: Vec<FindingRecord>,
) -> RegisterView {
    connectors.sort_by(|a, b| a.entry.key.cmp(&b.entry.key));
    let mut open: Vec<FindingRecord> = findings.into_iter().filter(|f| f.status != RESOLVED).collect();
    sort_findings(&mut open);
    let mut per_key: HashMap<&str, usize> = HashMap::new();
    for f in open.iter().filter(|f| f.status != ACCEPTED) {
        *per_key.entry(f.entry.connector_key.as_str()).or_default() += 1;
    }
    let connectors = connectors
        .into_iter()
        .map(|c| {
            let annotations = annotations.remove(&c.entry.key).unwrap_or_default();
            let effective = Effective {
                owner: annotations.owner_override.clone().or_else(|| c.entry.owner.clone()),
                co_owners: annotations.co_owner_override.clone().unwrap_or_else(|| c.entry.co_owners.clone()),
                purpose: annotations.purpose.clone().or_else(|| c.entry.purpose.clone()),
            };
            RegisterConnector {
                open_findings: per_key.get(c.entry.key.as_str()).copied().unwrap_or(0),
                status: if c.present { PRESENT } else { DISAPPEARED }.to_string(),
                site_id: c.site_id,
                first_seen: c.first_seen,
                last_seen: c.last_seen,
                disappeared_at: c.disappeared_at,
                annotations,
                effective,
                entry: c.entry,
            }
        })
        .collect();
    RegisterView { tenant_id: tenant_id.to_string(), connectors, open_findings: open, next_cursor: None }
}

/// Most severe first, then by connector and check.
pub fn sort_findings(findings: &mut [FindingRecord]) {
    findings.sort_by(|a, b| {
        b.entry
            .severity
            .cmp(&a.entry.severity)
            .then_with(|| a.entry.connector_key.cmp(&b.entry.connector_key))
            .then_with(|| a.entry.check_id.cmp(&b.entry.check_id))
            .then_with(|| a.entry.id.cmp(&b.entry.id))
    });
}
