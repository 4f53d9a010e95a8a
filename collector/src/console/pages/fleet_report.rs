//! `/report?from=&to=&group=`: the MSP's fleet report, the same file
//! `plumbline-collector report --fleet` writes, over the tenants the user
//! may see. It is the MSP's document, so a client-viewer gets the same 404
//! as a page that does not exist.

use super::super::error::ConsoleError;
use super::super::session::Viewer;
use super::report::{period, respond};
use crate::accounts::Role;
use crate::api::AppState;
use crate::reports::{self, FleetScope};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

/// `?from=&to=&group=`; the period defaults to the last 90 days.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetReportQuery {
    from: String,
    to: String,
    group: String,
}

/// `GET /report`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<FleetReportQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    if viewer.role() == Role::ClientViewer {
        return Err(ConsoleError::NotFound);
    }
    let Query(q) = query.map_err(|e| ConsoleError::BadRequest(e.body_text()))?;
    let period = period(q.from, q.to)?;
    let scope = FleetScope {
        tenants: viewer.principal.limited_to(),
        group: &q.group,
        silent_after_hours: state.console.silent_after_hours,
    };
    respond(reports::fleet_html(state.store.as_ref(), &scope, &period, &state.console.brand).await)
}
