//! [`AgentCaller`]: an enrolled, unrevoked agent, proved by a request
//! signature with its key ([`plumbline_protocol::agent_auth`]), for the
//! requests that carry no signed batch: its policy and its plugins.

use super::error::ApiError;
use super::AppState;
use crate::store::AgentRecord;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use plumbline_protocol::agent_auth::{AuthError, Claim};
use plumbline_protocol::identity::parse_public_key;

/// The agent asking.
pub struct AgentCaller(pub AgentRecord);

fn refused(e: AuthError) -> ApiError {
    let code = match e {
        AuthError::Malformed => "unauthorized",
        AuthError::Skew(_) => "clock_skew",
        AuthError::Signature(_) => "bad_signature",
    };
    ApiError::new(StatusCode::UNAUTHORIZED, code, e.to_string())
}

impl FromRequestParts<AppState> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(|| refused(AuthError::Malformed))?;
        let claim = Claim::parse(value).map_err(refused)?;
        let unknown = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unknown_agent",
                format!("agent {} is not enrolled here; enroll it (`plumbline enroll`)", claim.agent_id),
            )
        };
        let agent = state.store.agent(&claim.agent_id).await?.ok_or_else(unknown)?;
        if agent.revoked_at.is_some() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "revoked",
                format!("agent {} is revoked; enroll it again with a new token if it should report", agent.id),
            ));
        }
        let key = parse_public_key(&agent.public_key).map_err(|e| ApiError::internal(&format!("stored key of {}: {e}", agent.id)))?;
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        claim.verify(&key, parts.method.as_str(), path, now).map_err(refused)?;
        Ok(AgentCaller(agent))
    }
}
