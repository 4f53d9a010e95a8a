//! Incremental ingest: a rescan writes only what changed, and the register
//! reads exactly as the full apply (`register::plan` against the whole
//! stored state) leaves it.

use crate::support::{connector, failed, finding, ok, Backend, TestAgent, TestStore};
use plumbline_collector::register::{self, Current, NewChange, Subject};
use plumbline_collector::store::{FindingFilter, IngestOutcome, VerifiedBatch};
use plumbline_collector::timestamp;
use plumbline_protocol::batch::ScanBatch;
use plumbline_protocol::register::{ConnectorEntry, FindingEntry};
use sha2::{Digest, Sha256};

/// Store `batch`, scanned at `at`, as ingest would after verifying it; the
/// rows its transaction wrote.
async fn store(t: &TestStore, agent: &TestAgent, mut batch: ScanBatch, at: &str) -> u64 {
    batch.scan_started_at = at.into();
    batch.scan_finished_at = at.into();
    let envelope = agent.sign(&batch);
    let vb = VerifiedBatch {
        digest: hex::encode(Sha256::digest(&envelope)),
        envelope,
        batch,
        received_at: timestamp::now(),
        alerts: Default::default(),
        egress: None,
    };
    let done = t.store.ingest_counted(vb).await.unwrap();
    assert_eq!(done.outcome, IngestOutcome::Stored);
    done.rows_written
}

/// Scan times after the agent enrolled and before anything is received.
async fn times(n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        out.push(timestamp::now());
    }
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    out
}

fn flows(n: usize) -> Vec<ConnectorEntry> {
    (0..n).map(|i| connector(&format!("flow:{i}"), "power-automate-flow", "flows")).collect()
}

fn flow_findings(tenant: &str, connectors: &[ConnectorEntry], n: usize) -> Vec<FindingEntry> {
    connectors.iter().take(n).map(|c| finding(tenant, "flows.owner", &c.key, "flows")).collect()
}

async fn an_unchanged_rescan_writes_a_handful_of_rows(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let at = times(3).await;
    let connectors = flows(20_000);
    let findings = flow_findings("contoso", &connectors, 400);
    let first = agent.batch(1, vec![ok("flows")], connectors.clone(), findings.clone());
    assert!(store(&t, &agent, first, &at[0]).await > 40_000, "the first report writes every row");
    let baseline = t.store.counts().await.unwrap().changes;
    assert_eq!(baseline, 20_000, "one created row each");

    let again = agent.batch(2, vec![ok("flows")], connectors.clone(), findings.clone());
    let written = store(&t, &agent, again, &at[1]).await;
    // The batch, the agent's sequence, and its two scan records of the plugin.
    assert!(written <= 6, "an unchanged rescan wrote {written} rows");
    let state = t.store.connectors("contoso").await.unwrap();
    assert_eq!(state.len(), 20_000);
    assert!(state.iter().all(|c| c.present && c.first_seen == at[0] && c.last_seen == at[1]), "{:?}", state[0]);
    let open = t.store.findings("contoso", FindingFilter::Open).await.unwrap();
    assert!(open.len() == 400 && open.iter().all(|f| f.first_seen == at[0] && f.last_seen == at[1]));
    assert_eq!(t.store.counts().await.unwrap().changes, baseline, "an unchanged rescan is no history");

    // One changed, one gone, one added, one finding fixed.
    let mut next = connectors.clone();
    next[0].name = "Renamed flow".into();
    let gone = next.remove(1);
    let added = connector("flow:new", "power-automate-flow", "flows");
    next.push(added.clone());
    let fixed = findings[0].id.clone();
    let still: Vec<FindingEntry> = findings.iter().filter(|f| f.id != fixed).cloned().collect();
    let written = store(&t, &agent, agent.batch(3, vec![ok("flows")], next, still), &at[2]).await;
    assert!(written <= 20, "a batch of four changes wrote {written} rows");
    assert_eq!(t.store.counts().await.unwrap().changes, baseline + 3);
    let changes = t.store.changes("contoso", false, 3).await.unwrap();
    let mut got: Vec<(&str, &str)> = changes.iter().map(|c| (c.connector_key.as_str(), c.kind.as_str())).collect();
    got.sort();
    let mut want =
        vec![(added.key.as_str(), "created"), (connectors[0].key.as_str(), "changed"), (gone.key.as_str(), "disappeared")];
    want.sort();
    assert_eq!(got, want);
    assert!(changes.iter().all(|c| c.at == at[2]));
    let resolved = t.store.findings("contoso", FindingFilter::Resolved).await.unwrap();
    let resolved: Vec<(&str, &str)> = resolved.iter().map(|f| (f.entry.id.as_str(), f.last_seen.as_str())).collect();
    assert_eq!(resolved, [(fixed.as_str(), at[1].as_str())], "resolved, last seen by the batch before");
    let state = t.store.connectors("contoso").await.unwrap();
    let gone_state = state.iter().find(|c| c.entry.key == gone.key).unwrap();
    assert!(!gone_state.present && gone_state.last_seen == at[1], "{gone_state:?}");
    assert!(state.iter().filter(|c| c.present).all(|c| c.last_seen == at[2]));
}

