//! Signed policy: what the collector tells one enrolled agent to run (its
//! plugins, their settings and grants, the schedule), as a DSSE envelope
//! signed by the collector's policy key. The agent pins that key at
//! enrollment, checks the signature before reading anything else, then the
//! tenant, the site, the expiry and the serial (never lower than the last
//! one it accepted).

use crate::envelope::{self, Envelope};
use crate::plugin_signature::KEY_PREFIX;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The payload type of a policy envelope: a scan batch signed by an agent
/// can never pass for a policy, nor the other way round.
pub const POLICY_PAYLOAD_TYPE: &str = "application/vnd.plumbline.policy+json";

/// The document's schema version.
pub const POLICY_SCHEMA: u32 = 1;

/// What the collector signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// [`POLICY_SCHEMA`].
    pub schema: u32,
    /// The tenant it is for.
    pub tenant_id: String,
    /// The site it is for (the requesting agent's).
    pub site_id: String,
    /// Raised whenever the tenant's policy changes; an agent refuses a lower
    /// one than it last accepted.
    pub serial: u64,
    /// When signed, RFC 3339 UTC.
    pub issued_at: String,
    /// After this (RFC 3339 UTC) the agent no longer applies it.
    pub expires_at: String,
    /// The policy: `[schedule]` and `[plugins.NAME]` sections, written as in
    /// the agent's own config file (TOML).
    pub content: String,
}

/// Why a policy envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not an envelope, or not a policy one.
    #[error("not a Plumbline policy: {0}")]
    Malformed(String),
    /// Signed by another key than the pinned one, or tampered with.
    #[error(
        "its signature does not verify with the collector's policy key pinned at enrollment ({0}); it was changed \
         on the way or signed by another key. If the collector's policy key was replaced on purpose, enroll this \
         agent again (`plumbline enroll --force`) to pin the new one"
    )]
    Signature(String),
}

/// The collector's policy public key, as agents pin it: `ed25519:BASE64`.
#[derive(Clone, PartialEq, Eq)]
pub struct PolicyKey(VerifyingKey);

impl PolicyKey {
    /// Read `ed25519:BASE64` (the raw 32-byte key, standard base64).
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let bad = |why: &str| PolicyError::Malformed(format!("{text:?} is not a policy key ({why}); enroll again"));
        let b64 = text.trim().strip_prefix(KEY_PREFIX).ok_or_else(|| bad("it does not start with `ed25519:`"))?;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| bad("not base64"))?;
        let raw: [u8; 32] = raw.try_into().map_err(|_| bad("not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|_| bad("not a point on the curve"))?;
        if key.is_weak() {
            return Err(bad("a weak key, which anyone could sign for"));
        }
        Ok(PolicyKey(key))
    }

    /// The key's id, the envelope's `keyid`: `policy-` and the first 8 bytes
    /// of sha256(public key), hex.
    pub fn key_id(&self) -> String {
        format!("policy-{}", hex::encode(&Sha256::digest(self.0.as_bytes())[..8]))
    }

    /// Verify `envelope_json` and answer the document it carries. Nothing
    /// of the payload is read before the signature checks out.
    pub fn open(&self, envelope_json: &[u8]) -> Result<PolicyDocument, PolicyError> {
        let envelope = Envelope::from_json(envelope_json).map_err(|e| PolicyError::Malformed(e.to_string()))?;
        if envelope.payload_type != POLICY_PAYLOAD_TYPE {
            return Err(PolicyError::Malformed(format!("payload type {:?} is not a policy's", envelope.payload_type)));
        }
        let payload = envelope.verify(POLICY_PAYLOAD_TYPE, &self.key_id(), &self.0).map_err(|e| match e {
            envelope::EnvelopeError::Malformed(m) => PolicyError::Malformed(m),
            other => PolicyError::Signature(other.to_string()),
        })?;
        let doc: PolicyDocument =
            serde_json::from_slice(&payload).map_err(|e| PolicyError::Malformed(format!("signed, but not a policy document: {e}")))?;
        if doc.schema != POLICY_SCHEMA {
            return Err(PolicyError::Malformed(format!(
                "policy schema {} is not {POLICY_SCHEMA}, the one this agent reads; update the agent",
                doc.schema
            )));
        }
        Ok(doc)
    }
}

impl fmt::Display for PolicyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PolicyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PolicyKey({})", self.key_id())
    }
}

/// The collector's policy private key (secret!), kept as PKCS#8 PEM.
pub struct PolicySigner(SigningKey);

impl PolicySigner {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).expect("the OS has randomness");
        PolicySigner(SigningKey::from_bytes(&seed))
    }

    /// From PKCS#8 PEM.
    pub fn from_pem(pem: &str) -> Result<Self, PolicyError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(PolicySigner)
            .map_err(|e| PolicyError::Malformed(format!("not an Ed25519 PKCS#8 PEM private key: {e}")))
    }

    /// As PKCS#8 PEM.
    pub fn to_pem(&self) -> String {
        self.0.to_pkcs8_pem(Default::default()).expect("Ed25519 keys encode").to_string()
    }

    /// The public half, which agents pin.
    pub fn public(&self) -> PolicyKey {
        PolicyKey(self.0.verifying_key())
    }

    /// `doc` as envelope JSON, signed.
    pub fn sign(&self, doc: &PolicyDocument) -> Vec<u8> {
        let payload = serde_json::to_vec(doc).expect("a policy document serializes");
        let envelope = envelope::sign(POLICY_PAYLOAD_TYPE, &payload, &self.0, &self.public().key_id());
        serde_json::to_vec(&envelope).expect("an envelope serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> PolicyDocument {
        PolicyDocument {
            schema: POLICY_SCHEMA,
            tenant_id: "t".into(),
            site_id: "hq".into(),
            serial: 3,
            issued_at: "2026-12-01T00:00:00Z".into(),
            expires_at: "2026-12-08T00:00:00Z".into(),
            content: "[schedule]\nevery = \"6h\"\n".into(),
        }
    }

    #[test]
    fn a_signed_policy_opens_with_its_key_only() {
        let signer = PolicySigner::generate();
        let signed = signer.sign(&doc());
        let key = PolicyKey::parse(&signer.public().to_string()).unwrap();
        assert_eq!(key.open(&signed).unwrap(), doc());
        let other = PolicySigner::generate().public();
        assert!(matches!(other.open(&signed), Err(PolicyError::Signature(_))), "another key");
        let mut tampered: serde_json::Value = serde_json::from_slice(&signed).unwrap();
        let mut forged = doc();
        forged.serial = 99;
        tampered["payload"] = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&forged).unwrap()).into();
        let e = key.open(&serde_json::to_vec(&tampered).unwrap()).unwrap_err();
        assert!(matches!(e, PolicyError::Signature(_)) && e.to_string().contains("enroll"), "{e}");
        let again = PolicySigner::from_pem(&signer.to_pem()).unwrap();
        assert_eq!(again.public(), signer.public());
    }

    #[test]
    fn a_scan_envelope_is_not_a_policy() {
        let signer = PolicySigner::generate();
        let e = envelope::sign(envelope::SCAN_PAYLOAD_TYPE, b"{}", &signer.0, &signer.public().key_id());
        let e = signer.public().open(&serde_json::to_vec(&e).unwrap()).unwrap_err();
        assert!(matches!(e, PolicyError::Malformed(_)), "{e}");
    }
}
