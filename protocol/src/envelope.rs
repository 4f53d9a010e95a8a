//! DSSE envelopes (<https://github.com/secure-systems-lab/dsse>).
//!
//! The signature covers PAE(payloadType, payload), so the type cannot be
//! swapped, and a verifier checks it BEFORE parsing the payload: nothing
//! from an unverified body is ever interpreted.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The payload type of a Plumbline scan batch.
pub const SCAN_PAYLOAD_TYPE: &str = "application/vnd.plumbline.scan+json";

/// A DSSE envelope, as JSON on the wire and on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// What the payload is.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The payload, standard base64.
    pub payload: String,
    /// Signatures.
    pub signatures: Vec<Signature>,
}

/// One signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The signer: the agent id.
    pub keyid: String,
    /// Ed25519 signature over PAE, standard base64.
    pub sig: String,
}

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not a DSSE envelope.
    #[error("not a DSSE envelope: {0}")]
    Malformed(String),
    /// Wrong payload type.
    #[error("payload type {0:?} is not {SCAN_PAYLOAD_TYPE}")]
    PayloadType(String),
    /// No signature from the expected key.
    #[error("no signature by {0}")]
    NoSignature(String),
    /// The signature does not verify.
    #[error("bad signature by {0}")]
    BadSignature(String),
}

/// DSSE's pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Sign `payload` as `payload_type` with `key`, naming the signer `keyid`.
pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey, keyid: &str) -> Envelope {
    let sig = key.sign(&pae(payload_type, payload));
    Envelope {
        payload_type: payload_type.to_string(),
        payload: B64.encode(payload),
        signatures: vec![Signature {
            keyid: keyid.to_string(),
            sig: B64.encode(sig.to_bytes()),
        }],
    }
}

impl Envelope {
    /// Parse envelope JSON (the outer layer only; the payload stays opaque).
    pub fn from_json(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))
    }

    /// The signer the envelope claims (the first signature's keyid).
    pub fn claimed_keyid(&self) -> Option<&str> {
        self.signatures.first().map(|s| s.keyid.as_str())
    }

    /// Verify the signature by `keyid` with `key` and the payload type, then
    /// return the payload bytes. Nothing is parsed before this succeeds.
    pub fn verify(&self, expected_type: &str, keyid: &str, key: &VerifyingKey) -> Result<Vec<u8>, EnvelopeError> {
        if self.payload_type != expected_type {
            return Err(EnvelopeError::PayloadType(self.payload_type.clone()));
        }
        let payload = B64
            .decode(&self.payload)
            .map_err(|e| EnvelopeError::Malformed(format!("payload is not base64: {e}")))?;
        let sig = self
            .signatures
            .iter()
            .find(|s| s.keyid == keyid)
            .ok_or_else(|| EnvelopeError::NoSignature(keyid.to_string()))?;
        let sig_bytes = B64
            .decode(&sig.sig)
            .map_err(|_| EnvelopeError::BadSignature(keyid.to_string()))?;
        let sig = ed25519_dalek::Signature::from_slice(&sig_bytes)
            .map_err(|_| EnvelopeError::BadSignature(keyid.to_string()))?;
        // Strict: no malleable signatures, no small-order keys.
        key.verify_strict(&pae(&self.payload_type, &payload), &sig)
            .map_err(|_| EnvelopeError::BadSignature(keyid.to_string()))?;
        Ok(payload)
    }
}

/// The batch digest: sha256 of the signed payload bytes, hex. Re-sends of
/// the same batch have the same digest, whatever the envelope's JSON layout.
pub fn payload_digest(payload: &[u8]) -> String {
    hex::encode(Sha256::digest(payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::AgentKey;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        assert_eq!(pae("http://example.com/HelloWorld", b"hello world"), b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec());
    }

    #[test]
    fn sign_verify_and_every_tamper_is_caught() {
        let k = AgentKey::generate();
        let id = k.agent_id();
        let env = sign(SCAN_PAYLOAD_TYPE, b"{\"a\":1}", k.signing(), &id);
        let json = serde_json::to_vec(&env).unwrap();
        let back = Envelope::from_json(&json).unwrap();
        assert_eq!(back.verify(SCAN_PAYLOAD_TYPE, &id, &k.verifying()).unwrap(), b"{\"a\":1}");

        let mut t = back.clone();
        t.payload = B64.encode(b"{\"a\":2}");
        assert_eq!(t.verify(SCAN_PAYLOAD_TYPE, &id, &k.verifying()), Err(EnvelopeError::BadSignature(id.clone())));
        let mut t = back.clone();
        t.payload_type = "application/json".into();
        assert!(matches!(t.verify(SCAN_PAYLOAD_TYPE, &id, &k.verifying()), Err(EnvelopeError::PayloadType(_))));
        let other = AgentKey::generate();
        let resigned = sign(SCAN_PAYLOAD_TYPE, b"{\"a\":1}", other.signing(), &id);
        assert!(resigned.verify(SCAN_PAYLOAD_TYPE, &id, &k.verifying()).is_err());
        assert!(Envelope::from_json(b"{\"payload\":1}").is_err());
    }
}
