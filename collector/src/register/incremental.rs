//! Incremental apply: which rows a batch reports exactly as stored, so the
//! store neither parses nor rewrites them.
//!
//! A tenant's rescan mostly reports what it reported before. The store keeps
//! a digest of each row's entry and loads only light rows ([`Light`]) to
//! compare; the rows that differ, and those that may disappear or resolve,
//! are loaded whole and planned as before ([`super::apply`]).
//!
//! An unchanged row keeps its stored `last_seen`: the read side takes the
//! latest of it and the last whole scan ([`covering`]) of its plugin by each
//! agent that still sees it. So a row is unchanged only under a plugin whose
//! report in this batch is whole and fine and not older than that agent's
//! last such scan (history may arrive out of order after an outage): only
//! then is the scan record moved to this batch's time.

use super::apply::ok_plugins;
use super::{Sightings, Unchanged};
use plumbline_protocol::batch::ScanBatch;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// What the comparison needs of a stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Light {
    /// The plugin that reported it.
    pub plugin: String,
    /// The site that last reported it.
    pub site_id: String,
    /// A present connector, or a finding not resolved.
    pub live: bool,
    /// The digest of its entry ([`digest`]); `None` for a row stored before
    /// digests were kept.
    pub digest: Option<String>,
}

/// The digest of an entry as stored: sha256 of its JSON text, in hex.
pub fn digest(json: &str) -> String {
    hex::encode(Sha256::digest(json.as_bytes()))
}

fn digest_of<T: serde::Serialize>(entry: &T) -> String {
    digest(&serde_json::to_string(entry).expect("register types serialise"))
}

/// The plugins of `batch` whose scan record moves to `at`: those whose
/// report is whole and fine, unless the agent's last recorded scan of the
/// plugin (`scans`, by plugin) is later.
pub fn covering(batch: &ScanBatch, at: &str, scans: &HashMap<String, String>) -> HashSet<String> {
    let not_older = |p: &&str| scans.get(*p).is_none_or(|last| last.as_str() <= at);
    ok_plugins(batch).into_iter().filter(not_older).map(String::from).collect()
}

/// Plugins the batch names or reports whose recorded scan is later than
/// `at`: their record steps back to `at`, after the store has written the
/// `last_seen` the later record stood for into the rows (so nothing seen
/// only now is dated by the later scan).
pub fn stepping_back(batch: &ScanBatch, at: &str, scans: &HashMap<String, String>) -> HashSet<String> {
    let named = batch.plugins.iter().map(|p| p.name.as_str());
    let reported = batch.connectors.iter().map(|c| c.plugin.as_str());
    let reported = reported.chain(batch.findings.iter().map(|f| f.plugin.as_str()));
    named.chain(reported).filter(|p| scans.get(*p).is_some_and(|last| last.as_str() > at)).map(String::from).collect()
}

/// The outcome of [`split`].
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// Reported as stored: dropped from the batch.
    pub unchanged: Unchanged,
    /// Stored connectors to load whole: reported differently, or candidates
    /// to disappear.
    pub connectors: Vec<String>,
    /// Stored findings to load whole, the same way.
    pub findings: Vec<String>,
}

/// Drop from `batch` what it reports exactly as stored under a `covering`
/// plugin, and name the stored rows the plan needs whole.
pub fn split(
    batch: &mut Cow<'_, ScanBatch>,
    connectors: &HashMap<String, Light>,
    findings: &HashMap<String, Light>,
    covering: &HashSet<String>,
    sightings: &Sightings,
) -> Split {
    let mut out = Split::default();
    let same = |light: Option<&Light>, plugin: &str, digest: &dyn Fn() -> String| {
        light.is_some_and(|l| {
            l.live && l.site_id == batch.site_id && l.plugin == plugin && covering.contains(plugin)
                && l.digest.as_deref() == Some(digest().as_str())
        })
    };
    // The first report of a key wins, so it alone decides.
    let mut first = HashSet::new();
    for c in &batch.connectors {
        if first.insert(c.key.as_str()) && same(connectors.get(&c.key), &c.plugin, &|| digest_of(c)) {
            out.unchanged.connectors.insert(c.key.clone());
        }
    }
    let mut first = HashSet::new();
    for f in &batch.findings {
        if first.insert(f.id.as_str()) && same(findings.get(&f.id), &f.plugin, &|| digest_of(f)) {
            out.unchanged.findings.insert(f.id.clone());
        }
    }
    let ok = ok_plugins(batch);
    let reported: HashSet<&str> = batch.connectors.iter().map(|c| c.key.as_str()).collect();
    out.connectors = needed(connectors, &reported, &out.unchanged.connectors, &ok, &sightings.mine);
    let reported: HashSet<&str> = batch.findings.iter().map(|f| f.id.as_str()).collect();
    out.findings = needed(findings, &reported, &out.unchanged.findings, &ok, &sightings.findings_mine);
    drop_unchanged(batch, &out.unchanged);
    out
}

