//! Which rules a planned batch fires: new findings at or above a severity,
//! findings that came back, and Exchange connectors that appeared, changed
//! or came back. Pure, so ingest can run it inside its transaction.

use super::{Event, NewAlert, RuleSet, Trigger};
use crate::register::review::EXCHANGE_CATEGORY;
use crate::register::{ChangeKind, Current, Plan, OPEN, REOPENED, RESOLVED};
use plumbline_protocol::read_api::FindingRecord;

/// A JSON value as text for a card (strings unquoted).
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(none)".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The alerts `plan` fires for `tenant_id` (in `groups`), one per rule,
/// destination and event.
pub fn alerts(rules: &RuleSet, tenant_id: &str, groups: &[String], current: &Current, plan: &Plan) -> Vec<NewAlert> {
    let mut out = Vec::new();
    if rules.is_empty() {
        return out;
    }
    let name_of = |key: &str| -> (String, String) {
        plan.connectors
            .iter()
            .find(|c| c.entry.key == key)
            .or_else(|| current.connectors.get(key))
            .map(|c| (c.entry.name.clone(), c.entry.category.clone()))
            .unwrap_or_else(|| (key.to_string(), String::new()))
    };
    let finding_event = |kind: &str, f: &FindingRecord| {
        let (name, category) = name_of(&f.entry.connector_key);
        Event {
            kind: kind.into(),
            tenant_id: tenant_id.into(),
            site_id: f.site_id.clone(),
            connector_key: f.entry.connector_key.clone(),
            name,
            category,
            severity: Some(f.entry.severity.as_str().into()),
            title: f.entry.title.clone(),
            detail: f.entry.detail.clone(),
            changes: vec![],
            remediation: f.entry.remediation.clone(),
            at: f.last_seen.clone(),
        }
    };
    for rule in rules.rules.iter().filter(|r| r.scope.covers(tenant_id, groups)) {
        let mut events: Vec<(String, Event)> = Vec::new();
        match rule.trigger {
            Trigger::FindingOpened(min) => {
                for f in &plan.findings {
                    if f.status == OPEN && !current.findings.contains_key(&f.entry.id) && f.entry.severity >= min {
                        events.push((format!("finding-opened:{}:{}", f.entry.id, f.first_seen), finding_event("finding-opened", f)));
                    }
                }
            }
            Trigger::FindingReopened(min) => {
                for f in &plan.findings {
                    let was_resolved = current.findings.get(&f.entry.id).is_some_and(|o| o.status == RESOLVED);
                    if f.status == REOPENED && was_resolved && f.entry.severity >= min {
                        let key = format!("finding-reopened:{}:{}", f.entry.id, f.reopened_count);
                        events.push((key, finding_event("finding-reopened", f)));
                    }
                }
            }
            Trigger::ExchangeConnectorChanged => {
                for c in &plan.changes {
                    let Some(entry) = &c.entry else { continue };
                    let news = matches!(c.kind, ChangeKind::Created | ChangeKind::Changed | ChangeKind::Reappeared);
                    // The organisation's context record changes with every connector; the connector's own change alerts.
                    if entry.category != EXCHANGE_CATEGORY || entry.is_context() || !news || c.baseline {
                        continue;
                    }
                    let changes: Vec<(String, String, String)> =
                        c.fields.iter().map(|f| (f.field.clone(), text(&f.before), text(&f.after))).collect();
                    let title = match c.kind {
                        ChangeKind::Created => "New Exchange connector",
                        ChangeKind::Reappeared => "Exchange connector back after it had disappeared",
                        _ => "Exchange connector changed",
                    };
                    let event = Event {
                        kind: "exchange-connector-changed".into(),
                        tenant_id: tenant_id.into(),
                        site_id: plan.connectors.iter().find(|s| s.entry.key == c.connector_key).map(|s| s.site_id.clone()).unwrap_or_default(),
                        connector_key: c.connector_key.clone(),
                        name: entry.name.clone(),
                        category: entry.category.clone(),
                        severity: None,
                        title: title.into(),
                        detail: c.review_reason.clone().unwrap_or_else(|| format!("{} {}", entry.name, c.kind.as_str())),
                        changes,
                        remediation: "Confirm with the client that they made this change; if nobody did, treat it as \
                                      a possible compromise and disable the connector (Set-InboundConnector -Identity \
                                      NAME -Enabled $false, or Set-OutboundConnector)."
                            .into(),
                        at: plan.at.clone(),
                    };
                    events.push((format!("exchange:{}:{}:{}", c.connector_key, c.kind.as_str(), plan.at), event));
                }
            }
            // Timed triggers: the dispatcher's sweep finds them.
            Trigger::RiskExpiring(_) | Trigger::AgentSilent(_) | Trigger::ReviewOverdue => {}
        }
        for (dedupe_key, event) in events {
            for d in &rule.send_to {
                out.push(NewAlert {
                    rule: rule.name.clone(),
                    destination: d.name.clone(),
                    tenant_id: tenant_id.into(),
                    dedupe_key: dedupe_key.clone(),
                    event: event.clone(),
                });
            }
        }
    }
    out
}
