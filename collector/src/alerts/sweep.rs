//! The timed triggers, found by the dispatcher's sweep rather than at
//! ingest: an agent silent too long, an accepted risk about to expire, a
//! connector review past its date. Each episode has its own dedupe key (the
//! last delivery, the expiry date, the due date), so it is queued once
//! however often the sweep runs, and again only when a new episode starts.

use super::Event;
use crate::register::table;
use plumbline_protocol::read_api::RegisterView;

pub(super) fn silent_agents(tenant_id: &str, agents: &[crate::store::AgentRecord], before: &str) -> Vec<(String, Event)> {
    agents
        .iter()
        // One never heard from counts once it has been enrolled that long.
        .filter(|a| a.is_silent(before) && a.enrolled_at.as_str() < before)
        .map(|a| {
            let last = a.last_seen_at.clone().unwrap_or_else(|| "never".into());
            let event = Event {
                kind: "agent-silent".into(),
                tenant_id: tenant_id.into(),
                site_id: a.site_id.clone(),
                connector_key: String::new(),
                name: format!("{} ({})", a.hostname, a.id),
                category: String::new(),
                severity: Some("high".into()),
                title: "An agent has gone silent".into(),
                detail: format!("No delivery since {last}: its scans may have stopped, or its queue is not getting through."),
                changes: vec![],
                remediation: "On that host, run `plumbline status` and `plumbline spool status`; check the service \
                              or scheduled task and the route to the collector."
                    .into(),
                at: last.clone(),
            };
            (format!("agent-silent:{}:{last}", a.id), event)
        })
        .collect()
}

pub(super) fn expiring_risks(
    tenant_id: &str,
    acceptances: &[(String, crate::store::console::Acceptance)],
    findings: &[plumbline_protocol::read_api::FindingRecord],
    today: &str,
    horizon: &str,
) -> Vec<(String, Event)> {
    acceptances
        .iter()
        .filter(|(_, a)| a.expires_on.as_str() >= today && a.expires_on.as_str() <= horizon)
        .filter_map(|(id, a)| {
            let f = findings.iter().find(|f| &f.entry.id == id)?;
            let event = Event {
                kind: "risk-expiring".into(),
                tenant_id: tenant_id.into(),
                site_id: f.site_id.clone(),
                connector_key: f.entry.connector_key.clone(),
                name: f.entry.connector_key.clone(),
                category: String::new(),
                severity: Some(f.entry.severity.as_str().into()),
                title: format!("Accepted risk expires on {}: {}", a.expires_on, f.entry.title),
                detail: format!("Accepted by {}, approved by {}: {}", a.accepted_by, a.approver, a.rationale),
                changes: vec![],
                remediation: "Ask the client to renew the acceptance or fix the finding before it reopens.".into(),
                at: a.expires_on.clone(),
            };
            Some((format!("risk-expiring:{id}:{}", a.expires_on), event))
        })
        .collect()
}

/// Connectors whose review is past its date (a cadence set, the last review
/// or the first sighting that many days ago), present ones only.
pub(super) fn overdue_reviews(tenant_id: &str, view: &RegisterView, today: &str) -> Vec<(String, Event)> {
    view.connectors
        .iter()
        .filter(|c| c.status == "present" && !c.entry.is_context())
        .filter_map(|c| {
            let row = table::row(c, &[], today);
            if !row.review_overdue {
                return None;
            }
            let last = c.annotations.last_reviewed.clone().map_or_else(|| "never reviewed".to_string(), |d| format!("last reviewed {d}"));
            let event = Event {
                kind: "review-overdue".into(),
                tenant_id: tenant_id.into(),
                site_id: c.site_id.clone(),
                connector_key: c.entry.key.clone(),
                name: c.entry.name.clone(),
                category: c.entry.category.clone(),
                severity: None,
                title: format!("Review overdue since {}", row.next_review_due),
                detail: format!("Reviewed every {} days; {last}.", row.review_cadence_days),
                changes: vec![],
                remediation: "Confirm its owner, purpose and need with the client, then press \"Mark reviewed today\" \
                              on its console page."
                    .into(),
                at: row.next_review_due.clone(),
            };
            Some((format!("review-overdue:{}:{}", c.entry.key, row.next_review_due), event))
        })
        .collect()
}
