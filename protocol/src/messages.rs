//! Enrollment and ingest messages between agent and collector.
//!
//! - `POST /v1/enroll` with [`EnrollRequest`] -> [`EnrollResponse`]
//! - `POST /v1/ingest` with a DSSE envelope -> [`IngestResponse`]
//! - any refusal -> an HTTP status and [`ErrorBody`]

use serde::{Deserialize, Serialize};

/// An agent asks to be enrolled.
///
/// Fields it does not know are ignored, unlike in a signed batch: MSPs
/// upgrade agents through the RMM before, or without, the collector, and a
/// newer agent must still enroll. So a field added here must be one whose
/// absence keeps the old behaviour (as `tenant`, `site` and `replaces`
/// do: the agent reads from the answer whether the old agent was revoked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollRequest {
    /// The enrollment token an MSP admin created: single-use for a site,
    /// or a tenant's reusable fleet secret.
    pub token: String,
    /// The agent's Ed25519 public key, raw 32 bytes, standard base64.
    pub public_key: String,
    /// The host's name, for `agent list`.
    pub hostname: String,
    /// The agent this one replaces (`enroll --force`), proved with the old
    /// key: the collector revokes it in the same transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Replacement>,
    /// The site this agent runs at: where a fleet secret enrolls it
    /// (required then); a single-use token's own site wins over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The tenant the agent's config names (its `tenant_id`): the collector
    /// refuses, before the token is used, a token for another tenant, whose
    /// batches it would refuse one by one later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// Proof that the enrolling agent holds the key of the agent it replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    /// The old agent's id.
    pub agent_id: String,
    /// [`crate::identity::sign_rotation`] by the old key over the new
    /// public key, standard base64.
    pub signature: String,
}

/// The collector accepted the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    /// The agent id (derived from the key; the agent checks it matches).
    pub agent_id: String,
    /// The tenant the token was for.
    pub tenant_id: String,
    /// The site the token was for.
    pub site_id: String,
    /// The agent this enrollment revoked, when it replaced one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
    /// The collector's policy key (`ed25519:BASE64`), which the agent pins
    /// to verify the policy it fetches; none from a collector without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_key: Option<String>,
}

/// The collector stored (or already had) a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestResponse {
    /// sha256 of the payload.
    pub digest: String,
    /// `stored`, or `duplicate` when this exact batch was stored before.
    pub status: String,
    /// The batch's sequence number.
    pub sequence: u64,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable code: `unknown_agent`, `revoked_agent`, `bad_signature`,
    /// `wrong_tenant`, `replayed_sequence`, `too_large`, `malformed`, ...
    pub error: String,
    /// For people.
    pub message: String,
    /// On `replayed_sequence`: the last sequence the collector accepted from
    /// this agent, so an agent whose counter went back (a lost or restored
    /// `spool/sequence`) can re-number its batch above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accepted_sequence: Option<u64>,
}

impl ErrorBody {
    /// A refusal with a code and a message for people.
    pub fn new(error: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody { error: error.into(), message: message.into(), last_accepted_sequence: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enroll_request_from_a_newer_agent_is_read_without_its_new_fields() {
        let json = r#"{"token":"t","public_key":"k","hostname":"h","tenant":"x","attestation":{"tpm":"..."}}"#;
        let request: EnrollRequest = serde_json::from_str(json).expect("a field added later is ignored");
        assert_eq!((request.token.as_str(), request.tenant.as_deref(), request.site), ("t", Some("x"), None));
        // What the request must carry is still required.
        let e = serde_json::from_str::<EnrollRequest>(r#"{"token":"t","hostname":"h"}"#).unwrap_err();
        assert!(e.to_string().contains("public_key"), "{e}");
    }
}
