//! Sign-in sessions: a random token in the cookie, only its sha256 in the
//! store, a CSRF token per session, and expiry when idle or too old.

use super::{password, throttle::Throttle, Role};
use crate::store::accounts::{NewSession, UserRecord};
use crate::store::{Store, StoreError};
use crate::{timestamp, tokens};
use std::time::Duration;

/// Prefix of session tokens.
pub const SESSION_PREFIX: &str = "pls_";
/// Default minutes without a request before a session ends.
pub const DEFAULT_IDLE_MINUTES: i64 = 30;
/// Longest a session lives however busy it is, in minutes (a working day).
pub const MAX_AGE_MINUTES: i64 = 12 * 60;
/// A session's `last_seen_at` is rewritten at most this often, so that
/// reading pages does not turn into a write per request.
pub const TOUCH_EVERY_MINUTES: i64 = 1;

/// When sessions end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Minutes without a request.
    pub idle_minutes: i64,
    /// Minutes since sign-in.
    pub max_age_minutes: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { idle_minutes: DEFAULT_IDLE_MINUTES, max_age_minutes: MAX_AGE_MINUTES }
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user.
    pub user: UserRecord,
    /// Its role.
    pub role: Role,
    /// The token its forms must carry.
    pub csrf_token: String,
    /// The session's stored hash.
    pub token_hash: String,
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Too many failures for this account or address.
    #[error("too many failed sign-ins; try again in {} minutes", .0.as_secs().div_ceil(60))]
    Throttled(Duration),
    /// Wrong address or password, or a disabled account: one answer for all.
    #[error("wrong e-mail address or password")]
    Refused,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Check the credentials (throttled) and start a session. Returns the
/// cookie's token and the session.
pub async fn sign_in(
    store: &dyn Store,
    throttle: &Throttle,
    email: &str,
    password_given: &str,
    address: &str,
) -> Result<(String, SignedIn), SignInError> {
    let email = email.trim().to_lowercase();
    if let Some(wait) = throttle.check(store, &email, address).await? {
        return Err(SignInError::Throttled(wait));
    }
    let user = store.user_by_email(&email).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| password::decoy().to_string());
    let given = password_given.to_string();
    // argon2id takes tens of milliseconds of CPU: off the async workers.
    let matches = tokio::task::spawn_blocking(move || password::verify(&given, &stored))
        .await
        .map_err(|e| StoreError::Backend(format!("password check: {e}")))?;
    let user = match user {
        Some(u) if matches && u.disabled_at.is_none() => u,
        _ => {
            throttle.failed(store, &email, address).await?;
            return Err(SignInError::Refused);
        }
    };
    let role: Role = user.role.parse().map_err(StoreError::Backend)?;
    throttle.succeeded(store, &email).await?;
    let token = tokens::generate(SESSION_PREFIX);
    let token_hash = tokens::hash(&token);
    let csrf_token = tokens::generate("");
    store
        .create_session(NewSession {
            token_hash: token_hash.clone(),
            user_id: user.id,
            csrf_token: csrf_token.clone(),
            created_at: timestamp::now(),
        })
        .await?;
    Ok((token, SignedIn { user, role, csrf_token, token_hash }))
}

/// The session behind a cookie's token, if it is live; an expired one is
/// deleted. A disabled user's session is no session.
pub async fn resume(store: &dyn Store, token: &str, policy: SessionPolicy) -> Result<Option<SignedIn>, StoreError> {
    let token_hash = tokens::hash(token);
    let Some(session) = store.session(&token_hash).await? else { return Ok(None) };
    let expired = session.last_seen_at < timestamp::minutes_ago(policy.idle_minutes)
        || session.created_at < timestamp::minutes_ago(policy.max_age_minutes);
    if expired {
        store.delete_session(&token_hash).await?;
        return Ok(None);
    }
    let Some(user) = store.user(session.user_id).await? else { return Ok(None) };
    if user.disabled_at.is_some() {
        store.delete_session(&token_hash).await?;
        return Ok(None);
    }
    let Ok(role) = user.role.parse::<Role>() else { return Ok(None) };
    if session.last_seen_at < timestamp::minutes_ago(TOUCH_EVERY_MINUTES) {
        store.touch_session(&token_hash, &timestamp::now()).await?;
    }
    Ok(Some(SignedIn { user, role, csrf_token: session.csrf_token, token_hash }))
}

/// End the session behind a cookie's token.
pub async fn sign_out(store: &dyn Store, token: &str) -> Result<(), StoreError> {
    store.delete_session(&tokens::hash(token)).await
}
