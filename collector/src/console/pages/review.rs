//! `/tenants/{id}/review`: Exchange connector change control. New and
//! changed connectors wait for a decision, expected (with a note) or
//! suspicious; a decision is made once and recorded in the audit trail.

use super::super::error::ConsoleError;
use super::super::links;
use super::super::session::Viewer;
use super::{render, show, when, Shell};
use crate::api::AppState;
use crate::register::review;
use crate::store::console::{DecideOutcome, Decision, ReviewedChange};
use crate::timestamp;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::collections::HashMap;

/// A change waiting for a decision.
pub struct Item {
    /// Change id.
    pub id: i64,
    /// Connector name.
    pub name: String,
    /// Its page.
    pub href: String,
    /// `created`, `changed`, ...
    pub kind: String,
    /// When.
    pub at: String,
    /// Site.
    pub site_id: String,
    /// Why it needs review.
    pub reason: String,
    /// `(field, before, after)`.
    pub fields: Vec<(String, String, String)>,
    /// The note typed, kept when the form is refused.
    pub note: String,
    /// Why the form was refused.
    pub error: String,
}

/// A decided change.
pub struct Decided {
    /// Connector name.
    pub name: String,
    /// Its page.
    pub href: String,
    /// The change.
    pub kind: String,
    /// The decision.
    pub decision: String,
    /// The note.
    pub note: String,
    /// Who.
    pub by: String,
    /// When.
    pub at: String,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    shell: Shell,
    tenant_name: String,
    self_href: String,
    may_write: bool,
    notice: String,
    items: Vec<Item>,
    decided: Vec<Decided>,
}

/// Most decided changes listed.
const DECIDED_SHOWN: usize = 50;

async fn build(
    state: &AppState,
    viewer: &Viewer,
    tenant_id: &str,
    notice: String,
    refused: Option<(i64, &str, String)>,
) -> Result<ReviewPage, ConsoleError> {
    let tenant = viewer.principal.tenant(state.store.as_ref(), tenant_id).await?;
    let names: HashMap<String, String> =
        state.store.connectors(&tenant.id).await?.into_iter().map(|c| (c.entry.key.clone(), c.entry.name)).collect();
    let name_of = |key: &str| names.get(key).cloned().unwrap_or_else(|| key.to_string());
    let items = state
        .store
        .review_queue(&tenant.id)
        .await?
        .into_iter()
        .map(|rc: ReviewedChange| {
            let c = rc.change;
            let (note, error) = match &refused {
                Some((id, note, why)) if *id == c.id => (note.to_string(), why.clone()),
                _ => (String::new(), String::new()),
            };
            Item {
                id: c.id,
                name: name_of(&c.connector_key),
                href: links::connector(&tenant.id, &c.connector_key),
                kind: c.kind,
                at: when(&c.at),
                site_id: c.site_id,
                reason: c.review_reason.unwrap_or_default(),
                fields: c.fields.iter().map(|f| (f.field.clone(), show(&f.before), show(&f.after))).collect(),
                note,
                error,
            }
        })
        .collect();
    let decided = state
        .store
        .decided_changes(&tenant.id)
        .await?
        .into_iter()
        .take(DECIDED_SHOWN)
        .filter_map(|rc| {
            let d = rc.decision?;
            Some(Decided {
                name: name_of(&rc.change.connector_key),
                href: links::connector(&tenant.id, &rc.change.connector_key),
                kind: rc.change.kind,
                decision: d.decision,
                note: d.note,
                by: d.by,
                at: when(&d.at),
            })
        })
        .collect();
    Ok(ReviewPage {
        shell: Shell::new(state, viewer, Some(&tenant)),
        tenant_name: tenant.name.clone(),
        self_href: links::review(&tenant.id),
        may_write: viewer.principal.may_write,
        notice,
        items,
        decided,
    })
}

/// `GET /tenants/{id}/review`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant_id): Path<String>,
) -> Result<Response, ConsoleError> {
    render(&build(&state, &viewer, &tenant_id, String::new(), None).await?)
}

/// A decision as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecideForm {
    csrf: String,
    change_id: i64,
    decision: String,
    note: String,
}

/// `POST /tenants/{id}/review`: decide one change.
pub async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant_id): Path<String>,
    Form(f): Form<DecideForm>,
) -> Result<Response, ConsoleError> {
    viewer.check_csrf(&f.csrf)?;
    let tenant = viewer.principal.writable_tenant(state.store.as_ref(), &tenant_id).await?;
    if let Err((_, why)) = review::validate(&f.decision, &f.note) {
        let page = build(&state, &viewer, &tenant.id, String::new(), Some((f.change_id, &f.note, why))).await?;
        let mut response = render(&page)?;
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    let decision =
        Decision { decision: f.decision.clone(), note: f.note.trim().to_string(), by: viewer.email().to_string(), at: timestamp::now() };
    let notice = match state.store.decide_change(&tenant.id, f.change_id, decision).await? {
        DecideOutcome::Decided(rc) => {
            tracing::info!(tenant = %tenant.id, change = f.change_id, decision = %f.decision, by = %viewer.email(), "change reviewed");
            format!("Recorded: {} marked {}.", rc.change.connector_key, f.decision)
        }
        DecideOutcome::AlreadyDecided(rc) => {
            let d = rc.decision.unwrap_or_else(|| Decision { decision: "?".into(), note: String::new(), by: "?".into(), at: String::new() });
            format!("Nothing changed: {} had already decided this change ({}).", d.by, d.decision)
        }
        DecideOutcome::NotFound => return Err(ConsoleError::NotFound),
    };
    render(&build(&state, &viewer, &tenant.id, notice, None).await?)
}
