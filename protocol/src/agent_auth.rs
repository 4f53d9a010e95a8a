//! How an enrolled agent proves who it is on a request with no body to
//! sign (`GET /v1/policy`, `GET /v1/plugins/{sha256}`): with the key that
//! signs its batches, over DSSE's PAE of the method, the path and the time,
//! in `Authorization: Plumbline-Agent AGENT_ID TIME SIGNATURE`.
//!
//! The time bounds a replay to [`MAX_SKEW_SECS`]; the requests it guards
//! only read, and TLS keeps them from anyone else's eyes.

use crate::envelope::pae;
use crate::identity::{is_agent_id, AgentKey};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer, VerifyingKey};

/// The `Authorization` scheme.
pub const SCHEME: &str = "Plumbline-Agent";

/// What the signature covers is of this type, so that it is never a batch's.
pub const REQUEST_PAYLOAD_TYPE: &str = "application/vnd.plumbline.agent-request";

/// Furthest a request's time may be from the collector's clock: agents'
/// clocks drift, and a longer window only widens a replay.
pub const MAX_SKEW_SECS: i64 = 300;

/// Why a request's `Authorization` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Not this scheme, or not its shape.
    #[error("no `Authorization: {SCHEME} AGENT_ID TIME SIGNATURE`; update the agent")]
    Malformed,
    /// The time is too far from the collector's.
    #[error(
        "the request's time is {0} s from the collector's clock, more than the {MAX_SKEW_SECS} s allowed; set this \
         machine's clock right (NTP)"
    )]
    Skew(i64),
    /// The signature does not verify with the agent's key.
    #[error("the request's signature does not verify with the enrolled key of {0}; enroll this agent again")]
    Signature(String),
}

fn message(method: &str, path: &str, at: i64) -> Vec<u8> {
    pae(REQUEST_PAYLOAD_TYPE, format!("{method} {path}\n{at}").as_bytes())
}

/// The `Authorization` value for `method path` at `at` (seconds since the epoch).
pub fn authorization(key: &AgentKey, method: &str, path: &str, at: i64) -> String {
    let sig = key.signing().sign(&message(method, path, at));
    format!("{SCHEME} {} {at} {}", key.agent_id(), B64.encode(sig.to_bytes()))
}

/// A parsed `Authorization` value, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Who it says it is (shaped like an agent id).
    pub agent_id: String,
    at: i64,
    signature: ed25519_dalek::Signature,
}

impl Claim {
    /// Parse the header's value.
    pub fn parse(value: &str) -> Result<Claim, AuthError> {
        let mut parts = value.split_ascii_whitespace();
        let (Some(scheme), Some(id), Some(at), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        if !scheme.eq_ignore_ascii_case(SCHEME) || !is_agent_id(id) {
            return Err(AuthError::Malformed);
        }
        let at = at.parse::<i64>().map_err(|_| AuthError::Malformed)?;
        let bytes = B64.decode(sig).map_err(|_| AuthError::Malformed)?;
        let signature = ed25519_dalek::Signature::from_slice(&bytes).map_err(|_| AuthError::Malformed)?;
        Ok(Claim { agent_id: id.to_string(), at, signature })
    }

    /// Check the time against `now` and the signature over `method path` with `key`.
    pub fn verify(&self, key: &VerifyingKey, method: &str, path: &str, now: i64) -> Result<(), AuthError> {
        let skew = self.at.saturating_sub(now);
        if skew.abs() > MAX_SKEW_SECS {
            return Err(AuthError::Skew(skew));
        }
        key.verify_strict(&message(method, path, self.at), &self.signature)
            .map_err(|_| AuthError::Signature(self.agent_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_signature_binds_the_agent_the_path_and_the_time() {
        let (k, other) = (AgentKey::generate(), AgentKey::generate());
        let header = authorization(&k, "GET", "/v1/policy", 1000);
        let claim = Claim::parse(&header).unwrap();
        assert_eq!(claim.agent_id, k.agent_id());
        assert_eq!(claim.verify(&k.verifying(), "GET", "/v1/policy", 1100), Ok(()));
        assert!(matches!(claim.verify(&k.verifying(), "GET", "/v1/plugins/x", 1000), Err(AuthError::Signature(_))));
        assert!(matches!(claim.verify(&other.verifying(), "GET", "/v1/policy", 1000), Err(AuthError::Signature(_))));
        assert_eq!(claim.verify(&k.verifying(), "GET", "/v1/policy", 1000 + MAX_SKEW_SECS + 1), Err(AuthError::Skew(-301)));
        for bad in ["", "Bearer x", &header.replace(SCHEME, "Other"), &format!("{header} extra"), &header.replace(' ', "  x ")] {
            assert_eq!(Claim::parse(bad), Err(AuthError::Malformed), "{bad}");
        }
    }
}
