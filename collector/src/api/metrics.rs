//! `GET /metrics`: Prometheus text ([`crate::metrics`]).
//!
//! It needs a bearer API token made without `--tenant`: the figures span
//! every tenant (agents, alerts), so a token for one tenant, or none, gets
//! 403 or 401 like the rest of the API. Prometheus sends one with
//! `authorization: { credentials_file: ... }` in its scrape config. A
//! token rather than a loopback-only switch: the collector usually runs
//! behind a load balancer, where every scrape would come from one address,
//! and a read token can see no more than the counts.
//!
//! It lives outside `/v1` (where Prometheus looks for it), so it is not in
//! the OpenAPI document.

use super::auth::Caller;
use super::error::ApiError;
use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// `GET /metrics`
pub async fn metrics(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    if caller.principal.limited_to().is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "fleet_token_required",
            "/metrics counts every tenant; scrape it with an API token made without --tenant (`api-token create`)",
        ));
    }
    let outbox = state.store.outbox_counts().await?;
    let agents = state.store.agents(None).await?;
    let text = state.metrics.render(&outbox, &agents, state.admission.in_flight(), &crate::timestamp::now());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}
