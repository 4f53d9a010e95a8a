//! `POST /v1/ingest`: a signed batch. The body limit is
//! [`crate::ingest::MAX_ENVELOPE_BYTES`], so an oversized body is refused
//! with 413 without reading past the cap.

use super::error::ApiError;
use super::admission::Admitted;
use super::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use plumbline_protocol::messages::IngestResponse;

/// Ingest one envelope.
pub async fn ingest(
    State(state): State<AppState>,
    // Before the body: over the limit, nothing is read.
    _admitted: Admitted,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestResponse>, ApiError> {
    let body = body.map_err(|r| {
        tracing::warn!("ingest refused: body: {}", r.body_text());
        ApiError::from_body(r, "too_large")
    })?;
    match crate::ingest::ingest_alerting(state.store.as_ref(), &body, &state.alerts).await {
        Ok(response) => {
            tracing::info!(digest = %response.digest, sequence = response.sequence, status = %response.status, "batch");
            Ok(Json(response))
        }
        Err(e) => {
            tracing::warn!(code = e.code(), "ingest refused: {e}");
            Err(e.into())
        }
    }
}
