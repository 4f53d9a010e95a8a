//! `/alerts`, for msp-admins: the rules in force (the config file's, and
//! those added here, which an admin may add and remove), the destinations
//! (from the config file, where their secrets come from the environment),
//! and the outbox per destination: pending, sent and refused, with the last
//! error; refused alerts can be sent again once the destination is fixed.

use super::super::error::ConsoleError;
use super::super::session::Viewer;
use super::{render, Shell};
use crate::alerts::config::RuleFile;
use crate::alerts::live::{LiveRules, RuleChangeError};
use crate::api::AppState;
use crate::timestamp;
use askama::Template;
use axum::extract::{Form, RawForm, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The triggers the form offers, as the config file names them.
const TRIGGERS: [&str; 6] =
    ["finding-opened", "finding-reopened", "exchange-connector-changed", "risk-expiring", "agent-silent", "review-overdue"];

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
    /// Added in the console (so it may be removed here), by whom.
    pub added_by: Option<String>,
}

/// The add-a-rule form as typed, kept when it is refused.
#[derive(Debug, Default, Clone)]
pub struct RuleForm {
    /// Its name.
    pub name: String,
    /// The trigger.
    pub when: String,
    /// `finding-opened` and `finding-reopened`.
    pub min_severity: String,
    /// `risk-expiring`.
    pub within_days: String,
    /// `agent-silent`.
    pub silent_hours: String,
    /// One tenant, or empty.
    pub tenant: String,
    /// One group, or empty.
    pub group: String,
    /// Destination names.
    pub send_to: Vec<String>,
}

impl RuleForm {
    fn parse(body: &[u8]) -> (String, RuleForm) {
        let (mut csrf, mut f) = (String::new(), RuleForm::default());
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.trim().to_string();
            match k.as_ref() {
                "csrf" => csrf = v,
                "name" => f.name = v,
                "when" => f.when = v,
                "min_severity" => f.min_severity = v,
                "within_days" => f.within_days = v,
                "silent_hours" => f.silent_hours = v,
                "tenant" => f.tenant = v,
                "group" => f.group = v,
                "send_to" => f.send_to.push(v),
                _ => {}
            }
        }
        (csrf, f)
    }

    /// The rule as the config file would write it.
    fn rule(&self) -> Result<RuleFile, String> {
        let number = |field: &str, v: &str| -> Result<Option<u32>, String> {
            match v {
                "" => Ok(None),
                v => v.parse().map(Some).map_err(|_| format!("{field} {v:?}: give a whole number, e.g. 14")),
            }
        };
        let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
        Ok(RuleFile {
            name: self.name.clone(),
            when: self.when.clone(),
            min_severity: some(&self.min_severity),
            within_days: number("within_days", &self.within_days)?,
            silent_hours: number("silent_hours", &self.silent_hours)?,
            tenant: some(&self.tenant),
            group: some(&self.group),
            send_to: self.send_to.clone(),
        })
    }
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
    form: RuleForm,
    form_error: String,
    triggers: Vec<String>,
    severities: Vec<String>,
    tenants: Vec<String>,
}

async fn build(state: &AppState, viewer: &Viewer, notice: String, form: RuleForm, form_error: String) -> Result<AlertsPage, ConsoleError> {
    // Only an msp-admin: other roles get the page that does not exist.
    if !viewer.principal.is_admin {
        return Err(ConsoleError::NotFound);
    }
    let set = state.alerts.current();
    let added: BTreeMap<String, String> = state
        .store
        .console_rules()
        .await?
        .into_iter()
        .map(|r| (r.name, format!("{} on {}", r.created_by, &r.created_at[..10.min(r.created_at.len())])))
        .collect();
    let rules = set
        .rules
        .iter()
        .map(|r| RuleRow {
            name: r.name.clone(),
            when: r.trigger.explained(),
            scope: r.scope.to_string(),
            send_to: r.send_to.iter().map(|d| d.name.clone()).collect::<Vec<_>>().join(", "),
            added_by: added.get(&r.name).cloned(),
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
    Ok(AlertsPage {
        shell: Shell::new(state, viewer, None),
        notice,
        rules,
        destinations: destinations.into_values().collect(),
        form,
        form_error,
        triggers: TRIGGERS.iter().map(|t| t.to_string()).collect(),
        severities: plumbline_protocol::register::Severity::ALL.iter().rev().map(|s| s.as_str().to_string()).collect(),
        tenants: state.store.tenants().await?.into_iter().map(|t| t.id).collect(),
    })
}

async fn show(state: &AppState, viewer: &Viewer, notice: String) -> Result<Response, ConsoleError> {
    render(&build(state, viewer, notice, RuleForm::default(), String::new()).await?)
}

/// `GET /alerts`.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, ConsoleError> {
    show(&state, &viewer, String::new()).await
}

/// `POST /alerts/rules`: add a rule; it is checked as the config file's
/// are, and in force from the next batch.
pub async fn add_rule(State(state): State<AppState>, viewer: Viewer, RawForm(body): RawForm) -> Result<Response, ConsoleError> {
    let (csrf, form) = RuleForm::parse(&body);
    viewer.check_csrf(&csrf)?;
    if !viewer.principal.is_admin {
        return Err(ConsoleError::NotFound);
    }
    let live: &LiveRules = &state.alerts;
    let outcome = match form.rule() {
        Ok(rule) => live.add(state.store.as_ref(), rule, viewer.email(), &timestamp::now()).await,
        Err(why) => Err(RuleChangeError::Invalid(crate::alerts::config::AlertConfigError(why))),
    };
    match outcome {
        Ok(()) => {
            tracing::info!(rule = %form.name, by = %viewer.email(), "alert rule added in the console");
            show(&state, &viewer, format!("Rule {:?} added; it applies from the next batch.", form.name)).await
        }
        Err(RuleChangeError::Store(e)) => Err(e.into()),
        Err(e) => {
            let mut response = render(&build(&state, &viewer, String::new(), form, e.to_string()).await?)?;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            Ok(response)
        }
    }
}

/// A removal as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveForm {
    csrf: String,
    name: String,
}

/// `POST /alerts/rules/remove`: remove a rule added in the console.
pub async fn remove_rule(State(state): State<AppState>, viewer: Viewer, Form(f): Form<RemoveForm>) -> Result<Response, ConsoleError> {
    viewer.check_csrf(&f.csrf)?;
    if !viewer.principal.is_admin {
        return Err(ConsoleError::NotFound);
    }
    let notice = match state.alerts.remove(state.store.as_ref(), &f.name).await {
        Ok(true) => {
            tracing::info!(rule = %f.name, by = %viewer.email(), "alert rule removed in the console");
            format!("Rule {:?} removed.", f.name)
        }
        Ok(false) => format!("Nothing changed: {:?} is not a rule added here (the config file's are removed in the file).", f.name),
        Err(RuleChangeError::Store(e)) => return Err(e.into()),
        Err(e) => e.to_string(),
    };
    show(&state, &viewer, notice).await
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
    let notice = if state.alerts.current().destination(&f.destination).is_none() {
        format!("{:?} is not a destination in the config; add it there, restart, then retry.", f.destination)
    } else {
        let n = state.store.alerts_requeue_refused(&f.destination, &timestamp::now()).await?;
        tracing::info!(destination = %f.destination, alerts = n, by = %viewer.email(), "refused alerts queued again");
        format!("{} for {} queued again.", plumbline_protocol::wording::count(n, "refused alert"), f.destination)
    };
    show(&state, &viewer, notice).await
}
