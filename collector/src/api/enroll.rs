//! `POST /v1/enroll`: an agent registers its public key with a single-use token.

use super::error::ApiError;
use super::AppState;
use crate::store::NewAgent;
use crate::{timestamp, tokens};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use plumbline_protocol::identity::{agent_id, parse_public_key, public_key_b64};
use plumbline_protocol::messages::{EnrollRequest, EnrollResponse};

/// Longest host name kept.
const MAX_HOSTNAME: usize = 255;

/// Enroll an agent.
pub async fn enroll(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EnrollResponse>, ApiError> {
    let body = body.map_err(|r| ApiError::from_body(r, "too_large"))?;
    let req: EnrollRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::malformed(format!("not an enrollment request: {e}")))?;
    let key = parse_public_key(&req.public_key).map_err(|e| ApiError::malformed(e.to_string()))?;
    if req.hostname.chars().count() > MAX_HOSTNAME || req.hostname.chars().any(char::is_control) {
        return Err(ApiError::malformed("hostname: at most 255 printable characters"));
    }
    let now = timestamp::now();
    let agent = NewAgent {
        id: agent_id(&key),
        public_key: public_key_b64(&key),
        hostname: req.hostname,
        enrolled_at: now.clone(),
    };
    let record = state.store.enroll(&tokens::hash(&req.token), agent, &now).await.inspect_err(|e| {
        tracing::warn!("enrollment refused: {e}");
    })?;
    tracing::info!(agent = %record.id, tenant = %record.tenant_id, site = %record.site_id, host = %record.hostname, "agent enrolled");
    Ok(Json(EnrollResponse { agent_id: record.id, tenant_id: record.tenant_id, site_id: record.site_id }))
}
