//! After the faults: every acknowledged batch stored exactly once, and each
//! tenant's register, findings and history what a replay of the stored
//! envelopes into a fresh store makes of them.

use super::delivery::Delivered;
use crate::support::{Backend, TestAgent, TestStore};
use plumbline_collector::admin;
use plumbline_collector::ingest::ingest;
use plumbline_collector::store::{FindingFilter, NewAgent};
use plumbline_collector::tokens;

/// More history rows than any tenant here has.
const ALL_CHANGES: u32 = 1_000_000;

/// Check `store` (what the faulted collector wrote) against what `agents`
/// delivered, replaying into a fresh store of `replay_on`.
pub async fn exactly_once_and_as_replayed(
    store: &TestStore,
    agents: &[TestAgent],
    delivered: &[Vec<Delivered>],
    replay_on: Backend,
) {
    let total: usize = delivered.iter().map(Vec::len).sum();
    assert_eq!(store.store.counts().await.unwrap().batches, total as u64, "no batch lost, none stored twice");
    let mut envelopes = Vec::new();
    for (agent, runs) in agents.iter().zip(delivered) {
        for d in runs {
            let stored = store.store.envelope(&agent.tenant, &d.response.digest).await.unwrap();
            assert_eq!(stored.as_deref(), Some(&d.body[..]), "agent {} batch {} stored as sent", agent.id(), d.sequence);
        }
        let record = store.store.agent(&agent.id()).await.unwrap().unwrap();
        assert_eq!(record.last_sequence, runs.last().map(|d| d.sequence), "agent {}", agent.id());
        envelopes.push((record, runs.iter().map(|d| d.body.clone()).collect::<Vec<_>>()));
    }

    let replay = replay_on.store().await;
    for (record, bodies) in &envelopes {
        replay.tenant(&record.tenant_id).await;
        let issued = admin::create_enroll_token(replay.dyn_store(), &record.tenant_id, &record.site_id, 1).await.unwrap();
        // Enrolled when the original was: history times are bounded by enrollment.
        let agent = NewAgent {
            id: record.id.clone(),
            public_key: record.public_key.clone(),
            hostname: record.hostname.clone(),
            enrolled_at: record.enrolled_at.clone(),
            replaces: None,
            site_id: None,
        };
        replay.store.enroll(&tokens::hash(&issued.token), agent, &record.enrolled_at).await.unwrap();
        for body in bodies {
            assert_eq!(ingest(replay.dyn_store(), body).await.unwrap().status, "stored");
        }
    }

    let mut tenants: Vec<&str> = agents.iter().map(|a| a.tenant.as_str()).collect();
    tenants.dedup();
    for tenant in tenants {
        let (got, want) = (&store.store, &replay.store);
        assert_eq!(got.connectors(tenant).await.unwrap(), want.connectors(tenant).await.unwrap(), "{tenant}'s register");
        let (got_findings, want_findings) = (got.findings(tenant, FindingFilter::All), want.findings(tenant, FindingFilter::All));
        assert_eq!(got_findings.await.unwrap(), want_findings.await.unwrap(), "{tenant}'s findings");
        let history = |changes: Vec<plumbline_protocol::read_api::ChangeRecord>| {
            changes.into_iter().map(|c| plumbline_protocol::read_api::ChangeRecord { id: 0, ..c }).collect::<Vec<_>>()
        };
        let got_history = history(got.changes(tenant, false, ALL_CHANGES).await.unwrap());
        assert!(!got_history.is_empty(), "{tenant} has history");
        assert_eq!(got_history, history(want.changes(tenant, false, ALL_CHANGES).await.unwrap()), "{tenant}'s history");
    }
}

/// How the deliveries went, for the test's output.
pub fn summary(delivered: &[Vec<Delivered>]) -> String {
    let all = delivered.iter().flatten();
    let retried = all.clone().filter(|d| d.attempts > 1).count();
    let duplicates = all.clone().filter(|d| d.response.status == "duplicate").count();
    let attempts: u32 = all.map(|d| d.attempts).sum();
    format!("{retried} deliveries retried ({attempts} attempts in all), {duplicates} answered as duplicates")
}
