//! The SIEM export: each change of a finding's state (opened, reopened,
//! resolved, accepted, acceptance expired) as an OCSF Compliance Finding,
//! one per line (NDJSON), oldest first, from a cursor.
//!
//! A poller keeps the cursor of the last page and asks `?after=CURSOR`: it
//! never misses an event and never gets one twice. The cursor is the
//! `Plumbline-Next-Cursor` header, which is also the last line's
//! `metadata.uid`; `Plumbline-More: true` says a full page was cut short
//! and the next one can be asked for at once.

use super::auth::Caller;
use super::error::ApiError;
use super::AppState;
use crate::store::events::FindingEventRecord;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use plumbline_protocol::messages::ErrorBody;
use plumbline_protocol::ocsf::{compliance_finding, ndjson_line, ComplianceFinding, FindingEvent};
use serde::Deserialize;

/// Most events one page holds: a page is at most a few MB however long the
/// poller was away.
pub const MAX_OCSF_EVENTS: u32 = 1000;
/// The cursor to ask for next.
pub const NEXT_CURSOR: HeaderName = HeaderName::from_static("plumbline-next-cursor");
/// `true` when more events wait beyond this page.
pub const MORE: HeaderName = HeaderName::from_static("plumbline-more");
/// The media type of the pages.
pub const NDJSON: &str = "application/x-ndjson";

/// `?after=CURSOR&limit=N`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OcsfQuery {
    /// The cursor of the page before (its Plumbline-Next-Cursor); left out: from the first event.
    pub after: Option<String>,
    /// At most this many events (default and cap: 1000).
    pub limit: Option<u32>,
}

impl OcsfQuery {
    fn cursor(&self) -> Result<i64, ApiError> {
        match self.after.as_deref() {
            None | Some("") => Ok(0),
            Some(text) => text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::malformed(format!(
                    "after={text:?} is not a cursor: use the Plumbline-Next-Cursor header (or the last line's metadata.uid) \
                     of the page before, or leave it out to start from the first event"
                ))
            }),
        }
    }

    fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(MAX_OCSF_EVENTS),
            Some(n) if (1..=MAX_OCSF_EVENTS).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::malformed(format!("limit={n}: use 1 to {MAX_OCSF_EVENTS}, or leave it out"))),
        }
    }
}

/// The OCSF object of a stored event.
pub fn ocsf(e: &FindingEventRecord) -> ComplianceFinding {
    let f = &e.finding;
    compliance_finding(&FindingEvent {
        finding: &f.entry,
        connector: e.connector.as_ref(),
        tenant_id: &e.tenant_id,
        tenant_name: Some(&e.tenant_name),
        site_id: &f.site_id,
        change: e.change,
        at: &e.at,
        accepted_until: e.accepted_until.as_deref(),
        first_seen: Some(&f.first_seen),
        last_seen: Some(&f.last_seen),
        reopened_count: Some(f.reopened_count),
        event_id: Some(e.id),
    })
}

async fn page(state: &AppState, tenants: Option<&[String]>, query: Result<Query<OcsfQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::malformed(e.body_text()))?;
    let (after, limit) = (q.cursor()?, q.limit()?);
    // One more than asked says whether another page waits.
    let mut events = state.store.finding_events(tenants, after, limit + 1, &crate::timestamp::today()).await?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next = events.last().map_or(after, |e| e.id);
    let mut body = String::new();
    for e in &events {
        body.push_str(&ndjson_line(&ocsf(e)));
        body.push('\n');
    }
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(NDJSON)),
        (NEXT_CURSOR, HeaderValue::from(next)),
        (MORE, HeaderValue::from_static(if more { "true" } else { "false" })),
    ];
    Ok((headers, body).into_response())
}

/// `GET /v1/findings.ocsf`: every tenant the token may see.
#[utoipa::path(get, path = "/v1/findings.ocsf", tag = "siem", operation_id = "findings_ocsf", params(OcsfQuery),
    responses((status = 200, description = "One OCSF 1.4.0 Compliance Finding per line (NDJSON), oldest first", body = ComplianceFinding,
        content_type = "application/x-ndjson",
        headers(("Plumbline-Next-Cursor" = i64, description = "The `after` of the next page: the last line's metadata.uid, or `after` again when the page is empty"),
            ("Plumbline-More" = bool, description = "`true`: a full page, more wait; ask again at once"))), (status = 400, description = "A query the endpoint does not take; the message says what it does", body = ErrorBody), (status = 401, description = "No valid bearer API token", body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn fleet(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<OcsfQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    page(&state, caller.principal.limited_to(), query).await
}

/// `GET /v1/tenants/{tenant}/findings.ocsf`: one tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/findings.ocsf", tag = "siem", operation_id = "tenant_findings_ocsf", params(("tenant" = String, Path, description = "The tenant's id"), OcsfQuery),
    responses((status = 200, description = "One OCSF 1.4.0 Compliance Finding per line (NDJSON), oldest first", body = ComplianceFinding,
        content_type = "application/x-ndjson",
        headers(("Plumbline-Next-Cursor" = i64, description = "The `after` of the next page: the last line's metadata.uid, or `after` again when the page is empty"),
            ("Plumbline-More" = bool, description = "`true`: a full page, more wait; ask again at once"))), (status = 400, description = "A query the endpoint does not take; the message says what it does", body = ErrorBody), (status = 401, description = "No valid bearer API token", body = ErrorBody), (status = 404, description = "No such tenant, or not one this token may see (the same answer)", body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: Result<Query<OcsfQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    caller.may_see(&state, &tenant).await?;
    page(&state, Some(std::slice::from_ref(&tenant)), query).await
}