/// `batch` less the rows it reports unchanged. A borrowed batch is copied
/// without them rather than copied whole and then cut, and one with no
/// unchanged row is not copied at all.
fn drop_unchanged(batch: &mut Cow<'_, ScanBatch>, unchanged: &Unchanged) {
    if unchanged.connectors.is_empty() && unchanged.findings.is_empty() {
        return;
    }
    let keep_connector = |c: &&plumbline_protocol::register::ConnectorEntry| !unchanged.connectors.contains(&c.key);
    let keep_finding = |f: &&plumbline_protocol::register::FindingEntry| !unchanged.findings.contains(&f.id);
    match batch {
        Cow::Owned(b) => {
            b.connectors.retain(|c| keep_connector(&c));
            b.findings.retain(|f| keep_finding(&f));
        }
        Cow::Borrowed(b) => {
            let b: &ScanBatch = b;
            *batch = Cow::Owned(ScanBatch {
                schema: b.schema,
                agent_id: b.agent_id.clone(),
                tenant_id: b.tenant_id.clone(),
                site_id: b.site_id.clone(),
                sequence: b.sequence,
                scan_started_at: b.scan_started_at.clone(),
                scan_finished_at: b.scan_finished_at.clone(),
                plugins: b.plugins.clone(),
                connectors: b.connectors.iter().filter(keep_connector).cloned().collect(),
                findings: b.findings.iter().filter(keep_finding).cloned().collect(),
                part: b.part.clone(),
            });
        }
    }
}

/// Stored rows reported differently, and those of a plugin that ran fine
/// that the batch no longer reports (still live, or still seen by the
/// batch's agent, whose sighting stops); sorted.
fn needed(
    stored: &HashMap<String, Light>,
    reported: &HashSet<&str>,
    unchanged: &HashSet<String>,
    ok: &HashSet<&str>,
    mine: &HashSet<String>,
) -> Vec<String> {
    let mut out: Vec<String> = stored
        .iter()
        .filter(|(key, l)| {
            if reported.contains(key.as_str()) {
                !unchanged.contains(*key)
            } else {
                ok.contains(l.plugin.as_str()) && (l.live || mine.contains(*key))
            }
        })
        .map(|(key, _)| key.clone())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::apply::tests::{batch, connector, finding};

    fn unchanged(connectors: &[&str], findings: &[&str]) -> Unchanged {
        Unchanged {
            connectors: connectors.iter().map(|s| s.to_string()).collect(),
            findings: findings.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The received batch is borrowed: only what changed is copied out of
    /// it, it stays as received, and nothing unchanged means no copy.
    #[test]
    fn only_the_changed_rows_of_a_received_batch_are_copied() {
        let connectors = vec![connector("p/a", "x", "p"), connector("p/b", "x", "p")];
        let findings = vec![finding("f1", "p/a", "p"), finding("f2", "p/b", "p"), finding("f3", "p/b", "p")];
        let received = batch(vec![], connectors, findings);

        let mut whole = Cow::Borrowed(&received);
        drop_unchanged(&mut whole, &unchanged(&["p/a"], &["f1", "f3"]));
        assert!(matches!(whole, Cow::Owned(_)));
        assert_eq!(whole.connectors.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["p/b"]);
        assert_eq!(whole.findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["f2"]);
        assert_eq!((whole.agent_id.as_str(), whole.sequence), (received.agent_id.as_str(), received.sequence));
        assert_eq!((received.connectors.len(), received.findings.len()), (2, 3), "the received batch is untouched");

        let mut same = Cow::Borrowed(&received);
        drop_unchanged(&mut same, &Unchanged::default());
        assert!(matches!(same, Cow::Borrowed(_)), "nothing unchanged: no copy");

        let mut joined: Cow<'_, ScanBatch> = Cow::Owned(received.clone());
        drop_unchanged(&mut joined, &unchanged(&[], &["f2"]));
        assert_eq!(joined.findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["f1", "f3"]);
    }
}
