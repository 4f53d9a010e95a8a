//! Failed sign-ins, counted per account and per address, in this process's
//! memory: a guesser gets a few tries per window, then waits. A collector
//! restart forgets the counts; argon2id keeps each guess slow regardless.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per account in one window.
pub const ACCOUNT_FAILURES: u32 = 5;
/// Failures allowed per client address in one window (an office behind one
/// NAT signs in from one address).
pub const ADDRESS_FAILURES: u32 = 20;
/// The window, and the wait once it is used up.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most keys remembered; the oldest go first, so a flood of made-up
/// addresses cannot grow the map without end.
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

/// The throttle.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl Throttle {
    /// `Err(wait)` when this account or address has used up its tries.
    pub fn check(&self, account: &str, address: &str) -> Result<(), Duration> {
        self.check_at(account, address, Instant::now())
    }

    fn check_at(&self, account: &str, address: &str, now: Instant) -> Result<(), Duration> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for (key, limit) in [(account_key(account), ACCOUNT_FAILURES), (address_key(address), ADDRESS_FAILURES)] {
            if let Some(f) = map.get(&key) {
                let elapsed = now.saturating_duration_since(f.since);
                if f.count >= limit && elapsed < WINDOW {
                    return Err(WINDOW - elapsed);
                }
            }
        }
        Ok(())
    }

    /// Count a failed sign-in.
    pub fn failed(&self, account: &str, address: &str) {
        self.failed_at(account, address, Instant::now());
    }

    fn failed_at(&self, account: &str, address: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, f| now.saturating_duration_since(f.since) < WINDOW);
        }
        for key in [account_key(account), address_key(address)] {
            let f = map.entry(key).or_insert(Failures { count: 0, since: now });
            if now.saturating_duration_since(f.since) >= WINDOW {
                *f = Failures { count: 0, since: now };
            }
            f.count += 1;
        }
    }

    /// A successful sign-in clears the account's count (not the address's).
    pub fn succeeded(&self, account: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&account_key(account));
    }
}

fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_locked_after_its_failures_and_freed_after_the_window() {
        let t = Throttle::default();
        let start = Instant::now();
        for _ in 0..ACCOUNT_FAILURES {
            assert!(t.check_at("a@x.example", "10.0.0.1", start).is_ok());
            t.failed_at("a@x.example", "10.0.0.1", start);
        }
        let wait = t.check_at("a@x.example", "10.0.0.2", start).unwrap_err();
        assert!(wait > Duration::from_secs(60), "{wait:?}");
        assert!(t.check_at("b@x.example", "10.0.0.2", start).is_ok(), "other accounts are not locked");
        assert!(t.check_at("a@x.example", "10.0.0.1", start + WINDOW).is_ok());
    }

    #[test]
    fn an_address_is_locked_across_accounts() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..ADDRESS_FAILURES {
            t.failed_at(&format!("user{i}@x.example"), "10.0.0.9", now);
        }
        assert!(t.check_at("new@x.example", "10.0.0.9", now).is_err());
        assert!(t.check_at("new@x.example", "10.0.0.8", now).is_ok());
        t.succeeded("user0@x.example");
        assert!(t.check_at("new@x.example", "10.0.0.9", now).is_err(), "success does not clear the address");
    }
}
