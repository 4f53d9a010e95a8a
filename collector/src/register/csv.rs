//! The register as CSV, one row per connector, for spreadsheets: the API's
//! `register.csv` and the console's download are this one file. It starts
//! with the agent's scan columns ([`REGISTER_COLUMNS`]), so one sheet reads
//! both, then adds what only the collector knows: the state over time and
//! the MSP's annotations.

use super::view::ACCEPTED;
use plumbline_protocol::cells::{record_kind, REGISTER_COLUMNS};
use plumbline_protocol::read_api::{FindingRecord, RegisterView};
use std::collections::{HashMap, HashSet};

/// The collector's own columns, after the agent's
/// ([`plumbline_protocol::cells::REGISTER_COLUMNS`]).
pub const COLLECTOR_COLUMNS: [&str; 15] = [
    "status",
    "first_seen",
    "last_seen",
    "disappeared_at",
    "connected_system",
    "data_sensitivity",
    "criticality",
    "migration_status",
    "review_cadence_days",
    "last_reviewed",
    "next_review_due",
    "last_tested",
    "evidence_link",
    "client_decision",
    "annotations_updated_by",
];

/// The header row: the agent's columns, then the collector's own.
pub fn header() -> Vec<&'static str> {
    REGISTER_COLUMNS.iter().chain(COLLECTOR_COLUMNS.iter()).copied().collect()
}

/// CSV text: [`header`], then one row per connector of `view` (only those
/// in `only`, when given, in `view`'s order). Owner, co-owners and purpose
/// are the effective ones (annotation over scan); `findings` counts the
/// open ones not accepted as a risk, as the console does. Cells that a
/// spreadsheet would run as a formula are prefixed with `'`.
pub fn register_csv(view: &RegisterView, only: Option<&HashSet<&str>>, today: &str) -> Vec<u8> {
    let mut by_key: HashMap<&str, Vec<&FindingRecord>> = HashMap::new();
    for f in view.open_findings.iter().filter(|f| f.status != ACCEPTED) {
        by_key.entry(f.entry.connector_key.as_str()).or_default().push(f);
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header()).expect("writing to memory");
    for c in view.connectors.iter().filter(|c| only.is_none_or(|keys| keys.contains(c.entry.key.as_str()))) {
        let a = &c.annotations;
        let findings = by_key.get(c.entry.key.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let table = super::table::row(c, findings, today);
        let checks: Vec<&str> = findings.iter().map(|f| f.entry.check_id.as_str()).collect();
        let row: [String; REGISTER_COLUMNS.len() + COLLECTOR_COLUMNS.len()] = [
            view.tenant_id.clone(),
            c.site_id.clone(),
            c.entry.key.clone(),
            c.entry.category.clone(),
            c.entry.name.clone(),
            c.entry.scope.clone(),
            c.effective.owner.clone().unwrap_or_default(),
            c.effective.co_owners.join("; "),
            c.effective.purpose.clone().unwrap_or_default(),
            c.entry.auth_type.clone().unwrap_or_default(),
            c.entry.migration_state.clone().unwrap_or_default(),
            c.entry.created.clone().unwrap_or_default(),
            c.entry.last_change.clone().unwrap_or_default(),
            c.entry.plugin.clone(),
            findings.len().to_string(),
            table.highest_severity,
            checks.join(" "),
            record_kind(c.entry.is_context()).to_string(),
            c.status.clone(),
            c.first_seen.clone(),
            c.last_seen.clone(),
            c.disappeared_at.clone().unwrap_or_default(),
            a.connected_system.clone().unwrap_or_default(),
            a.data_sensitivity.clone().unwrap_or_default(),
            a.criticality.clone().unwrap_or_default(),
            a.migration_status.clone().unwrap_or_default(),
            a.review_cadence_days.map(|d| d.to_string()).unwrap_or_default(),
            a.last_reviewed.clone().unwrap_or_default(),
            table.next_review_due,
            a.last_tested.clone().unwrap_or_default(),
            a.evidence_link.clone().unwrap_or_default(),
            a.client_decision.clone().unwrap_or_default(),
            a.updated_by.clone().unwrap_or_default(),
        ];
        w.write_record(row.iter().map(|cell| defuse(cell))).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

/// Connector names come from the client's tenant: keep a spreadsheet from
/// running one as a formula (the agent's CSV uses the same rule).
pub use plumbline_protocol::cells::defuse;

