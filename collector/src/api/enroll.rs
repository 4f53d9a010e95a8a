//! `POST /v1/enroll`: an agent registers its public key with a single-use
//! token, or with its tenant's reusable fleet secret and the site it names.

use super::egress::Egress;
use super::error::ApiError;
use super::AppState;
use crate::store::{AgentRecord, NewAgent};
use crate::{timestamp, tokens};
use super::body::SmallBody;
use axum::extract::State;
use axum::Json;
use axum::http::StatusCode;
use plumbline_protocol::identity::{agent_id, is_agent_id, parse_public_key, public_key_b64, verify_rotation};
use plumbline_protocol::messages::{EnrollRequest, EnrollResponse, ErrorBody, Replacement};

/// Longest host name kept.
const MAX_HOSTNAME: usize = 255;

/// Enroll an agent.
#[utoipa::path(post, path = "/v1/enroll", tag = "agents", request_body = EnrollRequest,
    responses((status = 200, description = "Enrolled (or already, with this key and token)", body = EnrollResponse),
        (status = 400, description = "Not an enrollment request, or a fleet secret without a site (`site_required`)", body = ErrorBody),
        (status = 401, description = "The token is not valid, used, expired or revoked", body = ErrorBody),
        (status = 409, description = "This key is enrolled already, or the token is for another tenant than the agent's config (`tenant_mismatch`)", body = ErrorBody),
        (status = 408, description = "The body stalled or took over a minute (`body_timeout`)", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody)))]
pub async fn enroll(
    State(state): State<AppState>,
    Egress(egress): Egress,
    SmallBody(body): SmallBody,
) -> Result<Json<EnrollResponse>, ApiError> {
    let req: EnrollRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::malformed(format!("not an enrollment request: {}", crate::ingest::untrusted(&e.to_string()))))?;
    let key = parse_public_key(&req.public_key).map_err(|e| ApiError::malformed(e.to_string()))?;
    if req.hostname.chars().count() > MAX_HOSTNAME || req.hostname.chars().any(char::is_control) {
        return Err(ApiError::malformed("hostname: at most 255 printable characters"));
    }
    if let Some(site) = req.site.as_deref().filter(|s| !crate::admin::valid_id(s)) {
        return Err(ApiError::malformed(format!(
            "site {:?}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            site.chars().take(80).collect::<String>()
        )));
    }
    let token_hash = tokens::hash(&req.token);
    // Before the token is used: a token for another tenant would enroll an
    // agent whose every batch is then refused as `wrong_tenant`.
    if let Some(claimed) = req.tenant.as_deref().map(plumbline_protocol::tenant::normalise) {
        if let Some(tenant) = state.store.enroll_token_tenant(&token_hash).await?.filter(|t| *t != claimed) {
            let claimed: String = claimed.chars().take(80).collect();
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "tenant_mismatch",
                format!(
                    "this token enrolls into tenant {tenant:?}, but the agent's config says tenant_id = {claimed:?}; the \
                     token was not used. Set tenant_id to the client's Entra tenant id, or make a token for tenant \
                     {claimed:?} (plumbline-collector enroll-token create --tenant ...)"
                ),
            ));
        }
    }
    let now = timestamp::now();
    let public_key = public_key_b64(&key);
    // Checked before the token is used: a bad proof costs nothing.
    let replaces = match &req.replaces {
        Some(r) => Some(check_replacement(&state, r, &public_key).await?),
        None => None,
    };
    let agent = NewAgent {
        id: agent_id(&key),
        public_key,
        hostname: req.hostname,
        enrolled_at: now.clone(),
        replaces: replaces.as_ref().map(|old| old.id.clone()),
        site_id: req.site,
    };
    let record = state.store.enroll(&token_hash, agent, &now).await.inspect_err(|e| {
        tracing::warn!("enrollment refused: {e}");
    })?;
    if let Some(address) = egress {
        // The site is known from its first contact; a failure here costs
        // only that, and the first batch records it again.
        if let Err(e) = state.store.record_egress(&record.id, address, &now).await {
            tracing::warn!(agent = %record.id, "recording the enrollment's address: {e}");
        }
    }
    // Revoked with the enrollment only when it was for the same tenant and site.
    let replaced = replaces
        .filter(|old| (old.tenant_id.as_str(), old.site_id.as_str()) == (record.tenant_id.as_str(), record.site_id.as_str()))
        .map(|old| old.id);
    tracing::info!(agent = %record.id, tenant = %record.tenant_id, site = %record.site_id, host = %record.hostname, replaced = ?replaced, "agent enrolled");
    let policy_key = state.policy.as_ref().map(|p| p.public_key().to_string());
    Ok(Json(EnrollResponse { agent_id: record.id, tenant_id: record.tenant_id, site_id: record.site_id, replaced, policy_key }))
}

/// The agent a re-enrollment replaces, once its key's signature over the
/// new key checks out.
async fn check_replacement(state: &AppState, r: &Replacement, new_key: &str) -> Result<AgentRecord, ApiError> {
    let refused = |why: &str| ApiError::new(StatusCode::BAD_REQUEST, "bad_replacement", why.to_string());
    if !is_agent_id(&r.agent_id) {
        return Err(refused("`replaces.agent_id` is not an agent id"));
    }
    let old = state.store.agent(&r.agent_id).await?.ok_or_else(|| {
        refused("the agent to replace is not enrolled here; enroll without --force, or revoke it by hand")
    })?;
    let old_key = parse_public_key(&old.public_key)
        .map_err(|e| ApiError::internal(&crate::store::StoreError::Backend(format!("stored key of {}: {e}", old.id))))?;
    if !verify_rotation(&old_key, new_key, &r.signature) {
        return Err(refused("the old key's signature over the new key does not verify; nothing was enrolled"));
    }
    Ok(old)
}
