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
        part: None,
    }
}

/// Sign `batch` with `key`; the signature's keyid is the key's agent id.
pub fn sign(batch: &ScanBatch, key: &AgentKey) -> Envelope {
    let payload = serde_json::to_vec(batch).expect("a scan batch serializes");
    envelope::sign(SCAN_PAYLOAD_TYPE, &payload, key.signing(), &key.agent_id())
}

/// A spooled envelope re-signed under a new sequence number. Only a batch
/// this key signed is re-signed: the spool file is checked against the key
/// first, so a file planted in the spool never gets the agent's signature.
pub fn resign<'k>(envelope_json: &[u8], key: &'k AgentKey) -> Result<impl FnOnce(u64) -> Vec<u8> + 'k, String> {
    let env = Envelope::from_json(envelope_json).map_err(|e| e.to_string())?;
    let payload = env
        .verify(SCAN_PAYLOAD_TYPE, &key.agent_id(), &key.verifying())
        .map_err(|e| format!("not signed by this agent's key ({e}), so it is not re-signed"))?;
    let batch: ScanBatch = serde_json::from_slice(&payload).map_err(|e| format!("not a scan batch: {e}"))?;
    Ok(move |sequence| {
        let mut batch = batch;
        batch.sequence = sequence;
        to_json(&sign(&batch, key))
    })
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

    #[test]
    fn resigning_changes_only_the_sequence_and_needs_the_signing_key() {
        let key = AgentKey::generate();
        let batch = build(&sample_result(), &key.agent_id(), 3);
        let json = to_json(&sign(&batch, &key));
        let again = resign(&json, &key).unwrap()(9);
        let env = Envelope::from_json(&again).unwrap();
        let payload = env.verify(SCAN_PAYLOAD_TYPE, &key.agent_id(), &key.verifying()).unwrap();
        let back: ScanBatch = serde_json::from_slice(&payload).unwrap();
        assert_eq!(back.sequence, 9);
        assert_eq!(ScanBatch { sequence: 3, ..back }, batch);

        let stranger = AgentKey::generate();
        let e = resign(&json, &stranger).err().unwrap();
        assert!(e.contains("not signed by this agent's key"), "{e}");
        assert!(resign(b"{}", &key).is_err());
    }
}
