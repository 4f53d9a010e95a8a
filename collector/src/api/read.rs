//! The read API: a tenant's register (JSON and CSV), change history,
//! findings, and the stored envelopes as evidence. The three JSON lists
//! come a page at a time ([`cursor`]); the CSV is whole.

use super::auth::Caller;
use super::cursor::{self, List};
use super::error::ApiError;
use super::AppState;
use crate::register::csv;
use crate::store::pages::FindingKey;
use crate::store::FindingFilter;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use plumbline_protocol::envelope::Envelope;
use plumbline_protocol::messages::ErrorBody;
use plumbline_protocol::read_api::{AgentSummary, AgentsView, ChangesView, FindingsView, RegisterView, TenantSummary, TenantsView};
use serde::Deserialize;

/// The paged endpoints' 400, in the OpenAPI document.
const BAD_QUERY: &str = "A query the endpoint does not take, `limit=0`, or a `cursor` that is not a `next_cursor` \
    of this list, tenant and filter; the message says what to do";
/// Their 401.
const NO_TOKEN: &str = "No valid bearer API token";
/// Their 404.
const NOT_VISIBLE: &str = "No such tenant, or not one this token may see (the same answer)";

/// `?limit=N&cursor=C`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegisterQuery {
    /// Connectors a page holds: default 500; more than 5000 is served as 5000.
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before; left out: the first page.
    pub cursor: Option<String>,
}

