//! `/`: the fleet, one row per tenant the user may see.

use super::super::error::ConsoleError;
use super::super::links;
use super::super::session::Viewer;
use super::{render, when, Shell};
use crate::api::AppState;
use crate::store::console::TenantSummary;
use crate::timestamp;
use askama::Template;
use plumbline_protocol::wording::count;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

/// One agent line.
pub struct AgentLine {
    /// Its site.
    pub site: String,
    /// Its host.
    pub host: String,
    /// Last delivery, or "never".
    pub last: String,
    /// Silent for longer than the schedule allows.
    pub silent: bool,
    /// Revoked.
    pub revoked: bool,
    /// "2 batches never arrived", when its sequence numbers have gaps
    /// (dropped from a full spool, or refused for good); else empty.
    pub missing: String,
}

/// One tenant row.
pub struct FleetRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Register page.
    pub href: String,
    /// Review queue.
    pub review_href: String,
    /// Groups, comma-separated.
    pub groups: String,
    /// Agents.
    pub agents: Vec<AgentLine>,
    /// Present connectors.
    pub connectors: u64,
    /// `exchange-connector 4, workflow 2`.
    pub by_category: String,
    /// Open findings by severity.
    pub critical: u64,
    /// See `critical`.
    pub high: u64,
    /// See `critical`.
    pub medium: u64,
    /// See `critical`.
    pub low: u64,
    /// Changes awaiting review.
    pub awaiting: u64,
    /// Reviews overdue.
    pub overdue: u64,
    /// Legacy Teams connectors left.
    pub legacy: u64,
    /// Flows with one owner or none.
    pub single_owner: u64,
}

/// The totals line.
#[derive(Default)]
pub struct Totals {
    /// Connectors.
    pub connectors: u64,
    /// Critical findings.
    pub critical: u64,
    /// High findings.
    pub high: u64,
    /// Awaiting review.
    pub awaiting: u64,
    /// Silent agents.
    pub silent: u64,
}

impl Totals {
    /// The line above the fleet table, for `tenants` tenants.
    pub fn summary(&self, tenants: usize) -> String {
        format!(
            "{} · {} · findings open: {} critical, {} high · {} awaiting review · {}",
            count(tenants, "tenant"),
            count(self.connectors, "connector"),
            self.critical,
            self.high,
            count(self.awaiting, "change"),
            count(self.silent, "silent agent")
        )
    }
}

#[derive(Template)]
#[template(path = "fleet.html")]
struct FleetPage {
    shell: Shell,
    rows: Vec<FleetRow>,
    groups: Vec<String>,
    selected_group: String,
    totals: Totals,
    /// The MSP's fleet report is offered (not to client-viewers).
    fleet_report: bool,
    /// The report form's default period: the last 90 days.
    report_from: String,
    report_to: String,
}

/// `?group=`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetQuery {
    group: String,
}

/// A tenant's row; `silent_before` is the RFC 3339 time before which a
/// last delivery counts as silent.
pub fn row(t: TenantSummary, silent_before: &str) -> FleetRow {
    let sev = |s: &str| t.open_findings_by_severity.get(s).copied().unwrap_or(0);
    let agents = t
        .agents
        .iter()
        .map(|a| AgentLine {
            site: a.site_id.clone(),
            host: a.hostname.clone(),
            last: a.last_seen_at.as_deref().map(when).unwrap_or_else(|| "never delivered".into()),
            silent: a.is_silent(silent_before),
            revoked: a.revoked_at.is_some(),
            missing: match a.missing_batches {
                0 => String::new(),
                1 => "1 batch never arrived".into(),
                n => format!("{n} batches never arrived"),
            },
        })
        .collect();
    FleetRow {
        href: links::tenant(&t.id),
        review_href: links::review(&t.id),
        groups: t.groups.join(", "),
        connectors: t.connectors_by_category.values().sum(),
        by_category: t.connectors_by_category.iter().map(|(c, n)| format!("{c} {n}")).collect::<Vec<_>>().join(", "),
        critical: sev("critical"),
        high: sev("high"),
        medium: sev("medium"),
        low: sev("low"),
        awaiting: t.awaiting_review,
        overdue: t.reviews_overdue,
        legacy: t.legacy_teams_left,
        single_owner: t.flows_single_owner,
        agents,
        id: t.id,
        name: t.name,
    }
}

/// `GET /`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<FleetQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ConsoleError> {
    let Query(q) = query.map_err(|e| ConsoleError::BadRequest(e.body_text()))?;
    let summaries = state.store.fleet(viewer.principal.limited_to(), &timestamp::today()).await?;
    let mut groups: Vec<String> = summaries.iter().flat_map(|s| s.groups.iter().cloned()).collect();
    groups.sort();
    groups.dedup();
    let silent_before = timestamp::minutes_ago(state.console.silent_after_hours * 60);
    let rows: Vec<FleetRow> = summaries
        .into_iter()
        .filter(|s| q.group.is_empty() || s.groups.contains(&q.group))
        .map(|s| row(s, &silent_before))
        .collect();
    let mut totals = Totals::default();
    for r in &rows {
        totals.connectors += r.connectors;
        totals.critical += r.critical;
        totals.high += r.high;
        totals.awaiting += r.awaiting;
        totals.silent += r.agents.iter().filter(|a| a.silent).count() as u64;
    }
    let default_period = super::report::period(String::new(), String::new())?;
    render(&FleetPage {
        shell: Shell::new(&state, &viewer, None),
        rows,
        groups,
        selected_group: q.group,
        totals,
        fleet_report: viewer.role() != crate::accounts::Role::ClientViewer,
        report_from: default_period.from,
        report_to: default_period.to,
    })
}

#[cfg(test)]
mod tests {
    use super::{row, Totals};
    use crate::store::console::TenantSummary;
    use crate::store::AgentRecord;

    #[test]
    fn an_agent_with_gaps_in_its_sequence_says_how_many_batches_never_arrived() {
        let agent = |id: &str, missing_batches: u64| AgentRecord {
            id: id.into(),
            tenant_id: "t".into(),
            site_id: "hq".into(),
            public_key: String::new(),
            hostname: format!("host-{id}"),
            enrolled_at: "2026-01-01T00:00:00Z".into(),
            revoked_at: None,
            last_sequence: Some(9),
            last_seen_at: Some("2026-12-01T00:00:00Z".into()),
            missing_batches,
        };
        let summary = TenantSummary { id: "t".into(), agents: vec![agent("a", 0), agent("b", 1), agent("c", 3)], ..Default::default() };
        let r = row(summary, "2026-11-30T00:00:00Z");
        let missing: Vec<&str> = r.agents.iter().map(|a| a.missing.as_str()).collect();
        assert_eq!(missing, ["", "1 batch never arrived", "3 batches never arrived"]);
        let template = include_str!("../../../templates/fleet.html");
        assert!(template.contains("{{ a.missing }}"), "the fleet page shows it");
    }

    #[test]
    fn the_totals_line_says_one_in_the_singular() {
        let one = Totals { connectors: 1, critical: 0, high: 1, awaiting: 1, silent: 1 };
        let want = "1 tenant · 1 connector · findings open: 0 critical, 1 high · 1 change awaiting review · \
                    1 silent agent";
        assert_eq!(one.summary(1), want);
        let more = Totals { connectors: 2, critical: 3, high: 0, awaiting: 0, silent: 2 };
        let want = "2 tenants · 2 connectors · findings open: 3 critical, 0 high · 0 changes awaiting review · \
                    2 silent agents";
        assert_eq!(more.summary(2), want);
    }
}
