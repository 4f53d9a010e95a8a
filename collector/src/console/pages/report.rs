//! `/tenants/{id}/report?from=YYYY-MM-DD&to=YYYY-MM-DD`: the client's QBR
//! report, the same self-contained file `plumbline-collector report` writes.

use super::super::error::ConsoleError;
use super::super::session::Viewer;
use crate::api::AppState;
use crate::reports::{self, qbr::Period, ReportError};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

/// The report's own policy: its styles are inline (it is one file), and it
/// runs no script at all.
const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

/// `?from=&to=`, default the last 90 days.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportQuery {
    from: String,
    to: String,
}

/// `GET /tenants/{id}/report`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant_id): Path<String>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let tenant = viewer.principal.tenant(state.store.as_ref(), &tenant_id).await?;
    let Query(q) = query.map_err(|e| ConsoleError::BadRequest(e.body_text()))?;
    let period = period(q.from, q.to)?;
    respond(reports::qbr_html(state.store.as_ref(), &tenant.id, &period, &state.console.brand).await)
}

/// The period asked for; by default the 90 days up to today.
pub fn period(from: String, to: String) -> Result<Period, ConsoleError> {
    let today = crate::timestamp::today();
    let to = if to.is_empty() { today.clone() } else { to };
    let from = if from.is_empty() {
        crate::register::table::add_days(&crate::timestamp::minutes_ago(90 * 24 * 60), 0).unwrap_or(today)
    } else {
        from
    };
    Period::new(&from, &to).map_err(|e| ConsoleError::BadRequest(e.to_string()))
}

/// A report as its own self-contained page, under its own policy.
pub fn respond(html: Result<String, ReportError>) -> Result<Response, ConsoleError> {
    let html = match html {
        Ok(h) => h,
        Err(ReportError::Store(e)) => return Err(ConsoleError::Store(e)),
        Err(e) => return Err(ConsoleError::BadRequest(e.to_string())),
    };
    Ok((
        [(header::CONTENT_SECURITY_POLICY, REPORT_CSP), (header::CACHE_CONTROL, "no-store")],
        Html(html),
    )
        .into_response())
}