/// `GET /v1/tenants/{tenant}/register`, a page of connectors by key.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/register", tag = "register",
    params(("tenant" = String, Path, description = "The tenant's id"), RegisterQuery),
    responses((status = 200, description = "A page of connectors by key, with their annotations and the open findings \
        about them (on the first page also those about a key the register does not hold), all as of one moment; \
        `next_cursor` when more follow", body = RegisterView),
        (status = 400, description = BAD_QUERY, body = ErrorBody),
        (status = 401, description = NO_TOKEN, body = ErrorBody),
        (status = 404, description = NOT_VISIBLE, body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: Result<Query<RegisterQuery>, QueryRejection>,
) -> Result<Json<RegisterView>, ApiError> {
    caller.may_see(&state, &tenant).await?;
    let Query(q) = query.map_err(|e| ApiError::malformed(e.body_text()))?;
    let limit = cursor::limit(q.limit)?;
    let after: Option<String> = q.cursor.map(|c| cursor::decode(&c, List::Register, &tenant, "")).transpose()?;
    let (mut view, more) = crate::reads::register_page(state.store.as_ref(), &tenant, after.as_deref(), limit).await?;
    let last = view.connectors.last().filter(|_| more);
    view.next_cursor = last.map(|c| cursor::encode(List::Register, &tenant, "", &c.entry.key));
    Ok(Json(view))
}

/// `GET /v1/tenants/{tenant}/register.csv`
#[utoipa::path(get, path = "/v1/tenants/{tenant}/register.csv", tag = "register", params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "The register, one row per connector", body = String, content_type = "text/csv"),
        (status = 401, description = "No valid bearer API token", body = ErrorBody), (status = 404, description = "No such tenant, or not one this token may see (the same answer)", body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn register_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    caller.may_see(&state, &tenant).await?;
    // Whole (it is a download), in one read transaction.
    let view = crate::reads::register(state.store.as_ref(), &tenant).await?;
    let body = csv::register_csv(&view, None, &crate::timestamp::today());
    let disposition = format!(
        "attachment; filename=\"{}-register.csv\"",
        tenant.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_', "_")
    );
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

/// `?needs_review=true&limit=N&cursor=C`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// Only changes that need review.
    pub needs_review: Option<bool>,
    /// Changes a page holds: default 500; more than 5000 is served as 5000.
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before (with the same `needs_review`); left out: the newest.
    pub cursor: Option<String>,
}

/// `GET /v1/tenants/{tenant}/changes`, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/changes", tag = "register",
    params(("tenant" = String, Path, description = "The tenant's id"), ChangesQuery),
    responses((status = 200, description = "A page of the tenant's history, newest first (by id); `next_cursor` when \
        older changes follow", body = ChangesView), (status = 400, description = BAD_QUERY, body = ErrorBody),
        (status = 401, description = NO_TOKEN, body = ErrorBody),
        (status = 404, description = NOT_VISIBLE, body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: Result<Query<ChangesQuery>, QueryRejection>,
) -> Result<Json<ChangesView>, ApiError> {
    caller.may_see(&state, &tenant).await?;
    let Query(q) = query.map_err(|e| ApiError::malformed(e.body_text()))?;
    let limit = cursor::limit(q.limit)?;
    let needs_review = q.needs_review.unwrap_or(false);
    let filter = format!("needs_review={needs_review}");
    let before: Option<i64> = q.cursor.map(|c| cursor::decode(&c, List::Changes, &tenant, &filter)).transpose()?;
    let page = state.store.changes_page(&tenant, needs_review, before, limit).await?;
    let last = page.rows.last().filter(|_| page.more);
    let next_cursor = last.map(|c| cursor::encode(List::Changes, &tenant, &filter, &c.id));
    Ok(Json(ChangesView { tenant_id: tenant, changes: page.rows, next_cursor }))
}

/// `?status=open|resolved|all&limit=N&cursor=C`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindingsQuery {
    /// Default `open` (with reopened).
    pub status: Option<String>,
    /// Findings a page holds: default 500; more than 5000 is served as 5000.
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before (with the same `status`); left out: the first page.
    pub cursor: Option<String>,
}

/// `GET /v1/tenants/{tenant}/findings`, most severe first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/findings", tag = "register",
    params(("tenant" = String, Path, description = "The tenant's id"), FindingsQuery),
    responses((status = 200, description = "A page of the tenant's findings, most severe first (then by connector key, \
        check and id); `next_cursor` when more follow", body = FindingsView),
        (status = 400, description = BAD_QUERY, body = ErrorBody),
        (status = 401, description = NO_TOKEN, body = ErrorBody),
        (status = 404, description = NOT_VISIBLE, body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn findings(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: Result<Query<FindingsQuery>, QueryRejection>,
) -> Result<Json<FindingsView>, ApiError> {
    caller.may_see(&state, &tenant).await?;
    let Query(q) = query.map_err(|e| ApiError::malformed(e.body_text()))?;
    let status = q.status.unwrap_or_else(|| "open".into());
    let filter = match status.as_str() {
        "open" => FindingFilter::Open,
        "resolved" => FindingFilter::Resolved,
        "all" => FindingFilter::All,
        other => return Err(ApiError::malformed(format!("status {other:?}: use open, resolved or all"))),
    };
    let limit = cursor::limit(q.limit)?;
    let shown = format!("status={status}");
    let after = q.cursor.map(|c| cursor::decode::<FindingPosition>(&c, List::Findings, &tenant, &shown)).transpose()?;
    let after = after.map(|(rank, connector_key, check_id, id)| FindingKey { rank, connector_key, check_id, id });
    let page = state.store.findings_page(&tenant, filter, after.as_ref(), limit).await?;
    let next_cursor = page.rows.last().filter(|_| page.more).map(|f| {
        let k = FindingKey::of(f);
        cursor::encode(List::Findings, &tenant, &shown, &(k.rank, k.connector_key, k.check_id, k.id))
    });
    Ok(Json(FindingsView { tenant_id: tenant, status, findings: page.rows, next_cursor }))
}

/// A [`FindingKey`] in a cursor: rank, connector key, check, id.
type FindingPosition = (i64, String, String, String);

/// `GET /v1/tenants/{tenant}/batches/{digest}/envelope`: the envelope
/// exactly as the agent sent it.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/batches/{digest}/envelope", tag = "register",
    params(("tenant" = String, Path, description = "The tenant's id"), ("digest" = String, Path, description = "The batch's sha256, as ingest answered it")),
    responses((status = 200, description = "The DSSE envelope, byte for byte as received", body = Envelope), (status = 401, description = "No valid bearer API token", body = ErrorBody),
        (status = 404, description = "No such tenant or batch, or not one this token may see", body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn envelope(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, digest)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.may_see(&state, &tenant).await?;
    let bytes = state
        .store
        .envelope(&tenant, &digest)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no batch {digest} for tenant {tenant:?}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// `GET /v1/tenants`
#[utoipa::path(get, path = "/v1/tenants", tag = "register",
    responses((status = 200, description = "The tenants this token may read: all of them for an all-tenants token, else its own", body = TenantsView),
        (status = 401, description = "No valid bearer API token", body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn tenants(State(state): State<AppState>, caller: Caller) -> Result<Json<TenantsView>, ApiError> {
    let tenants = state
        .store
        .tenants()
        .await?
        .into_iter()
        .filter(|t| caller.principal.covers(&t.id))
        .map(|t| TenantSummary { tenant_id: t.id, name: t.name, created_at: t.created_at })
        .collect();
    Ok(Json(TenantsView { tenants }))
}

/// `GET /v1/tenants/{tenant}/agents`
#[utoipa::path(get, path = "/v1/tenants/{tenant}/agents", tag = "register", params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "The tenant's agents: last delivery and batches that never arrived", body = AgentsView),
        (status = 401, description = "No valid bearer API token", body = ErrorBody), (status = 404, description = "No such tenant, or not one this token may see (the same answer)", body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn agents(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<AgentsView>, ApiError> {
    caller.may_see(&state, &tenant).await?;
    let agents = state
        .store
        .agents(Some(&tenant))
        .await?
        .into_iter()
        .map(|a| AgentSummary {
            agent_id: a.id,
            site_id: a.site_id,
            hostname: a.hostname,
            enrolled_at: a.enrolled_at,
            revoked_at: a.revoked_at,
            last_sequence: a.last_sequence,
            last_seen_at: a.last_seen_at,
            missing_batches: a.missing_batches,
        })
        .collect();
    Ok(Json(AgentsView { tenant_id: tenant, agents }))
}
