//! A scan split into parts (`ScanBatch::part`): what the register applies
//! for each part.
//!
//! Why the collector reassembles rather than the agent splitting along
//! plugin boundaries: one plugin's report alone can be over the limit (a
//! 20,000-flow tenant is about 20 MiB of one plugin), and "disappeared"
//! compares everything a plugin reported with what it reported before, so
//! it must see the plugin's whole report. So:
//!
//! - a part that is not the last is applied with no disappearance and no
//!   resolution: what it reports is created, changed or reopened at once;
//! - the last part, when every earlier part of its scan (same agent, same
//!   scan id) is stored, is applied as the whole scan, all parts together,
//!   and only then does anything disappear or resolve;
//! - a last part whose earlier parts did not all arrive (one dropped from a
//!   full spool, or refused) is applied like the others: nothing is decided
//!   from an incomplete scan; the next whole scan decides.

use plumbline_protocol::batch::ScanBatch;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Whether `batch` may decide what disappeared: a whole scan may, a part
/// never (the whole scan made of the parts is no longer a part).
pub fn decides_disappearance(batch: &ScanBatch) -> bool {
    batch.part.is_none()
}

/// What to apply for `batch`, given the earlier batches stored under its
/// scan id (any order; for a part that is not the last, or no part, they are
/// not used). The whole scan, when `batch` is the last part and every
/// earlier part is among `earlier`; else `batch` itself.
pub fn whole<'a>(batch: &'a ScanBatch, earlier: Vec<ScanBatch>) -> Cow<'a, ScanBatch> {
    let Some(part) = batch.part.as_ref().filter(|p| p.is_last()) else { return Cow::Borrowed(batch) };
    let mut parts: BTreeMap<u32, ScanBatch> = BTreeMap::new();
    for b in earlier {
        let same = b.part.as_ref().is_some_and(|p| p.scan_id == part.scan_id && p.count == part.count && p.index < part.count);
        if same && b.agent_id == batch.agent_id && b.tenant_id == batch.tenant_id && b.site_id == batch.site_id {
            let index = b.part.as_ref().map_or(0, |p| p.index);
            parts.entry(index).or_insert(b);
        }
    }
    if parts.len() + 1 != part.count as usize || parts.keys().copied().ne(1..part.count) {
        tracing::info!(
            agent = %batch.agent_id,
            scan = %part.scan_id,
            "the last part of a split scan arrived with {} of its {} earlier parts; nothing disappears until a whole scan",
            parts.len(),
            part.count - 1
        );
        return Cow::Borrowed(batch);
    }
    let mut scan = ScanBatch { part: None, connectors: Vec::new(), findings: Vec::new(), ..batch.clone() };
    // The earliest part's start is the scan's start; the plugin statuses are the last part's (every part has them all).
    if let Some(first) = parts.values().next() {
        scan.scan_started_at = first.scan_started_at.clone();
    }
    for p in parts.into_values() {
        scan.connectors.extend(p.connectors);
        scan.findings.extend(p.findings);
    }
    scan.connectors.extend(batch.connectors.iter().cloned());
    scan.findings.extend(batch.findings.iter().cloned());
    Cow::Owned(scan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::apply::tests::{batch, connector};
    use plumbline_protocol::batch::BatchPart;

    fn part(index: u32, count: u32, keys: &[&str]) -> ScanBatch {
        let connectors = keys.iter().map(|k| connector(&format!("wf/{k}"), "c", "wf")).collect();
        ScanBatch {
            sequence: u64::from(index),
            scan_started_at: format!("start-{index}"),
            part: Some(BatchPart { scan_id: "scan-1".into(), index, count }),
            ..batch(vec![], connectors, vec![])
        }
    }

    fn keys(b: &ScanBatch) -> Vec<&str> {
        b.connectors.iter().map(|c| c.key.as_str()).collect()
    }

    #[test]
    fn the_last_part_with_every_earlier_one_is_the_whole_scan() {
        let last = part(3, 3, &["c"]);
        let whole = whole(&last, vec![part(2, 3, &["b"]), part(1, 3, &["a"])]);
        assert!(decides_disappearance(&whole), "the whole scan decides");
        assert_eq!(keys(&whole), ["wf/a", "wf/b", "wf/c"]);
        assert_eq!(whole.scan_started_at, "start-1");
        assert!(!decides_disappearance(&last) && !decides_disappearance(&part(1, 3, &[])), "a part alone never does");
    }

    #[test]
    fn a_missing_or_foreign_part_leaves_the_last_part_alone() {
        let last = part(3, 3, &["c"]);
        assert_eq!(keys(&whole(&last, vec![part(1, 3, &["a"])])), ["wf/c"], "part 2 is missing");
        let mut other_scan = part(2, 3, &["b"]);
        other_scan.part.as_mut().unwrap().scan_id = "scan-0".into();
        assert!(!decides_disappearance(&whole(&last, vec![part(1, 3, &["a"]), other_scan])));
        let mut other_agent = part(2, 3, &["b"]);
        other_agent.agent_id = "agt2".into();
        assert!(!decides_disappearance(&whole(&last, vec![part(1, 3, &["a"]), other_agent])));
        // A part that is not the last is applied as it is.
        let middle = part(2, 3, &["b"]);
        assert_eq!(keys(&whole(&middle, vec![part(1, 3, &["a"])])), ["wf/b"]);
    }
}
