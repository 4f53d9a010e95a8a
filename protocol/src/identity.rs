//! Agent keys. An agent is its Ed25519 key pair; its id is derived from the
//! public key, so it cannot be claimed without the private key.

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::SigningKey;
/// An Ed25519 public key, as the envelope checks it.
pub use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// An agent's key pair.
pub struct AgentKey {
    key: SigningKey,
}

impl AgentKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).expect("the OS has randomness");
        AgentKey { key: SigningKey::from_bytes(&seed) }
    }

    /// From a PKCS#8 PEM private key.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(|key| AgentKey { key })
            .map_err(|e| KeyError(format!("not an Ed25519 PKCS#8 PEM private key: {e}")))
    }

    /// As PKCS#8 PEM (secret!).
    pub fn to_pem(&self) -> String {
        self.key
            .to_pkcs8_pem(Default::default())
            .expect("Ed25519 keys encode")
            .to_string()
    }

    /// For signing.
    pub fn signing(&self) -> &SigningKey {
        &self.key
    }

    /// The public half.
    pub fn verifying(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// This agent's id.
    pub fn agent_id(&self) -> String {
        agent_id(&self.verifying())
    }
}

/// `agt_` + the first 16 bytes of sha256(public key), hex.
pub fn agent_id(key: &VerifyingKey) -> String {
    let d = Sha256::digest(key.as_bytes());
    format!("agt_{}", hex::encode(&d[..16]))
}

/// Is `id` shaped like an [`agent_id`]? Checked before an id from the wire
/// is looked up, echoed or logged, so a 64 MiB `keyid` goes nowhere.
pub fn is_agent_id(id: &str) -> bool {
    id.len() == 36 && id.starts_with("agt_") && id[4..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What an old key signs to hand over to a new one: a fixed context and the
/// new public key (as enrollment sends it), so the proof cannot be replayed
/// for another key or another purpose.
fn rotation_message(new_public_key_b64: &str) -> Vec<u8> {
    format!("plumbline key rotation v1\n{new_public_key_b64}").into_bytes()
}

/// The old key's hand-over to `new_public_key_b64`, standard base64.
pub fn sign_rotation(old: &AgentKey, new_public_key_b64: &str) -> String {
    use base64::Engine as _;
    use ed25519_dalek::Signer;
    base64::engine::general_purpose::STANDARD.encode(old.signing().sign(&rotation_message(new_public_key_b64)).to_bytes())
}

/// Does `signature_b64` hand over from `old` to `new_public_key_b64`?
pub fn verify_rotation(old: &VerifyingKey, new_public_key_b64: &str, signature_b64: &str) -> bool {
    use base64::Engine as _;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature_b64) else { return false };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&bytes) else { return false };
    old.verify_strict(&rotation_message(new_public_key_b64), &sig).is_ok()
}

/// A public key as SPKI PEM, as `plumbline verify --key` reads it.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(Default::default()).expect("Ed25519 keys encode")
}

/// Read a public key: SPKI PEM, or the raw 32 bytes in standard base64.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let key = parse_any_public_key(text)?;
    // A small-order key verifies signatures anyone can forge.
    if key.is_weak() {
        return Err(KeyError("this is a weak (small-order) Ed25519 key, which anyone could sign for; generate a new one".into()));
    }
    Ok(key)
}

fn parse_any_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let t = text.trim();
    if t.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(t)
            .map_err(|e| KeyError(format!("not an Ed25519 public key PEM: {e}")));
    }
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(t)
        .map_err(|e| KeyError(format!("public key is neither PEM nor base64: {e}")))?;
    let bytes: [u8; 32] = raw
        .try_into()
        .map_err(|_| KeyError("an Ed25519 public key is 32 bytes".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| KeyError(format!("not a valid Ed25519 public key: {e}")))
}

/// The raw public key in standard base64, as enrollment sends it.
pub fn public_key_b64(key: &VerifyingKey) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_proof_names_one_new_key() {
        let (old, new, other) = (AgentKey::generate(), AgentKey::generate(), AgentKey::generate());
        let new_b64 = public_key_b64(&new.verifying());
        let sig = sign_rotation(&old, &new_b64);
        assert!(verify_rotation(&old.verifying(), &new_b64, &sig));
        assert!(!verify_rotation(&old.verifying(), &public_key_b64(&other.verifying()), &sig), "bound to the new key");
        assert!(!verify_rotation(&other.verifying(), &new_b64, &sig), "signed by the old key only");
        assert!(!verify_rotation(&old.verifying(), &new_b64, "not base64!"));
    }

    #[test]
    fn agent_ids_are_recognised() {
        let id = AgentKey::generate().agent_id();
        assert!(is_agent_id(&id), "{id}");
        for bad in ["", "agt_", "agt_XYZ", &format!("{id}0"), &id.to_uppercase(), &id.replace("agt_", "usr_")] {
            assert!(!is_agent_id(bad), "{bad}");
        }
    }

    #[test]
    fn weak_keys_are_refused() {
        use base64::Engine as _;
        // The identity point: small order, so every signature "verifies".
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let b64 = base64::engine::general_purpose::STANDARD.encode(identity);
        let e = parse_public_key(&b64).unwrap_err().to_string();
        assert!(e.contains("weak") && e.contains("generate a new one"), "{e}");
        let good = AgentKey::generate();
        assert!(parse_public_key(&public_key_b64(&good.verifying())).is_ok());
    }

    #[test]
    fn keys_round_trip_and_ids_are_stable() {
        let k = AgentKey::generate();
        let back = AgentKey::from_pem(&k.to_pem()).unwrap();
        assert_eq!(back.agent_id(), k.agent_id());
        assert!(k.agent_id().starts_with("agt_") && k.agent_id().len() == 36);
        assert_eq!(parse_public_key(&public_key_pem(&k.verifying())).unwrap(), k.verifying());
        assert_eq!(parse_public_key(&public_key_b64(&k.verifying())).unwrap(), k.verifying());
        assert!(parse_public_key("AAAA").is_err());
        assert_ne!(AgentKey::generate().agent_id(), k.agent_id());
    }
}
