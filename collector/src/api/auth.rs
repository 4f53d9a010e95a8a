//! Bearer API tokens for the read API.
//!
//! A token is scoped to one tenant or to all. A token scoped to tenant A
//! asking for tenant B gets the same 404 as for a tenant that does not
//! exist: the answer does not reveal which tenants exist. The check itself
//! is [`crate::access::Principal`]'s, the same one the console uses.

use super::error::ApiError;
use super::AppState;
use crate::access::{AccessError, Principal};
use crate::{timestamp, tokens};
use axum::http::StatusCode;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

/// Who is asking: the token's name and what it may do.
#[derive(Debug, Clone)]
pub struct Caller {
    /// What it may do; its `name` is the token's.
    pub principal: Principal,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        let hash = tokens::hash(token);
        let record = state.store.api_token(&hash).await?.ok_or_else(ApiError::unauthorized)?;
        let now = timestamp::now();
        if record.revoked_at.is_some() {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_revoked",
                format!("API token {} was revoked; ask the MSP's admin for a new one", record.id),
            ));
        }
        if record.expires_at.as_deref().is_some_and(|e| e <= now.as_str()) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_expired",
                format!("API token {} expired; ask the MSP's admin for a new one (`api-token create`)", record.id),
            ));
        }
        // Once a minute at most: a write per request would queue every API
        // read behind ingest for the write lock.
        if record.last_used_at.as_deref().is_none_or(|at| at < crate::store::tokens::minute(&now)) {
            state.store.touch_api_token(&hash, &now).await?;
        }
        let may_write = record.scope == "write";
        Ok(Caller { principal: Principal::api_token(&record.name, record.tenant_id.as_deref(), may_write) })
    }
}

impl Caller {
    /// Go on only if this caller may change `tenant`: 404 as for
    /// [`Caller::may_see`], 403 for a read-only token.
    pub async fn may_write(&self, state: &AppState, tenant: &str) -> Result<(), ApiError> {
        self.may_see(state, tenant).await?;
        if self.principal.may_write {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "read_only",
                "this API token may read but not write; annotating needs a token made with `api-token create --scope write`",
            ))
        }
    }

    /// Go on only if this caller may see `tenant` and it exists; else 404.
    pub async fn may_see(&self, state: &AppState, tenant: &str) -> Result<(), ApiError> {
        match self.principal.tenant(state.store.as_ref(), tenant).await {
            Ok(_) => Ok(()),
            Err(AccessError::Store(e)) => Err(e.into()),
            Err(e) => Err(ApiError::not_found(e.to_string())),
        }
    }
}
