//! Failed sign-ins, counted per account and per address in the store: a
//! guesser gets a few tries per window, then waits. The counts live in the
//! database, so every collector replica on it counts the same guesses and
//! a restart forgets nothing; argon2id keeps each guess slow regardless.

use crate::store::{Store, StoreError};
use crate::timestamp;
use std::time::Duration;
use time::OffsetDateTime;

/// Failures allowed per account in one window.
pub const ACCOUNT_FAILURES: u32 = 5;
/// Failures allowed per client address in one window (an office behind one
/// NAT signs in from one address).
pub const ADDRESS_FAILURES: u32 = 20;
/// The window, and the wait once it is used up.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// The throttle's policy; the counts are in the store.
#[derive(Debug, Default, Clone, Copy)]
pub struct Throttle;

impl Throttle {
    /// `Some(wait)` when this account or address has used up its tries.
    pub async fn check(&self, store: &dyn Store, account: &str, address: &str) -> Result<Option<Duration>, StoreError> {
        self.check_at(store, account, address, OffsetDateTime::now_utc()).await
    }

    /// [`Throttle::check`] as of `now`.
    pub async fn check_at(
        &self,
        store: &dyn Store,
        account: &str,
        address: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Duration>, StoreError> {
        let keys = [account_key(account), address_key(address)];
        let counts = store.signin_failures(&keys, &window_start(now)).await?;
        let mut wait = None;
        for (key, failures, since) in counts {
            let limit = if key == keys[0] { ACCOUNT_FAILURES } else { ADDRESS_FAILURES };
            if failures < limit {
                continue;
            }
            let since = OffsetDateTime::parse(&since, &time::format_description::well_known::Rfc3339).unwrap_or(now);
            let left = WINDOW.saturating_sub(Duration::try_from(now - since).unwrap_or_default());
            wait = Some(wait.map_or(left, |w: Duration| w.max(left)).max(Duration::from_secs(1)));
        }
        Ok(wait)
    }

    /// Count a failed sign-in.
    pub async fn failed(&self, store: &dyn Store, account: &str, address: &str) -> Result<(), StoreError> {
        self.failed_at(store, account, address, OffsetDateTime::now_utc()).await
    }

    /// [`Throttle::failed`] as of `now`.
    pub async fn failed_at(
        &self,
        store: &dyn Store,
        account: &str,
        address: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let keys = [account_key(account), address_key(address)];
        store.add_signin_failure(&keys, &timestamp::format(now), &window_start(now)).await
    }

    /// A successful sign-in clears the account's count (not the address's).
    pub async fn succeeded(&self, store: &dyn Store, account: &str) -> Result<(), StoreError> {
        store.clear_signin_failures(&account_key(account)).await
    }
}

fn window_start(now: OffsetDateTime) -> String {
    timestamp::format(now - WINDOW)
}

fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}
