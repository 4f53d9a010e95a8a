//! Token lifecycle in the store: listing and revoking API and enrollment
//! tokens, and an API token's last use. Tokens are held only as hashes, so
//! they are named by a short public id derived from the hash.

use super::{ApiTokenRecord, StoreError};
use async_trait::async_trait;

/// Hex digits of a token's hash that make its public id: 48 bits, so two
/// tokens of one collector share an id with odds of about one in 10^14.
pub const TOKEN_ID_CHARS: usize = 12;

/// A stored enrollment token, without the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollTokenRecord {
    /// Public id: see [`TOKEN_ID_CHARS`].
    pub id: String,
    /// Tenant it enrolls into.
    pub tenant_id: String,
    /// Site.
    pub site_id: String,
    /// When issued.
    pub created_at: String,
    /// Expiry.
    pub expires_at: String,
    /// When used, and by which agent.
    pub used_at: Option<String>,
    /// The agent it enrolled.
    pub used_by: Option<String>,
    /// When revoked, if it was.
    pub revoked_at: Option<String>,
    /// A fleet enrollment secret (site empty: each agent names its own).
    pub reusable: bool,
    /// How many agents it enrolled (counted for reusable tokens).
    pub uses: i64,
    /// When it last enrolled one (reusable tokens).
    pub last_used_at: Option<String>,
}

/// The columns an [`EnrollTokenRecord`] is read from, in its field order.
pub fn enroll_token_columns() -> String {
    format!(
        "substr(token_hash, 1, {TOKEN_ID_CHARS}), tenant_id, site_id, created_at, expires_at, used_at, used_by, revoked_at, \
         reusable, uses, last_used_at"
    )
}

/// Listing, revoking and touching tokens.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Every API token, oldest first.
    async fn api_tokens(&self) -> Result<Vec<ApiTokenRecord>, StoreError>;
    /// Revoke the API token with public id `id`; false when there is none.
    async fn revoke_api_token(&self, id: &str, now: &str) -> Result<bool, StoreError>;
    /// Record that the token with this hash was used `now` (to the minute:
    /// at most one write a minute per token).
    async fn touch_api_token(&self, token_hash: &str, now: &str) -> Result<(), StoreError>;
    /// Enrollment tokens, of one tenant or all, newest first.
    async fn enroll_tokens(&self, tenant_id: Option<&str>) -> Result<Vec<EnrollTokenRecord>, StoreError>;
    /// The tenant the enrollment token with this hash enrolls into, used or
    /// not: enrollment checks it against the agent's before using the token.
    async fn enroll_token_tenant(&self, token_hash: &str) -> Result<Option<String>, StoreError>;
    /// Revoke the enrollment token with public id `id`; false when there is none.
    async fn revoke_enroll_token(&self, id: &str, now: &str) -> Result<bool, StoreError>;
}

/// `now` to the minute (`2026-12-01T14:05`), the granularity of last use.
pub fn minute(now: &str) -> &str {
    now.get(..16).unwrap_or(now)
}
