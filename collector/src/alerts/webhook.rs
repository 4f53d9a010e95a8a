//! The generic JSON webhook, for PSA and ticketing intake. Each request is
//! signed with HMAC-SHA256 over `TIMESTAMP.BODY`, so a receiver can check
//! it came from this collector and refuse a replay: [`verify`] is what a
//! receiver does, and the tests use it as one.

use super::Event;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// `v1=` and the hex HMAC-SHA256 of `TIMESTAMP.BODY`.
pub const SIGNATURE_HEADER: &str = "plumbline-signature";
/// Unix seconds when it was signed.
pub const TIMESTAMP_HEADER: &str = "plumbline-timestamp";
/// The same for every retry of one delivery, so a receiver can drop repeats.
pub const DELIVERY_HEADER: &str = "plumbline-delivery";
/// A receiver refuses a timestamp further than this from its clock.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// The JSON body.
#[derive(Debug, Serialize)]
pub struct Body<'a> {
    /// Stable across retries.
    pub delivery: &'a str,
    /// The rule that fired.
    pub rule: &'a str,
    /// The tenant.
    pub tenant_id: &'a str,
    /// Its display name.
    pub tenant_name: &'a str,
    /// What happened.
    pub events: &'a [Event],
}

/// The signature header's value.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a receiver refuses a request.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No or bad timestamp.
    #[error("the {TIMESTAMP_HEADER} header is missing or not a number")]
    Timestamp,
    /// Outside the replay window.
    #[error("signed {0} s away from now, outside the {REPLAY_WINDOW_SECS} s window: a replay or a wrong clock")]
    Stale(i64),
    /// The signature does not match.
    #[error("the {SIGNATURE_HEADER} does not match the body; check the shared secret")]
    Signature,
}

/// Check a request as a receiver would, in constant time.
pub fn verify(secret: &str, timestamp: Option<&str>, signature: Option<&str>, body: &[u8], now: i64) -> Result<(), VerifyError> {
    let ts: i64 = timestamp.and_then(|t| t.trim().parse().ok()).ok_or(VerifyError::Timestamp)?;
    if (now - ts).abs() > REPLAY_WINDOW_SECS {
        return Err(VerifyError::Stale(now - ts));
    }
    let given = signature.and_then(|s| s.trim().strip_prefix("v1=")).and_then(|h| hex::decode(h).ok()).ok_or(VerifyError::Signature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(ts.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| VerifyError::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_accepts_the_signed_body_and_refuses_changes_and_replays() {
        let (secret, body) = ("a shared secret of some length", br#"{"rule":"r"}"#.as_slice());
        let sig = sign(secret, 1_700_000_000, body);
        assert_eq!(verify(secret, Some("1700000000"), Some(&sig), body, 1_700_000_100), Ok(()));
        assert_eq!(verify(secret, Some("1700000000"), Some(&sig), br#"{"rule":"x"}"#, 1_700_000_100), Err(VerifyError::Signature));
        assert_eq!(verify("another secret entirely", Some("1700000000"), Some(&sig), body, 1_700_000_100), Err(VerifyError::Signature));
        assert_eq!(verify(secret, Some("1700000000"), Some(&sig), body, 1_700_000_301), Err(VerifyError::Stale(301)));
        assert_eq!(verify(secret, Some("1700000001"), Some(&sig), body, 1_700_000_001), Err(VerifyError::Signature), "the time is signed");
        assert_eq!(verify(secret, None, Some(&sig), body, 0), Err(VerifyError::Timestamp));
    }
}
