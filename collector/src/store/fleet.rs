//! The fleet page's counts, assembled the same way from either backend's
//! grouped queries, so both answer exactly alike.

use super::console::TenantSummary;
use super::{AgentRecord, TenantRecord};
use std::collections::HashMap;

pub use crate::register::{FLOW_CATEGORIES, LEGACY_TEAMS_CATEGORIES, MIGRATION_DONE};

/// No co-owner, effectively: no override and no scanned co-owner (the
/// count ingest keeps beside the entry, so no entry is read), or an empty
/// override. Same SQL on both backends.
pub const NO_CO_OWNER: &str = "((a.co_owner_override IS NULL AND c.co_owner_count = 0) OR a.co_owner_override = '[]')";

/// A `YYYY-MM-DD` safe to put in SQL text: digits and dashes only (the
/// grouped queries take no parameters), else a date before any other.
pub fn sql_date(date: &str) -> String {
    let ok = date.len() == 10 && date.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    if ok { date.to_string() } else { "0000-00-00".into() }
}

/// `'a', 'b'` for an SQL `IN (...)` of constant names (never user input).
pub fn sql_list(names: &[&str]) -> String {
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

/// What the grouped queries returned.
#[derive(Debug, Default)]
pub struct Counted {
    /// `(tenant, group)`.
    pub groups: Vec<(String, String)>,
    /// `(tenant, category, present connectors)`.
    pub categories: Vec<(String, String, i64)>,
    /// `(tenant, severity, open findings)`.
    pub severities: Vec<(String, String, i64)>,
    /// `(tenant, changes awaiting review)`.
    pub awaiting: Vec<(String, i64)>,
    /// `(tenant, reviews overdue)`.
    pub overdue: Vec<(String, i64)>,
    /// `(tenant, legacy Teams connectors left)`.
    pub legacy: Vec<(String, i64)>,
    /// `(tenant, flows with one owner or none)`.
    pub single_owner: Vec<(String, i64)>,
}

/// One summary per tenant in `only` (all when `None`), by id.
pub fn assemble(
    tenants: Vec<TenantRecord>,
    agents: Vec<AgentRecord>,
    counted: Counted,
    only: Option<&[String]>,
) -> Vec<TenantSummary> {
    let mut by_id: HashMap<String, TenantSummary> = tenants
        .into_iter()
        .filter(|t| only.is_none_or(|ids| ids.contains(&t.id)))
        .map(|t| (t.id.clone(), TenantSummary { id: t.id, name: t.name, ..Default::default() }))
        .collect();
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    for (t, g) in counted.groups {
        if let Some(s) = by_id.get_mut(&t) {
            s.groups.push(g);
        }
    }
    for a in agents {
        if let Some(s) = by_id.get_mut(&a.tenant_id) {
            s.agents.push(a);
        }
    }
    for (t, c, k) in counted.categories {
        if let Some(s) = by_id.get_mut(&t) {
            s.connectors_by_category.insert(c, n(k));
        }
    }
    for (t, sev, k) in counted.severities {
        if let Some(s) = by_id.get_mut(&t) {
            s.open_findings_by_severity.insert(sev, n(k));
        }
    }
    let singles: [(Vec<(String, i64)>, fn(&mut TenantSummary) -> &mut u64); 4] = [
        (counted.awaiting, |s| &mut s.awaiting_review),
        (counted.overdue, |s| &mut s.reviews_overdue),
        (counted.legacy, |s| &mut s.legacy_teams_left),
        (counted.single_owner, |s| &mut s.flows_single_owner),
    ];
    for (rows, field) in singles {
        for (t, k) in rows {
            if let Some(s) = by_id.get_mut(&t) {
                *field(s) = n(k);
            }
        }
    }
    let mut out: Vec<TenantSummary> = by_id.into_values().collect();
    for s in &mut out {
        s.groups.sort();
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}
