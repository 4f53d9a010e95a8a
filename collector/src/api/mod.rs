//! The HTTP API (axum). Handlers translate; the work is in
//! [`crate::ingest`], [`crate::register`] and [`crate::store`].
//!
//! - `POST /v1/enroll`: [`plumbline_protocol::messages::EnrollRequest`] ->
//!   [`plumbline_protocol::messages::EnrollResponse`]
//! - `POST /v1/ingest`: a DSSE envelope -> [`plumbline_protocol::messages::IngestResponse`]
//! - `GET /v1/health`: `ok`
//! - with a bearer API token ([`auth`]), under `/v1/tenants/{tenant}/`:
//!   `register`, `register.csv`, `changes`, `findings`,
//!   `batches/{digest}/envelope`, and `PUT connectors/{key}/annotations`
//!   ([`read`], [`annotate`]);
//! - the SIEM export ([`siem`]), with a bearer API token: `GET /v1/findings.ocsf`
//!   and `GET /v1/tenants/{tenant}/findings.ocsf`.
//!
//! Every refusal is a 4xx with a [`plumbline_protocol::messages::ErrorBody`] ([`error`]).

pub mod admission;
pub mod annotate;
pub mod auth;
pub mod enroll;
pub mod error;
pub mod ingest;
pub mod read;
pub mod siem;

use crate::accounts::throttle::Throttle;
use crate::console::ConsoleConfig;
use crate::store::Store;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use std::sync::Arc;

/// Largest enrollment or annotation request body.
pub const MAX_SMALL_BODY_BYTES: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// How the console behaves.
    pub console: Arc<ConsoleConfig>,
    /// Failed sign-ins.
    pub throttle: Arc<Throttle>,
    /// Uploads in flight.
    pub admission: Arc<admission::Admission>,
    /// Alert rules, applied at ingest.
    pub alerts: crate::alerts::RuleSet,
}

impl AppState {
    /// State over a store, with the console's defaults.
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState {
            store,
            console: Arc::new(ConsoleConfig::default()),
            throttle: Arc::new(Throttle::default()),
            admission: Arc::default(),
            alerts: crate::alerts::RuleSet::default(),
        }
    }

    /// The same, with these alert rules.
    pub fn with_alerts(mut self, alerts: crate::alerts::RuleSet) -> AppState {
        self.alerts = alerts;
        self
    }

    /// The same, with this console configuration.
    pub fn with_console(mut self, console: ConsoleConfig) -> AppState {
        self.console = Arc::new(console);
        self
    }
}

/// The collector's router: the API under `/v1`, the console at `/`.
pub fn app(state: AppState) -> Router {
    api_routes().merge(crate::console::routes()).fallback(not_found).with_state(state)
}

/// Unknown paths: JSON under an API version (`/v1`, and any `/vN` a newer
/// agent may try), the console's page elsewhere.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let first = uri.path().trim_start_matches('/').split('/').next().unwrap_or("");
    let api = first.len() > 1 && first.starts_with('v') && first[1..].bytes().all(|b| b.is_ascii_digit());
    if api {
        error::ApiError::not_found("no such endpoint").into_response()
    } else {
        crate::console::error::ConsoleError::NotFound.into_response()
    }
}

fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/health", get(|| async { "ok" }))
        .route("/v1/enroll", post(enroll::enroll).layer(DefaultBodyLimit::max(MAX_SMALL_BODY_BYTES)))
        .route("/v1/ingest", post(ingest::ingest).layer(DefaultBodyLimit::max(crate::ingest::MAX_ENVELOPE_BYTES)))
        .route("/v1/tenants/{tenant}/register", get(read::register))
        .route("/v1/tenants/{tenant}/register.csv", get(read::register_csv))
        .route("/v1/tenants/{tenant}/changes", get(read::changes))
        .route("/v1/tenants/{tenant}/findings", get(read::findings))
        .route("/v1/findings.ocsf", get(siem::fleet))
        .route("/v1/tenants/{tenant}/findings.ocsf", get(siem::tenant))
        .route("/v1/tenants/{tenant}/batches/{digest}/envelope", get(read::envelope))
        .route(
            "/v1/tenants/{tenant}/connectors/{key}/annotations",
            put(annotate::annotate).layer(DefaultBodyLimit::max(MAX_SMALL_BODY_BYTES)),
        )
}
