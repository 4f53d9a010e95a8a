//! A scan result as the collector receives it: a [`ScanBatch`] naming the
//! agent, tenant, site and sequence number, signed as a DSSE envelope of
//! type [`SCAN_PAYLOAD_TYPE`] (Ed25519 over PAE(type, payload)).
//!
//! Finding ids are already deterministic (sha256 of tenant, check id and
//! connector key), so a re-sent or re-scanned finding names itself the same.

use crate::register::ScanResult;
use plumbline_protocol::batch::{ScanBatch, BATCH_SCHEMA};
use plumbline_protocol::envelope::{self, Envelope, SCAN_PAYLOAD_TYPE};
use plumbline_protocol::identity::AgentKey;

/// The batch for `result`, as agent `agent_id`, numbered `sequence`.
pub fn build(result: &ScanResult, agent_id: &str, sequence: u64) -> ScanBatch {
    ScanBatch {
        schema: BATCH_SCHEMA,
        agent_id: agent_id.to_string(),
        tenant_id: result.tenant_id.clone(),
        site_id: result.site_id.clone(),
        sequence,
        scan_started_at: result.started_at.clone(),
        scan_finished_at: result.finished_at.clone(),
        plugins: result.plugins.clone(),
        connectors: result.connectors.clone(),
        findings: result.findings.clone(),
    }
}

/// Sign `batch` with `key`; the signature's keyid is the key's agent id.
pub fn sign(batch: &ScanBatch, key: &AgentKey) -> Envelope {
    let payload = serde_json::to_vec(batch).expect("a scan batch serializes");
    envelope::sign(SCAN_PAYLOAD_TYPE, &payload, key.signing(), &key.agent_id())
}

/// The envelope as stored in the spool and sent to the collector.
pub fn to_json(envelope: &Envelope) -> Vec<u8> {
    serde_json::to_vec(envelope).expect("an envelope serializes")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::register::{ConnectorEntry, FindingEntry, PluginStatus, Severity};
    use plumbline_protocol::envelope::payload_digest;
    use plumbline_protocol::register::finding_id;

    /// A small scan result with one connector and one finding.
    pub(crate) fn sample_result() -> ScanResult {
        ScanResult {
            tenant_id: "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa".into(),
            site_id: "northwind-hq".into(),
            started_at: "2026-11-25T09:00:00Z".into(),
            finished_at: "2026-11-25T09:00:02Z".into(),
            plugins: vec![PluginStatus {
                name: "exchange-connectors".into(),
                version: Some("0.1.0".into()),
                sha256: Some("ab".repeat(32)),
                status: "ok".into(),
                error: None,
                connectors: 1,
                findings: 1,
                warnings: vec![],
                duration_ms: 12,
            }],
            connectors: vec![ConnectorEntry {
                key: "exchange:inbound:relay".into(),
                category: "exchange-connector".into(),
                name: "Relay".into(),
                scope: "tenant".into(),
                owner: None,
                co_owners: vec![],
                purpose: None,
                auth_type: Some("ip".into()),
                migration_state: None,
                created: None,
                last_change: None,
                attributes: Default::default(),
                plugin: "exchange-connectors".into(),
            }],
            findings: vec![FindingEntry {
                id: finding_id("5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa", "exo.open-relay", "exchange:inbound:relay"),
                check_id: "exo.open-relay".into(),
                connector_key: "exchange:inbound:relay".into(),
                severity: Severity::High,
                title: "Open relay".into(),
                detail: "accepts mail from any IP".into(),
                remediation: "restrict it".into(),
                evidence: Default::default(),
                plugin: "exchange-connectors".into(),
            }],
        }
    }

    #[test]
    fn a_signed_batch_verifies_with_the_protocol_and_round_trips() {
        let key = AgentKey::generate();
        let result = sample_result();
        let batch = build(&result, &key.agent_id(), 7);
        assert_eq!((batch.sequence, batch.schema), (7, BATCH_SCHEMA));
        assert_eq!(batch.tenant_id, result.tenant_id);
        assert_eq!(batch.findings[0].id, result.findings[0].id);

        let json = to_json(&sign(&batch, &key));
        let env = Envelope::from_json(&json).unwrap();
        assert_eq!(env.payload_type, SCAN_PAYLOAD_TYPE);
        assert_eq!(env.claimed_keyid(), Some(key.agent_id().as_str()));
        let payload = env.verify(SCAN_PAYLOAD_TYPE, &key.agent_id(), &key.verifying()).unwrap();
        let back: ScanBatch = serde_json::from_slice(&payload).unwrap();
        assert_eq!(back, batch);

        // Signing is deterministic (Ed25519), so a re-signed batch has the
        // same digest: re-sends deduplicate.
        let again = Envelope::from_json(&to_json(&sign(&batch, &key))).unwrap();
        let p2 = again.verify(SCAN_PAYLOAD_TYPE, &key.agent_id(), &key.verifying()).unwrap();
        assert_eq!(payload_digest(&payload), payload_digest(&p2));

        let other = AgentKey::generate();
        assert!(env.verify(SCAN_PAYLOAD_TYPE, &key.agent_id(), &other.verifying()).is_err());
    }
}
