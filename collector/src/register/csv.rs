//! The register as CSV, one row per connector, for spreadsheets.

use plumbline_protocol::read_api::RegisterView;

/// The header row.
pub const HEADER: [&str; 23] = [
    "key",
    "category",
    "name",
    "scope",
    "status",
    "owner",
    "co_owners",
    "purpose",
    "auth_type",
    "migration_state",
    "created",
    "last_change",
    "plugin",
    "site_id",
    "first_seen",
    "last_seen",
    "disappeared_at",
    "open_findings",
    "review_cadence_days",
    "last_tested",
    "client_decision",
    "evidence_link",
    "annotations_updated_by",
];

/// CSV text: [`HEADER`], then one row per connector. Owner, co-owners and
/// purpose are the effective ones (annotation over scan). Cells that a
/// spreadsheet would run as a formula are prefixed with `'`.
pub fn register_csv(view: &RegisterView) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER).expect("writing to memory");
    for c in &view.connectors {
        let a = &c.annotations;
        let row: [String; 23] = [
            c.entry.key.clone(),
            c.entry.category.clone(),
            c.entry.name.clone(),
            c.entry.scope.clone(),
            c.status.clone(),
            c.effective.owner.clone().unwrap_or_default(),
            c.effective.co_owners.join("; "),
            c.effective.purpose.clone().unwrap_or_default(),
            c.entry.auth_type.clone().unwrap_or_default(),
            c.entry.migration_state.clone().unwrap_or_default(),
            c.entry.created.clone().unwrap_or_default(),
            c.entry.last_change.clone().unwrap_or_default(),
            c.entry.plugin.clone(),
            c.site_id.clone(),
            c.first_seen.clone(),
            c.last_seen.clone(),
            c.disappeared_at.clone().unwrap_or_default(),
            c.open_findings.to_string(),
            a.review_cadence_days.map(|d| d.to_string()).unwrap_or_default(),
            a.last_tested.clone().unwrap_or_default(),
            a.client_decision.clone().unwrap_or_default(),
            a.evidence_link.clone().unwrap_or_default(),
            a.updated_by.clone().unwrap_or_default(),
        ];
        w.write_record(row.iter().map(|cell| defuse(cell))).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

/// Connector names come from the client's tenant: keep a spreadsheet from
/// running one as a formula (the agent's CSV uses the same rule).
pub use plumbline_protocol::cells::defuse;
