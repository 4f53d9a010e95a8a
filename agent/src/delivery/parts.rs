//! A scan too large for one batch, split into parts, each under
//! `[delivery] max_batch_bytes` once signed.
//!
//! Every part carries all the plugin statuses and a [`BatchPart`] header
//! (`part i of n` of one scan id); the connectors and findings are shared
//! out in order. The collector applies each part as it comes, but decides
//! what disappeared only at the last part, from all the parts together, so
//! a split scan erases nothing a whole one would not. Splitting along
//! plugin boundaries alone would not do: one plugin's report can be over
//! the limit by itself (a tenant with 20,000 flows).

use super::limits;
use plumbline_protocol::batch::{BatchPart, ScanBatch};
use sha2::{Digest, Sha256};

/// `batch` as one batch when its envelope fits in `max_envelope_bytes`,
/// else as parts that each do (a single connector or finding larger than
/// that goes alone, over the limit, and the collector refuses it).
/// `sequence` is left for the spool to give each part.
pub fn split(batch: ScanBatch, max_envelope_bytes: u64) -> Vec<ScanBatch> {
    let whole = payload_len(&batch);
    if envelope_len(whole) <= max_envelope_bytes {
        return vec![batch];
    }
    let scan_id = scan_id(&batch);
    let shell = ScanBatch { connectors: Vec::new(), findings: Vec::new(), ..batch.clone() };
    // The header with the widest numbers it can have, so the estimate holds for every part.
    let widest = Some(BatchPart { scan_id: scan_id.clone(), index: u32::MAX, count: u32::MAX });
    let base = payload_len(&ScanBatch { part: widest, ..shell.clone() });
    let budget = payload_budget(max_envelope_bytes).saturating_sub(base);

    let mut packer = Packer { parts: vec![shell.clone()], used: 0, budget, shell };
    for c in batch.connectors {
        packer.room_for(item_len(&c)).connectors.push(c);
    }
    for f in batch.findings {
        packer.room_for(item_len(&f)).findings.push(f);
    }
    let mut parts = packer.parts;
    let count = parts.len() as u32;
    if count == 1 {
        // Only the estimate's margin was over: one batch still fits.
        let mut one = parts.pop().expect("one part");
        one.part = None;
        return vec![one];
    }
    for (i, p) in parts.iter_mut().enumerate() {
        p.part = Some(BatchPart { scan_id: scan_id.clone(), index: i as u32 + 1, count });
    }
    parts
}

/// Parts filled in order: an entry goes to the last part, or to a new one
/// when it would take the last over the budget.
struct Packer {
    parts: Vec<ScanBatch>,
    used: u64,
    budget: u64,
    shell: ScanBatch,
}

impl Packer {
    fn room_for(&mut self, len: u64) -> &mut ScanBatch {
        let last = self.parts.last().expect("at least one part");
        let empty = last.connectors.is_empty() && last.findings.is_empty();
        if !empty && self.used + len > self.budget {
            self.parts.push(self.shell.clone());
            self.used = 0;
        }
        self.used += len;
        self.parts.last_mut().expect("at least one part")
    }
}

/// The envelope's size for a payload of `payload` bytes: base64 plus the rest.
pub fn envelope_len(payload: u64) -> u64 {
    payload.div_ceil(3) * 4 + limits::ENVELOPE_OVERHEAD_BYTES
}

/// The payload bytes whose envelope is at most `max_envelope_bytes`.
fn payload_budget(max_envelope_bytes: u64) -> u64 {
    max_envelope_bytes.saturating_sub(limits::ENVELOPE_OVERHEAD_BYTES) / 4 * 3
}

fn payload_len(batch: &ScanBatch) -> u64 {
    serde_json::to_vec(batch).expect("a scan batch serializes").len() as u64
}

/// One entry's bytes in the payload, with the comma before it.
fn item_len<T: serde::Serialize>(item: &T) -> u64 {
    serde_json::to_vec(item).expect("register entries serialize").len() as u64 + 1
}

/// The same for every part of one scan and different for every scan: a
/// digest of the whole scan (its times make two scans differ).
fn scan_id(batch: &ScanBatch) -> String {
    let digest = Sha256::digest(serde_json::to_vec(batch).expect("a scan batch serializes"));
    hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::batch::{build, sign, tests::sample_result, to_json};
    use plumbline_protocol::identity::AgentKey;

    fn big_result(n: usize) -> crate::register::ScanResult {
        let mut r = sample_result();
        let (c, f) = (r.connectors[0].clone(), r.findings[0].clone());
        r.connectors = (0..n)
            .map(|i| crate::register::ConnectorEntry { key: format!("exchange-connectors/relay-{i}"), name: "x".repeat(200), ..c.clone() })
            .collect();
        r.findings = (0..n).map(|i| crate::register::FindingEntry { id: format!("f{i}"), ..f.clone() }).collect();
        r
    }

    #[test]
    fn a_scan_that_fits_is_one_batch_as_before() {
        let key = AgentKey::generate();
        let batch = build(&sample_result(), &key.agent_id(), 0);
        assert_eq!(split(batch.clone(), limits::MAX_BATCH_BYTES), vec![batch]);
    }

    #[test]
    fn a_large_scan_is_split_into_signed_parts_under_the_limit_holding_everything_once() {
        let key = AgentKey::generate();
        let batch = build(&big_result(300), &key.agent_id(), 0);
        let max = 20_000;
        assert!(envelope_len(payload_len(&batch)) > 4 * max, "the scan is several limits large");
        let parts = split(batch.clone(), max);
        assert!(parts.len() >= 4, "{} parts", parts.len());
        let scan = parts[0].part.as_ref().unwrap().scan_id.clone();
        for (i, p) in parts.iter().enumerate() {
            let signed = to_json(&sign(&ScanBatch { sequence: 1_000_000 + i as u64, ..p.clone() }, &key));
            assert!(signed.len() as u64 <= max, "part {i} is {} bytes", signed.len());
            let header = p.part.as_ref().unwrap();
            assert_eq!((header.scan_id.as_str(), header.index, header.count), (scan.as_str(), i as u32 + 1, parts.len() as u32));
            assert_eq!(p.plugins, batch.plugins, "every part has every plugin's status");
        }
        let keys: Vec<&str> = parts.iter().flat_map(|p| p.connectors.iter().map(|c| c.key.as_str())).collect();
        assert_eq!(keys, batch.connectors.iter().map(|c| c.key.as_str()).collect::<Vec<_>>());
        let ids: Vec<&str> = parts.iter().flat_map(|p| p.findings.iter().map(|f| f.id.as_str())).collect();
        assert_eq!(ids, batch.findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>());
        // Another scan (another time) has another id.
        let mut later = batch.clone();
        later.scan_finished_at = "2026-11-25T10:00:02Z".into();
        assert_ne!(split(later, max)[0].part.as_ref().unwrap().scan_id, scan);
    }
}
