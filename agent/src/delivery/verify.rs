//! `plumbline verify FILE --key PUBKEY`: check a stored envelope with no
//! collector, for auditors. The signature over PAE(type, payload) and the
//! payload type are checked BEFORE the payload is parsed; then the payload
//! must be a scan batch that names the key's own agent id as its signer.

use ed25519_dalek::VerifyingKey;
use plumbline_protocol::batch::ScanBatch;
use plumbline_protocol::envelope::{payload_digest, Envelope, EnvelopeError, SCAN_PAYLOAD_TYPE};
use plumbline_protocol::identity::agent_id;

/// A batch whose signature checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The signer's agent id (derived from the key).
    pub agent_id: String,
    /// sha256 of the payload: the collector's batch digest.
    pub digest: String,
    /// The batch.
    pub batch: ScanBatch,
}

/// Why an envelope is not a valid batch from this key.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The envelope or its signature.
    #[error("{0}")]
    Envelope(#[from] EnvelopeError),
    /// Signed correctly, but not a scan batch.
    #[error("the signed payload is not a Plumbline scan batch: {0}")]
    Payload(String),
    /// Signed by this key, but the batch names another agent.
    #[error("the batch names agent {named}, but it is signed by {signer}")]
    Signer {
        /// The agent the payload names.
        named: String,
        /// The key's agent id.
        signer: String,
    },
}

/// Verify envelope JSON `bytes` against `key`.
pub fn verify_envelope(bytes: &[u8], key: &VerifyingKey) -> Result<Verified, VerifyError> {
    let envelope = Envelope::from_json(bytes)?;
    let signer = agent_id(key);
    let payload = envelope.verify(SCAN_PAYLOAD_TYPE, &signer, key)?;
    let batch: ScanBatch = serde_json::from_slice(&payload).map_err(|e| VerifyError::Payload(e.to_string()))?;
    if batch.agent_id != signer {
        return Err(VerifyError::Signer { named: batch.agent_id, signer });
    }
    Ok(Verified { agent_id: signer, digest: payload_digest(&payload), batch })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::batch::{self, tests::sample_result};
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine as _;
    use plumbline_protocol::identity::AgentKey;

    #[test]
    fn valid_tampered_other_key_and_wrong_signer() {
        let key = AgentKey::generate();
        let b = batch::build(&sample_result(), &key.agent_id(), 3);
        let json = batch::to_json(&batch::sign(&b, &key));
        let v = verify_envelope(&json, &key.verifying()).unwrap();
        assert_eq!((v.agent_id.as_str(), v.batch.sequence), (key.agent_id().as_str(), 3));
        assert_eq!(v.digest.len(), 64);

        let mut env = Envelope::from_json(&json).unwrap();
        let tampered = String::from_utf8(B64.decode(&env.payload).unwrap()).unwrap().replace("Open relay", "Fine relay");
        env.payload = B64.encode(tampered);
        let e = verify_envelope(&serde_json::to_vec(&env).unwrap(), &key.verifying()).unwrap_err();
        assert!(e.to_string().contains("bad signature"), "{e}");

        let other = AgentKey::generate();
        let e = verify_envelope(&json, &other.verifying()).unwrap_err();
        assert!(e.to_string().contains("no signature by"), "{e}");

        // Signed by this key but claiming to be another agent.
        let b = batch::build(&sample_result(), "agt_someone_else", 3);
        let json = batch::to_json(&batch::sign(&b, &key));
        assert!(matches!(verify_envelope(&json, &key.verifying()), Err(VerifyError::Signer { .. })));

        assert!(matches!(verify_envelope(b"{}", &key.verifying()), Err(VerifyError::Envelope(_))));
    }
}
