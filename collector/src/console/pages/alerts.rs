//! `/alerts`, for msp-admins: the alert rules and destinations the
//! collector's config file gives (rules are edited there, where secrets come
//! from the environment), and the outbox per destination: pending, sent and
//! refused, with the last error; refused alerts can be sent again once the
//! destination is fixed.

use super::super::error::ConsoleError;
use super::super::session::Viewer;
use super::{render, Shell};
use crate::api::AppState;
use crate::timestamp;
use askama::Template;
use axum::extract::{Form, State};
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One rule as the page shows it.
pub struct RuleRow {
    /// Its name.
    pub name: String,
    /// What fires it, in words.
    pub when: String,
    /// Which tenants.
    pub scope: String,
    /// Where it sends.
    pub send_to: String,
}

/// One destination and its outbox.
#[derive(Default)]
pub struct DestinationRow {
    /// Its name in the config.
    pub name: String,
    /// `teams`, `webhook` or `email`; empty when it is no longer configured.
    pub kind: String,
    /// The mail server and recipients, or the URL's fingerprint.
    pub address: String,
    /// Alerts waiting (or being retried).
    pub pending: u64,
    /// Alerts delivered.
    pub sent: u64,
    /// Alerts refused for good.
    pub refused: u64,
    /// The latest error.
    pub last_error: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    shell: Shell,
    notice: String,
    rules: Vec<RuleRow>,
    destinations: Vec<DestinationRow>,
}

async fn build(state: &AppState, viewer: &Viewer, notice: String) -> Result<AlertsPage, ConsoleError> {
    // Only an msp-admin: other roles get the page that does not exist.
    if !viewer.principal.is_admin {
        return Err(ConsoleError::NotFound);
    }
    let set = &state.alerts;
    let rules = set
        .rules
        .iter()
        .map(|r| RuleRow {
            name: r.name.clone(),
            when: r.trigger.explained(),
            scope: r.scope.to_string(),
            send_to: r.send_to.iter().map(|d| d.name.clone()).collect::<Vec<_>>().join(", "),
        })
        .collect();
    let mut destinations: BTreeMap<String, DestinationRow> = set
        .destinations
        .iter()
        .map(|d| (d.name.clone(), DestinationRow { name: d.name.clone(), kind: d.kind.as_str().into(), address: d.shown(), ..Default::default() }))
        .collect();
    for c in state.store.outbox_counts().await? {
        let row = destinations.entry(c.destination.clone()).or_insert_with(|| DestinationRow {
            name: c.destination.clone(),
            address: "no longer in the config: its alerts wait until it is back".into(),
            ..Default::default()
        });
        match c.state.as_str() {
            "sent" => row.sent += c.count,
            "refused" => row.refused += c.count,
            _ => row.pending += c.count,
        }
        if let Some(e) = c.last_error.filter(|_| c.state != "sent") {
            row.last_error = e;
        }
    }
    Ok(AlertsPage { shell: Shell::new(state, viewer, None), notice, rules, destinations: destinations.into_values().collect() })
}

/// `GET /alerts`.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, ConsoleError> {
    render(&build(&state, &viewer, String::new()).await?)
}

/// A retry as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RetryForm {
    csrf: String,
    destination: String,
}

/// `POST /alerts/retry`: send a destination's refused alerts again.
pub async fn retry(State(state): State<AppState>, viewer: Viewer, Form(f): Form<RetryForm>) -> Result<Response, ConsoleError> {
    viewer.check_csrf(&f.csrf)?;
    if !viewer.principal.is_admin {
        return Err(ConsoleError::NotFound);
    }
    let notice = if state.alerts.destination(&f.destination).is_none() {
        format!("{:?} is not a destination in the config; add it there, restart, then retry.", f.destination)
    } else {
        let n = state.store.alerts_requeue_refused(&f.destination, &timestamp::now()).await?;
        tracing::info!(destination = %f.destination, alerts = n, by = %viewer.email(), "refused alerts queued again");
        format!("{} for {} queued again.", plumbline_protocol::wording::count(n, "refused alert"), f.destination)
    };
    render(&build(&state, &viewer, notice).await?)
}
