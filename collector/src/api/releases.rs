//! The release endpoints, for enrolled agents ([`super::agent_auth`]):
//! `GET /v1/releases/latest?platform=P[&channel=C]` answers the signed
//! manifest of the highest version, byte for byte as added;
//! `GET /v1/releases/{sha256}` the binary it names, streamed from disk.

use super::agent_auth::AgentCaller;
use super::error::ApiError;
use super::AppState;
use crate::releases::Releases;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use plumbline_protocol::messages::ErrorBody;
use plumbline_protocol::release::{is_sha256, DEFAULT_CHANNEL, PLATFORMS};
use serde::Deserialize;

/// `?platform=x86_64-linux&channel=stable`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LatestQuery {
    /// `x86_64-linux` or `x86_64-windows`.
    pub platform: String,
    /// Default `stable`.
    pub channel: Option<String>,
}

fn releases(state: &AppState) -> Result<&Releases, ApiError> {
    state.releases.as_deref().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "no_release", "this collector publishes no agent releases")
    })
}

fn internal(e: crate::releases::ReleaseError) -> ApiError {
    ApiError::internal(&e)
}

/// `GET /v1/releases/latest`
#[utoipa::path(get, path = "/v1/releases/latest", tag = "agents", params(LatestQuery),
    responses((status = 200, description = "The newest release's manifest, a DSSE envelope signed by the MSP's release key (agents verify it)", body = plumbline_protocol::envelope::Envelope),
        (status = 400, description = "No or an unknown platform", body = ErrorBody),
        (status = 401, description = "Not signed by an enrolled agent (`unauthorized`, `unknown_agent`, `bad_signature`, `clock_skew`)", body = ErrorBody),
        (status = 404, description = "No release for that platform and channel (`no_release`)", body = ErrorBody)),
    security(("agent_signature" = [])))]
pub async fn latest(
    State(state): State<AppState>,
    _agent: AgentCaller,
    query: Result<Query<LatestQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::malformed(e.body_text()))?;
    if !PLATFORMS.contains(&q.platform.as_str()) {
        return Err(ApiError::malformed(format!("platform must be one of {}", PLATFORMS.join(", "))));
    }
    let channel = q.channel.as_deref().unwrap_or(DEFAULT_CHANNEL);
    let found = releases(&state)?.latest(&q.platform, channel).map_err(internal)?.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "no_release", format!("no release for {} on channel {channel:?}", q.platform))
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], found.signed).into_response())
}

/// `GET /v1/releases/{sha256}`
#[utoipa::path(get, path = "/v1/releases/{sha256}", tag = "agents", params(("sha256" = String, Path, description = "The binary's sha256, as its manifest names it")),
    responses((status = 200, description = "The release binary", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "Not a sha256", body = ErrorBody),
        (status = 401, description = "Not signed by an enrolled agent (`unauthorized`, `unknown_agent`, `bad_signature`, `clock_skew`)", body = ErrorBody),
        (status = 404, description = "No such release binary (`no_release`)", body = ErrorBody)),
    security(("agent_signature" = [])))]
pub async fn binary(State(state): State<AppState>, _agent: AgentCaller, Path(sha256): Path<String>) -> Result<Response, ApiError> {
    if !is_sha256(&sha256) {
        return Err(ApiError::malformed("a release binary is named by its sha256: 64 lowercase hex digits"));
    }
    let path = releases(&state)?.binary_path(&sha256);
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "no_release", format!("no release binary {sha256}")))
        }
        Err(e) => return Err(ApiError::internal(&format!("opening {}: {e}", path.display()))),
    };
    let size = file.metadata().await.map_err(|e| ApiError::internal(&e))?.len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok(([(header::CONTENT_TYPE, "application/octet-stream".to_string()), (header::CONTENT_LENGTH, size.to_string())], body)
        .into_response())
}
