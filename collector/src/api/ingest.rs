//! `POST /v1/ingest`: a signed batch, as it is or `Content-Encoding: gzip`.
//! The body limit is [`crate::ingest::MAX_WIRE_BYTES`], so an oversized
//! body is refused with 413 without reading past the cap; a gzip body that
//! inflates past [`crate::ingest::MAX_INFLATED_BYTES`] gets a 413 too.

use super::error::ApiError;
use super::admission::Admitted;
use super::egress::Egress;
use super::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use crate::ingest::IngestError;
use axum::Json;
use plumbline_protocol::envelope::Envelope;
use plumbline_protocol::messages::{ErrorBody, IngestResponse};

/// Ingest one envelope.
#[utoipa::path(post, path = "/v1/ingest", tag = "agents",
    request_body(content = Envelope, description = "A scan batch signed by an enrolled agent's key (DSSE)"),
    responses((status = 200, description = "Stored, or stored before (`duplicate`)", body = IngestResponse),
        (status = 400, description = "Not an envelope or not a batch", body = ErrorBody),
        (status = 401, description = "An unknown agent or a bad signature", body = ErrorBody),
        (status = 403, description = "A revoked agent, or a batch for another agent or tenant", body = ErrorBody),
        (status = 409, description = "A replayed or jumping sequence; `last_accepted_sequence` says where to go on", body = ErrorBody),
        (status = 413, description = "An envelope over the limit, or a gzip body that inflates past it", body = ErrorBody),
        (status = 415, description = "A Content-Encoding other than gzip", body = ErrorBody),
        (status = 429, description = "Too many uploads at once; retry after `Retry-After` seconds", body = ErrorBody)))]
pub async fn ingest(
    State(state): State<AppState>,
    // Before the body: over the limit, nothing is read.
    _admitted: Admitted,
    Egress(egress): Egress,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestResponse>, ApiError> {
    let started = std::time::Instant::now();
    let body = body.map_err(|r| {
        tracing::warn!("ingest refused: body: {}", r.body_text());
        let e = ApiError::from_body(r, "too_large");
        state.metrics.ingest(e.code, started.elapsed());
        e
    })?;
    let answer = match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str()) {
        Some(Err(_)) => Err(IngestError::UnsupportedEncoding("(not text)".into())),
        encoding => {
            let encoding = encoding.and_then(Result::ok).map(str::to_string);
            crate::ingest::ingest_encoded(state.store.as_ref(), encoding, body, &state.alerts.current(), egress).await
        }
    };
    match answer {
        Ok(response) => {
            tracing::info!(digest = %response.digest, sequence = response.sequence, status = %response.status, "batch");
            state.metrics.ingest(if response.status == "stored" { "stored" } else { "duplicate" }, started.elapsed());
            Ok(Json(response))
        }
        Err(e) => {
            tracing::warn!(code = e.code(), "ingest refused: {e}");
            state.metrics.ingest(e.code(), started.elapsed());
            Err(e.into())
        }
    }
}