/// The register as the full apply leaves it: every batch planned against
/// the whole state, everything the plan names written.
#[derive(Default)]
struct FullApply {
    current: Current,
    history: Vec<NewChange>,
}

impl FullApply {
    fn apply(&mut self, batch: &ScanBatch, at: &str) {
        let plan = register::plan(&self.current, batch, at);
        for c in plan.connectors {
            self.current.connectors.insert(c.entry.key.clone(), c);
        }
        for f in plan.findings {
            self.current.findings.insert(f.entry.id.clone(), f);
        }
        let s = &mut self.current.sightings;
        for x in plan.sightings {
            let set = if x.subject == Subject::Connector { &mut s.mine } else { &mut s.findings_mine };
            if x.present { set.insert(x.key) } else { set.remove(&x.key) };
        }
        self.history.extend(plan.changes);
    }
}

async fn the_register_reads_as_the_full_apply_leaves_it(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let at = times(6).await;
    let a = flows(12);
    let b: Vec<ConnectorEntry> = (0..5).map(|i| connector(&format!("hook:{i}"), "incoming-webhook", "teams")).collect();
    let fa = flow_findings("contoso", &a, 5);
    let both = || vec![ok("flows"), ok("teams")];
    let mut a3 = a.clone();
    a3[0].owner = Some("someone@contoso.example".into());
    a3.remove(1);
    a3.push(connector("flow:new", "power-automate-flow", "flows"));
    let mut b4 = b.clone();
    b4.remove(1);
    let mut a6 = a3.clone();
    a6.remove(2);
    // (batch, scan time): a rescan, a failed plugin reporting part of its
    // connectors, a scan older than the last delivered after it (an
    // outage's queue), its rescan, and one more disappearance.
    let flows_only = vec![ok("flows"), failed("teams")];
    let batches = [
        (agent.batch(1, both(), [a.clone(), b.clone()].concat(), fa.clone()), &at[0]),
        (agent.batch(2, both(), [a.clone(), b.clone()].concat(), fa.clone()), &at[1]),
        (agent.batch(3, flows_only, [a3.clone(), vec![b[0].clone()]].concat(), fa[1..].to_vec()), &at[4]),
        (agent.batch(4, both(), [a.clone(), b4.clone()].concat(), fa.clone()), &at[2]),
        (agent.batch(5, both(), [a.clone(), b4.clone()].concat(), fa.clone()), &at[3]),
        (agent.batch(6, both(), [a6.clone(), b4.clone()].concat(), fa[2..].to_vec()), &at[5]),
    ];
    let mut full = FullApply::default();
    for (n, (batch, at)) in batches.into_iter().enumerate() {
        full.apply(&batch, at);
        store(&t, &agent, batch, at).await;
        let mut want: Vec<_> = full.current.connectors.values().cloned().collect();
        want.sort_by(|x, y| x.entry.key.cmp(&y.entry.key));
        assert_eq!(t.store.connectors("contoso").await.unwrap(), want, "connectors after batch {}", n + 1);
        let mut want: Vec<_> = full.current.findings.values().cloned().collect();
        want.sort_by(|x, y| x.entry.id.cmp(&y.entry.id));
        let got = t.store.findings("contoso", FindingFilter::All).await.unwrap();
        assert_eq!(got, want, "findings after batch {}", n + 1);
        let history = t.store.changes("contoso", false, 1000).await.unwrap();
        let got: Vec<_> = history.iter().rev().map(|c| (&c.connector_key, c.kind.as_str(), &c.fields, &c.entry)).collect();
        let want: Vec<_> = full.history.iter().map(|c| (&c.connector_key, c.kind.as_str(), &c.fields, &c.entry)).collect();
        assert_eq!(got, want, "history after batch {}", n + 1);
    }
}

crate::both_backends!(an_unchanged_rescan_writes_a_handful_of_rows, the_register_reads_as_the_full_apply_leaves_it);
