//! Two collectors on one database taking concurrent pushes: every batch is
//! stored exactly once, nothing is lost, sequences hold.

use crate::support::{connector, finding, ok, Backend, TestAgent};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use plumbline_collector::api::{app, AppState};
use plumbline_collector::store::{self, FindingFilter};
use plumbline_protocol::messages::{ErrorBody, IngestResponse};
use std::sync::Arc;
use tower::ServiceExt;

const AGENTS: usize = 4;
const BATCHES: u64 = 12;

async fn push(router: axum::Router, body: Vec<u8>) -> Result<IngestResponse, (StatusCode, String)> {
    let req = Request::builder().method(Method::POST).uri("/v1/ingest").body(Body::from(body)).unwrap();
    let res = router.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    if status == StatusCode::OK {
        Ok(serde_json::from_slice(&bytes).unwrap())
    } else {
        Err((status, serde_json::from_slice::<ErrorBody>(&bytes).map(|e| e.error).unwrap_or_default()))
    }
}

/// Batch `seq` of an agent: connectors come and go, so history and
/// disappearance are exercised under concurrency too.
fn batch(agent: &TestAgent, seq: u64) -> Vec<u8> {
    let connectors: Vec<_> = (0..5)
        .filter(|i| !(seq + i).is_multiple_of(4))
        .map(|i| connector(&format!("exchange:outbound:{}:{i}", agent.site), "exchange-connector", "exo"))
        .collect();
    let findings = connectors.iter().take(2).map(|c| finding(&agent.tenant, "exo.tls", &c.key, "exo")).collect();
    agent.sign(&agent.batch(seq, vec![ok("exo")], connectors, findings))
}

async fn two_collectors_store_each_batch_exactly_once(backend: Backend) {
    let first = backend.store().await;
    let second = store::open(&first.url).await.unwrap();
    let replicas = [app(AppState::new(first.store.clone())), app(AppState::new(second.clone()))];

    // Two tenants, two sites each: the same tenant's register is written
    // through both replicas at once.
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let tenant = if i % 2 == 0 { "contoso" } else { "fabrikam" };
        agents.push(Arc::new(first.agent(tenant, &format!("site{i}")).await));
    }

    let mut tasks = Vec::new();
    for agent in &agents {
        let (agent, replicas) = (agent.clone(), replicas.clone());
        tasks.push(tokio::spawn(async move {
            let mut stored = 0;
            for seq in 1..=BATCHES {
                let body = batch(&agent, seq);
                // The same batch to both replicas at once (an agent retrying
                // after a timeout, through a load balancer).
                let (a, b) = tokio::join!(push(replicas[0].clone(), body.clone()), push(replicas[1].clone(), body));
                let mut statuses = [a.unwrap().status, b.unwrap().status];
                statuses.sort();
                assert_eq!(statuses, ["duplicate".to_string(), "stored".to_string()], "seq {seq}");
                stored += 1;
                // A stale sequence with new content is refused by either.
                if seq > 1 {
                    let mut replay = agent.batch(seq - 1, vec![ok("exo")], vec![], vec![]);
                    replay.scan_finished_at = format!("replay {seq}");
                    let e = push(replicas[(seq % 2) as usize].clone(), agent.sign(&replay)).await.unwrap_err();
                    assert_eq!(e, (StatusCode::CONFLICT, "replayed_sequence".to_string()));
                }
            }
            stored
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, AGENTS as u64 * BATCHES);

    let counts = first.store.counts().await.unwrap();
    assert_eq!(counts.batches, AGENTS as u64 * BATCHES, "every batch stored exactly once");
    for agent in &agents {
        let record = second.agent(&agent.id()).await.unwrap().unwrap();
        assert_eq!(record.last_sequence, Some(BATCHES));
    }
    // The register is what the last batch of each site says.
    for tenant in ["contoso", "fabrikam"] {
        let connectors = first.store.connectors(tenant).await.unwrap();
        assert_eq!(connectors.len(), 5 * AGENTS / 2);
        let present = connectors.iter().filter(|c| c.present).count();
        let expected = (0..5).filter(|i| !(BATCHES + i).is_multiple_of(4)).count() * AGENTS / 2;
        assert_eq!(present, expected, "{tenant}");
        // History is consistent: per connector, kinds alternate sensibly.
        let changes = second.changes(tenant, false, 10_000).await.unwrap();
        for c in &connectors {
            let kinds: Vec<&str> =
                changes.iter().rev().filter(|x| x.connector_key == c.entry.key).map(|x| x.kind.as_str()).collect();
            assert_eq!(kinds.first(), Some(&"created"), "{}", c.entry.key);
            assert_eq!(kinds.iter().filter(|k| **k == "created").count(), 1, "{}: {kinds:?}", c.entry.key);
            for pair in kinds.windows(2) {
                assert!(
                    matches!(pair, ["created" | "reappeared", "disappeared"] | ["disappeared", "reappeared"]),
                    "{}: {kinds:?}",
                    c.entry.key
                );
            }
        }
        let findings = first.store.findings(tenant, FindingFilter::All).await.unwrap();
        assert!(findings.iter().all(|f| ["open", "resolved", "reopened"].contains(&f.status.as_str())));
    }
}

crate::both_backends!(two_collectors_store_each_batch_exactly_once);
