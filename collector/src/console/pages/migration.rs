//! `/tenants/{id}/migration`: every legacy Teams connector and Incoming
//! Webhook (in the register, and the webhook URLs found on site hosts) on
//! the ladder `unknown → inventoried → replacement built → tested → old
//! connector disabled`, or `exception approved`. Moving a card is an
//! annotation, so it lands in the audit trail; `tested` needs a test date
//! and evidence.

use super::super::error::ConsoleError;
use super::super::links;
use super::super::session::Viewer;
use super::{render, Shell};
use crate::api::AppState;
use crate::register::annotations::{self, MIGRATION_LADDER};
use crate::register::LEGACY_TEAMS_CATEGORIES;
use crate::timestamp;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use plumbline_protocol::read_api::{AnnotationsUpdate, RegisterConnector};
use serde::Deserialize;

/// One card.
pub struct Card {
    /// Register key.
    pub key: String,
    /// Name.
    pub name: String,
    /// Its page.
    pub href: String,
    /// Channel or file.
    pub scope: String,
    /// The replacing Workflow, and whether it has an owner and a co-owner.
    pub replacement: String,
    /// The steps it may move to.
    pub moves: Vec<String>,
    /// Why the last move was refused.
    pub error: String,
}

/// One column of the board.
pub struct Column {
    /// The ladder step.
    pub status: String,
    /// Its cards.
    pub cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "migration.html")]
struct MigrationPage {
    shell: Shell,
    tenant_name: String,
    self_href: String,
    may_write: bool,
    columns: Vec<Column>,
}

/// Legacy: a retired Teams connector or webhook, or a webhook URL of the
/// retired kind found on a site host. A context record (the Teams tenant's
/// summary) is no connector to migrate.
fn is_legacy(c: &RegisterConnector) -> bool {
    !c.entry.is_context() && LEGACY_TEAMS_CATEGORIES.contains(&c.entry.category.as_str())
        || (c.entry.category == "webhook-reference" && c.entry.migration_state.as_deref() == Some("legacy-retired"))
}

fn replacement(view: &[RegisterConnector], key: Option<&str>) -> String {
    let Some(key) = key else { return String::new() };
    match view.iter().find(|c| c.entry.key == key) {
        Some(r) => {
            let owner = r.effective.owner.as_deref().unwrap_or("no owner");
            let co = if r.effective.co_owners.is_empty() { "no co-owner".to_string() } else { r.effective.co_owners.join(", ") };
            format!("replaced by {} (owner {owner}; co-owner {co})", r.entry.name)
        }
        None => format!("replaced by {key} (not in the register)"),
    }
}

async fn build(
    state: &AppState,
    viewer: &Viewer,
    tenant_id: &str,
    refused: Option<(&str, String)>,
) -> Result<MigrationPage, ConsoleError> {
    let tenant = viewer.principal.tenant(state.store.as_ref(), tenant_id).await?;
    let view = crate::reads::register(state.store.as_ref(), &tenant.id).await?;
    let mut columns: Vec<Column> =
        MIGRATION_LADDER.iter().map(|s| Column { status: s.to_string(), cards: Vec::new() }).collect();
    for c in view.connectors.iter().filter(|c| c.status == "present" && is_legacy(c)) {
        let status = c.annotations.migration_status.clone().unwrap_or_else(|| "unknown".into());
        let card = Card {
            key: c.entry.key.clone(),
            name: c.entry.name.clone(),
            href: links::connector(&tenant.id, &c.entry.key),
            scope: c.entry.scope.clone(),
            replacement: replacement(&view.connectors, c.annotations.replacement_key.as_deref()),
            moves: MIGRATION_LADDER.iter().filter(|s| **s != status).map(|s| s.to_string()).collect(),
            error: match &refused {
                Some((key, why)) if *key == c.entry.key => why.clone(),
                _ => String::new(),
            },
        };
        if let Some(col) = columns.iter_mut().find(|col| col.status == status) {
            col.cards.push(card);
        }
    }
    Ok(MigrationPage {
        shell: Shell::new(state, viewer, Some(&tenant)),
        tenant_name: tenant.name.clone(),
        self_href: format!("{}/migration", links::tenant(&tenant.id)),
        may_write: viewer.principal.may_write,
        columns,
    })
}

/// `GET /tenants/{id}/migration`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant_id): Path<String>,
) -> Result<Response, ConsoleError> {
    render(&build(&state, &viewer, &tenant_id, None).await?)
}

/// A card move.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MoveForm {
    csrf: String,
    key: String,
    status: String,
}

/// `POST /tenants/{id}/migration`: move one card (an annotation, audited).
pub async fn move_card(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant_id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Result<Response, ConsoleError> {
    viewer.check_csrf(&f.csrf)?;
    let tenant = viewer.principal.writable_tenant(state.store.as_ref(), &tenant_id).await?;
    let view = crate::reads::register(state.store.as_ref(), &tenant.id).await?;
    let c = view.connectors.iter().find(|c| c.entry.key == f.key && is_legacy(c)).ok_or(ConsoleError::NotFound)?;
    let update = AnnotationsUpdate { migration_status: Some(Some(f.status.clone())), ..Default::default() };
    let refused = match annotations::validate(&update) {
        Err(e) => Some(e.reason),
        Ok(()) => {
            let after = annotations::merge(c.annotations.clone(), &update, "", "");
            annotations::check_merged(&c.annotations, &after).err().map(|e| e.reason)
        }
    };
    if let Some(why) = refused {
        let mut response = render(&build(&state, &viewer, &tenant.id, Some((&f.key, why))).await?)?;
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    state.store.update_annotations(&tenant.id, &f.key, update, viewer.email(), &timestamp::now()).await?;
    Ok(Redirect::to(&format!("{}/migration", links::tenant(&tenant.id))).into_response())
}
