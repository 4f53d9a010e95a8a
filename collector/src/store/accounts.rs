//! Console accounts in the store: users, the tenants they may see, and
//! their sign-in sessions. Passwords arrive hashed and sessions by the hash
//! of their token: the store never holds a secret that signs anyone in.

use super::StoreError;
use async_trait::async_trait;

/// A user to add.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Lower-cased e-mail address, the sign-in name.
    pub email: String,
    /// `msp-admin`, `msp-engineer` or `client-viewer`.
    pub role: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// The tenants a scoped engineer or a client viewer may see.
    pub tenants: Vec<String>,
    /// Now.
    pub created_at: String,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Row id.
    pub id: i64,
    /// Lower-cased e-mail address.
    pub email: String,
    /// Role name.
    pub role: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Tenants it is scoped to (empty: none named).
    pub tenants: Vec<String>,
    /// When added.
    pub created_at: String,
    /// When disabled, if it is.
    pub disabled_at: Option<String>,
}

/// A session to store.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// sha256 of the cookie's token.
    pub token_hash: String,
    /// Whose.
    pub user_id: i64,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    /// Now.
    pub created_at: String,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Whose.
    pub user_id: i64,
    /// Its forms' token.
    pub csrf_token: String,
    /// When signed in, RFC 3339.
    pub created_at: String,
    /// Last request, RFC 3339.
    pub last_seen_at: String,
}

/// Users and sessions.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Add a user; its tenants must exist.
    async fn add_user(&self, user: NewUser) -> Result<UserRecord, StoreError>;
    /// The user with this (lower-cased) e-mail address.
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;
    /// The user with this id.
    async fn user(&self, id: i64) -> Result<Option<UserRecord>, StoreError>;
    /// Every user, by e-mail address.
    async fn users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Disable a user and end its sessions; false when there is none.
    async fn disable_user(&self, email: &str, now: &str) -> Result<bool, StoreError>;
    /// Set a new password hash and end the user's sessions; false when there is none.
    async fn set_password(&self, email: &str, password_hash: &str) -> Result<bool, StoreError>;
    /// Store a new session.
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError>;
    /// The session with this token hash.
    async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Record a request on a session.
    async fn touch_session(&self, token_hash: &str, now: &str) -> Result<(), StoreError>;
    /// End a session.
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;
    /// Failed sign-ins counted under `keys` whose count started at or after
    /// `window_start`: `(key, failures, first failure)`.
    async fn signin_failures(&self, keys: &[String], window_start: &str) -> Result<Vec<(String, u32, String)>, StoreError>;
    /// Count one failure under each key, atomically: a count that started
    /// before `window_start` starts again at `now`. Counts older than the
    /// window are deleted, so made-up addresses cannot grow the table.
    async fn add_signin_failure(&self, keys: &[String], now: &str, window_start: &str) -> Result<(), StoreError>;
    /// Forget the failures under `key`.
    async fn clear_signin_failures(&self, key: &str) -> Result<(), StoreError>;
}
