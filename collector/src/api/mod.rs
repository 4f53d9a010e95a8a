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
//!   ([`read`], [`annotate`]).
//!
//! Every refusal is a 4xx with a [`plumbline_protocol::messages::ErrorBody`] ([`error`]).

pub mod annotate;
pub mod auth;
pub mod enroll;
pub mod error;
pub mod ingest;
pub mod read;

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
}

impl AppState {
    /// State over a store.
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState { store }
    }
}

/// The collector's router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(|| async { "ok" }))
        .route("/v1/enroll", post(enroll::enroll).layer(DefaultBodyLimit::max(MAX_SMALL_BODY_BYTES)))
        .route("/v1/ingest", post(ingest::ingest).layer(DefaultBodyLimit::max(crate::ingest::MAX_ENVELOPE_BYTES)))
        .route("/v1/tenants/{tenant}/register", get(read::register))
        .route("/v1/tenants/{tenant}/register.csv", get(read::register_csv))
        .route("/v1/tenants/{tenant}/changes", get(read::changes))
        .route("/v1/tenants/{tenant}/findings", get(read::findings))
        .route("/v1/tenants/{tenant}/batches/{digest}/envelope", get(read::envelope))
        .route(
            "/v1/tenants/{tenant}/connectors/{key}/annotations",
            put(annotate::annotate).layer(DefaultBodyLimit::max(MAX_SMALL_BODY_BYTES)),
        )
        .fallback(|| async { error::ApiError::not_found("no such endpoint") })
        .with_state(state)
}
