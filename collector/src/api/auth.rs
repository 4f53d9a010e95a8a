//! Bearer API tokens for the read API.
//!
//! A token is scoped to one tenant or to all. A token scoped to tenant A
//! asking for tenant B gets the same 404 as for a tenant that does not
//! exist: the answer does not reveal which tenants exist.

use super::error::ApiError;
use super::AppState;
use crate::tokens;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

/// Who is asking.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name.
    pub name: String,
    /// Its tenant, or `None` for every tenant.
    pub tenant: Option<String>,
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
        let record = state.store.api_token(&tokens::hash(token)).await?.ok_or_else(ApiError::unauthorized)?;
        Ok(Caller { name: record.name, tenant: record.tenant_id })
    }
}

impl Caller {
    /// Go on only if this caller may see `tenant` and it exists; else 404.
    pub async fn may_see(&self, state: &AppState, tenant: &str) -> Result<(), ApiError> {
        let hidden = || ApiError::not_found(format!("no tenant {tenant:?}"));
        if self.tenant.as_deref().is_some_and(|t| t != tenant) {
            return Err(hidden());
        }
        state.store.tenant(tenant).await?.ok_or_else(hidden)?;
        Ok(())
    }
}
