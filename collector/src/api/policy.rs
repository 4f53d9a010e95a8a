//! `GET /v1/policy` and `GET /v1/plugins/{sha256}`: an enrolled agent's
//! signed policy, and the plugin files it names, for that agent only
//! ([`AgentCaller`]).

use super::agent_auth::AgentCaller;
use super::error::ApiError;
use super::AppState;
use crate::policy::plugins::is_sha256;
use crate::policy::PolicySourceError;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use plumbline_protocol::messages::ErrorBody;

fn no_policy(message: String) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_policy", message)
}

/// The asking agent's policy, signed for its tenant and site.
#[utoipa::path(get, path = "/v1/policy", tag = "agents",
    responses((status = 200, description = "The policy: a DSSE envelope signed by the collector's policy key", content_type = "application/json"),
        (status = 401, description = "No valid agent request signature", body = ErrorBody),
        (status = 403, description = "A revoked agent", body = ErrorBody),
        (status = 404, description = "No policy for the agent's tenant (`no_policy`): it runs its local config", body = ErrorBody),
        (status = 503, description = "The tenant's policy files are invalid (`policy_invalid`); the collector's log says why", body = ErrorBody)))]
pub async fn policy(State(state): State<AppState>, AgentCaller(agent): AgentCaller) -> Result<Response, ApiError> {
    let Some(service) = &state.policy else {
        return Err(no_policy("this collector serves no policy; the agent runs its local config".into()));
    };
    match service.signed(state.store.as_ref(), &agent.tenant_id, &agent.site_id).await {
        Ok(envelope) => Ok(([(header::CONTENT_TYPE, "application/json")], envelope).into_response()),
        Err(PolicySourceError::None(tenant)) => {
            Err(no_policy(format!("no policy for tenant {tenant}; the agent runs its local config")))
        }
        Err(PolicySourceError::Store(e)) => Err(e.into()),
        Err(e @ PolicySourceError::Invalid { .. }) => {
            tracing::error!(tenant = %agent.tenant_id, "policy not served: {e}");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "policy_invalid",
                "the collector's policy files for this tenant are invalid; the MSP's admin finds why in the collector's \
                 log. The agent keeps its last good policy",
            ))
        }
    }
}

/// A plugin file by its sha256, for an enrolled agent.
#[utoipa::path(get, path = "/v1/plugins/{sha256}", tag = "agents",
    params(("sha256" = String, Path, description = "The component's sha256, 64 lowercase hex digits")),
    responses((status = 200, description = "The component", content_type = "application/wasm"),
        (status = 400, description = "Not a sha256", body = ErrorBody),
        (status = 401, description = "No valid agent request signature", body = ErrorBody),
        (status = 404, description = "No such plugin in the collector's plugins folder", body = ErrorBody)))]
pub async fn plugin(
    State(state): State<AppState>,
    AgentCaller(agent): AgentCaller,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    if !is_sha256(&sha256) {
        return Err(ApiError::malformed("a plugin is asked for by its sha256: 64 lowercase hex digits"));
    }
    let missing = || {
        ApiError::not_found(format!(
            "no plugin with sha256 {sha256} in the collector's plugins folder; the MSP's admin puts the file the \
             policy names there"
        ))
    };
    let Some(service) = &state.policy else { return Err(missing()) };
    let (index, dir) = (state.plugins.clone(), service.plugin_dir());
    let wanted = sha256.clone();
    let found = tokio::task::spawn_blocking(move || index.find(&dir, &wanted))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&format!("reading the plugins folder: {e}")))?;
    match found {
        Some(bytes) => {
            tracing::info!(agent = %agent.id, %sha256, "plugin served");
            Ok(([(header::CONTENT_TYPE, "application/wasm")], bytes).into_response())
        }
        None => {
            tracing::warn!(agent = %agent.id, %sha256, "a policy names a plugin the plugins folder does not hold");
            Err(missing())
        }
    }
}
