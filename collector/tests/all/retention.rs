//! Retention: pruning old envelopes and history leaves the register, the
//! review queue and the evidence of each connector's current state as they
//! were; `retention prune` on the command line.

use crate::support::{cli_in, connector, finding, ok, Backend, TestStore};
use plumbline_collector::ingest::ingest;
use plumbline_collector::store::retention::Cutoffs;
use plumbline_collector::store::FindingFilter;
use plumbline_collector::timestamp;
use std::collections::BTreeMap;

/// Everything the register and the console's review show for a tenant.
async fn register(t: &TestStore, tenant: &str) -> String {
    let connectors = t.store.connectors(tenant).await.unwrap();
    let findings = t.store.findings(tenant, FindingFilter::All).await.unwrap();
    let annotations = t.store.annotations(tenant).await.unwrap();
    let queue = t.store.review_queue(tenant).await.unwrap();
    let mut latest = BTreeMap::new();
    for c in t.store.changes(tenant, false, 10_000).await.unwrap().into_iter().rev() {
        latest.insert(c.connector_key.clone(), (c.id, c.kind.clone(), c.batch_digest.clone()));
    }
    format!("{connectors:?}\n{findings:?}\n{annotations:?}\n{queue:?}\n{latest:?}")
}

/// Each finding's latest SIEM event kind.
async fn latest_events(t: &TestStore) -> BTreeMap<String, String> {
    let events = t.store.finding_events(None, 0, 10_000, &timestamp::today()).await.unwrap();
    events.into_iter().map(|e| (format!("{}/{}", e.tenant_id, e.finding.entry.id), format!("{:?}", e.change))).collect()
}

async fn pruning_keeps_the_register_and_the_evidence_of_its_state(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let (c0, c1, c2) = (
        connector("exchange:outbound:a", "exchange-connector", "exo"),
        connector("exchange:outbound:b", "exchange-connector", "exo"),
        connector("exchange:outbound:c", "exchange-connector", "exo"),
    );
    let inbound = connector("exchange:inbound:partner", "exchange-connector", "exo");
    let f1 = finding("contoso", "exo.tls", &c1.key, "exo");
    let all = vec![c0.clone(), c1.clone(), c2.clone(), inbound.clone()];
    let b1 = agent.batch(1, vec![ok("exo")], all, vec![f1.clone()]);
    let mut c0b = c0.clone();
    c0b.name = "Renamed once".into();
    let b2 = agent.batch(2, vec![ok("exo")], vec![c0b.clone(), c1.clone(), c2.clone(), inbound.clone()], vec![f1]);
    let mut c0c = c0b.clone();
    c0c.name = "Renamed twice".into();
    // The inbound one changes, so its creation, awaiting review, is no longer its latest history.
    let mut inbound_b = inbound.clone();
    inbound_b.name = "Partner (renamed)".into();
    // c1 goes (its finding resolves); batch 4 sees the same as batch 3.
    let b3 = agent.batch(3, vec![ok("exo")], vec![c0c.clone(), c2.clone(), inbound_b.clone()], vec![]);
    let b4 = agent.batch(4, vec![ok("exo")], vec![c0c, c2, inbound_b], vec![]);
    let mut digests = Vec::new();
    for b in [&b1, &b2, &b3, &b4] {
        digests.push(ingest(t.dyn_store(), &agent.sign(b)).await.unwrap().digest);
    }
    let before = register(&t, "contoso").await;
    let events_before = latest_events(&t).await;
    let counts_before = t.store.counts().await.unwrap();

    // Nothing is that old yet.
    let recent = Cutoffs {
        envelopes_before: Some(timestamp::shift(&timestamp::now(), -400 * 86_400)),
        history_before: Some(timestamp::shift(&timestamp::now(), -400 * 86_400)),
    };
    assert_eq!(t.store.prune(&recent, false).await.unwrap(), Default::default());

    // Years later, everything is old.
    let later = timestamp::shift(&timestamp::now(), 5 * 365 * 86_400);
    let cutoffs = Cutoffs { envelopes_before: Some(later.clone()), history_before: Some(later) };
    let dry = t.store.prune(&cutoffs, true).await.unwrap();
    assert_eq!(t.store.counts().await.unwrap(), counts_before, "a dry run changes nothing");
    let pruned = t.store.prune(&cutoffs, false).await.unwrap();
    assert_eq!(pruned, dry, "the dry run counted what the prune removed");
    assert!(pruned.history > 0 && pruned.envelopes > 0 && pruned.finding_events > 0, "{pruned:?}");

    assert_eq!(register(&t, "contoso").await, before, "the register, review queue and latest history are kept");
    assert_eq!(latest_events(&t).await, events_before, "each finding's latest SIEM event is kept");
    let queue = t.store.review_queue("contoso").await.unwrap();
    assert!(
        queue.iter().any(|r| r.change.connector_key == inbound.key && r.change.kind == "created"),
        "an undecided review outlives retention though it is not the latest history: {queue:?}"
    );
    let counts = t.store.counts().await.unwrap();
    assert_eq!(counts.changes, counts_before.changes - pruned.history);
    assert_eq!(counts.batches, counts_before.batches, "batch rows stay; only their envelopes go");
    // Batch 2 is neither the agent's latest nor the latest change of any connector.
    assert_eq!(t.store.envelope("contoso", &digests[1]).await.unwrap(), None);
    assert_eq!(pruned.envelopes, 1);
    for kept in [0, 2, 3] {
        assert!(t.store.envelope("contoso", &digests[kept]).await.unwrap().is_some(), "batch {} kept", kept + 1);
    }
    // A second prune finds nothing more, and a re-sent batch is still a duplicate.
    assert_eq!(t.store.prune(&cutoffs, false).await.unwrap(), Default::default());
    let again = ingest(t.dyn_store(), &agent.sign(&b2)).await.unwrap();
    assert_eq!(again.status, "duplicate");
    // The agent delivers on as before.
    let b5 = agent.typical(5, 1);
    ingest(t.dyn_store(), &agent.sign(&b5)).await.unwrap();
}

crate::both_backends!(pruning_keeps_the_register_and_the_evidence_of_its_state);

#[test]
fn retention_prune_counts_per_kind_and_says_when_nothing_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    assert_eq!(cli_in(dir.path(), &["init"]).0, Some(0));
    let config = dir.path().join("collector.toml");
    std::fs::write(&config, format!("data_dir = {data:?}\n")).unwrap();
    let config = config.to_str().unwrap();
    let (code, _, err) = cli_in(dir.path(), &["retention", "prune", "--config", config]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no [retention]") && err.contains("envelopes = \"400d\""), "{err}");

    std::fs::write(config, format!("data_dir = {data:?}\n[retention]\nenvelopes = \"400d\"\n")).unwrap();
    let (code, out, err) = cli_in(dir.path(), &["retention", "prune", "--dry-run", "--config", config]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("would prune (dry run"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("envelopes") && l.contains(" 0 ") && l.contains("before 20")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("history") && l.contains("kept for ever")), "{out}");

    std::fs::write(config, "[retention]\nhistory = \"3 years\"\n").unwrap();
    let (code, _, err) = cli_in(dir.path(), &["retention", "prune", "--config", config]);
    assert_eq!(code, Some(2));
    assert!(err.contains("\"3 years\"") && err.contains("\"3y\""), "{err}");
}
