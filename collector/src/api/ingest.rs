//! `POST /v1/ingest`: a signed batch, as it is or `Content-Encoding: gzip`.
//!
//! Before the body: who sends it ([`Admitted`]: the request's agent
//! signature, when there is one) and whether there is room. Then the body,
//! read under [`crate::ingest::MAX_WIRE_BYTES`] and the body clocks
//! ([`super::body`]): an oversized body is refused with 413 without
//! reading past the cap, a stalled one with 408; a gzip body that inflates
//! past [`crate::ingest::MAX_INFLATED_BYTES`] gets a 413 too.

use super::admission::Admitted;
use super::egress::Egress;
use super::error::ApiError;
use super::AppState;
use crate::ingest::{Arrival, IngestError};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use plumbline_protocol::envelope::Envelope;
use plumbline_protocol::messages::{ErrorBody, IngestResponse};

/// Ingest one envelope.
#[utoipa::path(post, path = "/v1/ingest", tag = "agents",
    request_body(content = Envelope, description = "A scan batch signed by an enrolled agent's key (DSSE). The request \
        may carry `Authorization: Plumbline-Agent AGENT_ID TIME SIGNATURE` over `POST /v1/ingest`, signed with the same key: \
        such an upload is admitted by its agent's own limits before its body is read"),
    responses((status = 200, description = "Stored, or stored before (`duplicate`)", body = IngestResponse),
        (status = 400, description = "Not an envelope or not a batch", body = ErrorBody),
        (status = 401, description = "An unknown agent or a bad signature (of the envelope or of the request)", body = ErrorBody),
        (status = 403, description = "A revoked agent, or a batch for another agent or tenant", body = ErrorBody),
        (status = 408, description = "The body stalled or took too long (`body_timeout`); retry", body = ErrorBody),
        (status = 409, description = "A replayed or jumping sequence; `last_accepted_sequence` says where to go on", body = ErrorBody),
        (status = 413, description = "An envelope over the limit, or a gzip body that inflates past it", body = ErrorBody),
        (status = 415, description = "A Content-Encoding other than gzip", body = ErrorBody),
        (status = 429, description = "Too many uploads at once (`busy`) or too fast (`rate_limited`); retry after `Retry-After` seconds", body = ErrorBody)))]
pub async fn ingest(
    State(state): State<AppState>,
    // Before the body: over a limit, nothing is read.
    admitted: Admitted,
    Egress(egress): Egress,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestResponse>, ApiError> {
    let started = std::time::Instant::now();
    let refuse = |e: ApiError| {
        tracing::warn!(code = e.code, "ingest refused: {}", crate::ingest::loggable(&e.message));
        state.metrics.ingest(e.code, started.elapsed());
        e
    };
    let body = super::body::read(&headers, body, crate::ingest::MAX_WIRE_BYTES, state.body_clock)
        .await
        .map_err(|e| refuse(e.refusal("too_large")))?;
    let arrival = Arrival { egress, signed_by: admitted.agent() };
    let answer = match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str()) {
        Some(Err(_)) => Err(IngestError::UnsupportedEncoding("(not text)".into())),
        encoding => {
            let encoding = encoding.and_then(Result::ok).map(str::to_string);
            crate::ingest::ingest_encoded(state.store.as_ref(), encoding, body, &state.alerts.current(), arrival).await
        }
    };
    match answer {
        Ok(response) => {
            tracing::info!(digest = %response.digest, sequence = response.sequence, status = %response.status, "batch");
            state.metrics.ingest(if response.status == "stored" { "stored" } else { "duplicate" }, started.elapsed());
            Ok(Json(response))
        }
        Err(e) => Err(refuse(e.into())),
    }
}
