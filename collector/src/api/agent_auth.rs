//! [`AgentCaller`]: an enrolled, unrevoked agent, proved by a request
//! signature with its key ([`plumbline_protocol::agent_auth`]), for the
//! requests that carry no signed batch (its policy and its plugins), and
//! [`caller`], which also tells the collector who sends an upload before
//! its body is read ([`super::admission`]).

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

/// Why a request's agent signature was not accepted.
#[derive(Debug)]
pub enum CallerError {
    /// No such header, a bad shape, a time too far off, a bad signature.
    Auth(AuthError),
    /// Not enrolled here (or the database was restored from before it).
    Unknown(String),
    /// Revoked.
    Revoked(String),
    /// The store failed.
    Store(ApiError),
}

impl CallerError {
    /// The refusal of a request that only reads.
    pub fn for_read(self) -> ApiError {
        self.refusal("revoked")
    }

    /// The refusal of an upload, in the codes an ingest refusal has always
    /// had, so that an agent judges it as it judges the envelope's.
    pub fn for_ingest(self) -> ApiError {
        self.refusal("revoked_agent")
    }

    fn refusal(self, revoked_code: &'static str) -> ApiError {
        match self {
            CallerError::Auth(e) => refused(e),
            CallerError::Unknown(id) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unknown_agent",
                format!("agent {id} is not enrolled here; enroll it (`plumbline enroll`)"),
            ),
            CallerError::Revoked(id) => ApiError::new(
                StatusCode::FORBIDDEN,
                revoked_code,
                format!("agent {id} is revoked; enroll it again with a new token if it should report"),
            ),
            CallerError::Store(e) => e,
        }
    }
}

fn refused(e: AuthError) -> ApiError {
    let code = match e {
        AuthError::Malformed => "unauthorized",
        AuthError::Skew(_) => "clock_skew",
        AuthError::Signature(_) => "bad_signature",
    };
    ApiError::new(StatusCode::UNAUTHORIZED, code, e.to_string())
}

/// The enrolled, unrevoked agent whose signature the request's
/// `Authorization` carries, over its method and path.
pub async fn caller(parts: &Parts, state: &AppState) -> Result<AgentRecord, CallerError> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(CallerError::Auth(AuthError::Malformed))?;
    let claim = Claim::parse(value).map_err(CallerError::Auth)?;
    let agent = state
        .store
        .agent(&claim.agent_id)
        .await
        .map_err(|e| CallerError::Store(e.into()))?
        .ok_or_else(|| CallerError::Unknown(claim.agent_id.clone()))?;
    if agent.revoked_at.is_some() {
        return Err(CallerError::Revoked(agent.id));
    }
    let key = parse_public_key(&agent.public_key)
        .map_err(|e| CallerError::Store(ApiError::internal(&format!("stored key of {}: {e}", agent.id))))?;
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    claim.verify(&key, parts.method.as_str(), path, now).map_err(CallerError::Auth)?;
    Ok(agent)
}

impl FromRequestParts<AppState> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        caller(parts, state).await.map(AgentCaller).map_err(CallerError::for_read)
    }
}
