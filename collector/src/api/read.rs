//! The read API: a tenant's register (JSON and CSV), change history,
//! findings, and the stored envelopes as evidence.

use super::auth::Caller;
use super::error::ApiError;
use super::AppState;
use crate::register::{csv, view};
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

/// Most history rows one request returns.
pub const MAX_CHANGES: u32 = 10_000;

async fn register_view(state: &AppState, tenant: &str) -> Result<RegisterView, ApiError> {
    Ok(crate::reads::register(state.store.as_ref(), tenant).await?)
}

/// `GET /v1/tenants/{tenant}/register`
#[utoipa::path(get, path = "/v1/tenants/{tenant}/register", tag = "register", params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "Connectors with annotations, and open findings", body = RegisterView), (status = 401, description = "No valid bearer API token", body = ErrorBody), (status = 404, description = "No such tenant, or not one this token may see (the same answer)", body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<RegisterView>, ApiError> {
    caller.may_see(&state, &tenant).await?;
    Ok(Json(register_view(&state, &tenant).await?))
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
    let body = csv::register_csv(&register_view(&state, &tenant).await?, None, &crate::timestamp::today());
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

/// `?needs_review=true&limit=N`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// Only changes that need review.
    pub needs_review: Option<bool>,
    /// At most this many (default and cap: 10000).
    pub limit: Option<u32>,
}

/// `GET /v1/tenants/{tenant}/changes`, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/changes", tag = "register", params(("tenant" = String, Path, description = "The tenant's id"), ChangesQuery),
    responses((status = 200, description = "The tenant's history, newest first", body = ChangesView), (status = 400, description = "A query the endpoint does not take; the message says what it does", body = ErrorBody), (status = 401, description = "No valid bearer API token", body = ErrorBody), (status = 404, description = "No such tenant, or not one this token may see (the same answer)", body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: Result<Query<ChangesQuery>, QueryRejection>,
) -> Result<Json<ChangesView>, ApiError> {
    caller.may_see(&state, &tenant).await?;
    let Query(q) = query.map_err(|e| ApiError::malformed(e.body_text()))?;
    let limit = q.limit.unwrap_or(MAX_CHANGES).min(MAX_CHANGES);
    let changes = state.store.changes(&tenant, q.needs_review.unwrap_or(false), limit).await?;
    Ok(Json(ChangesView { tenant_id: tenant, changes }))
}

/// `?status=open|resolved|all`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindingsQuery {
    /// Default `open` (with reopened).
    pub status: Option<String>,
}

/// `GET /v1/tenants/{tenant}/findings`, most severe first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/findings", tag = "register", params(("tenant" = String, Path, description = "The tenant's id"), FindingsQuery),
    responses((status = 200, description = "The tenant's findings, most severe first", body = FindingsView), (status = 400, description = "A query the endpoint does not take; the message says what it does", body = ErrorBody), (status = 401, description = "No valid bearer API token", body = ErrorBody), (status = 404, description = "No such tenant, or not one this token may see (the same answer)", body = ErrorBody)),
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
    let mut findings = state.store.findings(&tenant, filter).await?;
    view::sort_findings(&mut findings);
    Ok(Json(FindingsView { tenant_id: tenant, status, findings }))
}

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
