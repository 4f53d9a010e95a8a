//! Re-ingesting an unchanged register (not a timed test).
//!
//! One agent reports 20,000 flows and 400 findings, then reports the same
//! again several times. The first report writes every row; each rescan
//! should cost a handful of row writes (the batch, the agent's sequence,
//! its scan records) and the time of comparing digests, not of parsing and
//! rewriting the register. Measured on the store directly (no HTTP, no
//! signature check), on SQLite and on PostgreSQL (the test server, fsync
//! off, unless `PLUMBLINE_TEST_PG_URL` names another).
//!
//! `PLUMBLINE_BENCH_RESCANS` (default 5) sets the rescans per backend.
//!
//! `cargo bench -p plumbline-collector --bench reingest`

mod kit;

use kit::enroll;
use plumbline_collector::store::{self, IngestOutcome, Store, VerifiedBatch};
use plumbline_collector::timestamp;
use plumbline_protocol::batch::{ScanBatch, BATCH_SCHEMA};
use plumbline_protocol::envelope::{sign, SCAN_PAYLOAD_TYPE};
use plumbline_protocol::identity::AgentKey;
use plumbline_protocol::register::{finding_id, ConnectorEntry, FindingEntry, PluginStatus, Severity};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

const CONNECTORS: usize = 20_000;
const FINDINGS: usize = 400;

fn main() {
    let rescans: u64 = std::env::var("PLUMBLINE_BENCH_RESCANS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite:{}", dir.path().join("reingest.db").display());
    let pg_url = rt.block_on(async { plumbline_tests::postgres::server().await.fresh_database().await });
    println!("re-ingest of an unchanged register: {CONNECTORS} connectors, {FINDINGS} findings, {rescans} rescans");
    let head = ["backend", "first (ms)", "first rows", "rescan med ms", "rescan min ms", "rescan rows"];
    println!("{:<10} {:>14} {:>12} {:>14} {:>14} {:>12}", head[0], head[1], head[2], head[3], head[4], head[5]);
    for (backend, url) in [("sqlite", sqlite_url), ("postgres", pg_url)] {
        let (first, rows) = rt.block_on(run(&url, rescans));
        let (first_took, first_rows) = first;
        let mut took: Vec<Duration> = rows.iter().map(|r| r.0).collect();
        took.sort();
        let written: Vec<u64> = rows.iter().map(|r| r.1).collect();
        println!(
            "{backend:<10} {:>14.1} {first_rows:>12} {:>14.1} {:>14.1} {:>12}",
            ms(first_took),
            ms(took[took.len() / 2]),
            ms(took[0]),
            format!("{}-{}", written.iter().min().unwrap(), written.iter().max().unwrap()),
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The first report's (time, rows written), then each rescan's.
async fn run(url: &str, rescans: u64) -> ((Duration, u64), Vec<(Duration, u64)>) {
    let store = store::open(url).await.unwrap();
    let key = enroll(store.as_ref(), "reingest").await;
    let first = ingest(store.as_ref(), &key, 1).await;
    let mut out = Vec::new();
    for seq in 2..=rescans + 1 {
        out.push(ingest(store.as_ref(), &key, seq).await);
    }
    (first, out)
}

/// Store one report (signed before the clock starts: that is the agent's
/// cost): how long it took and the rows written.
async fn ingest(store: &dyn Store, key: &AgentKey, seq: u64) -> (Duration, u64) {
    let batch = batch(key, "reingest", seq);
    let payload = serde_json::to_vec(&batch).unwrap();
    let envelope = serde_json::to_vec(&sign(SCAN_PAYLOAD_TYPE, &payload, key.signing(), &key.agent_id())).unwrap();
    let vb = VerifiedBatch {
        digest: hex::encode(Sha256::digest(&payload)),
        envelope,
        batch,
        received_at: timestamp::now(),
        alerts: Default::default(),
        egress: None,
    };
    let start = Instant::now();
    let done = store.ingest_counted(vb).await.unwrap();
    let took = start.elapsed();
    assert_eq!(done.outcome, IngestOutcome::Stored);
    (took, done.rows_written)
}

/// The same report every time but for its sequence and scan time.
fn batch(key: &AgentKey, tenant: &str, seq: u64) -> ScanBatch {
    let connectors: Vec<ConnectorEntry> = (0..CONNECTORS)
        .map(|i| ConnectorEntry {
            key: format!("flows/flow:{i}"),
            category: "power-automate-flow".into(),
            name: format!("Flow {i}"),
            scope: "tenant".into(),
            owner: Some(format!("user{}@contoso.example", i % 300)),
            co_owners: vec![],
            purpose: None,
            auth_type: Some("oauth".into()),
            migration_state: None,
            created: Some("2024-01-01T00:00:00Z".into()),
            last_change: Some("2025-01-01T00:00:00Z".into()),
            attributes: [("environment", "Default"), ("state", "Started")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            plugin: "flows".into(),
        })
        .collect();
    let findings: Vec<FindingEntry> = (0..FINDINGS)
        .map(|i| {
            let key = format!("flows/flow:{i}");
            FindingEntry {
                id: finding_id(tenant, "flows.owner-left", &key),
                check_id: "flows.owner-left".into(),
                connector_key: key.clone(),
                severity: Severity::Medium,
                title: format!("The owner of {key} has left"),
                detail: "The flow runs as an account that is disabled.".into(),
                remediation: "Give the flow a new owner.".into(),
                evidence: Default::default(),
                plugin: "flows".into(),
            }
        })
        .collect();
    let now = timestamp::now();
    ScanBatch {
        schema: BATCH_SCHEMA,
        agent_id: key.agent_id(),
        tenant_id: tenant.into(),
        site_id: "site".into(),
        sequence: seq,
        scan_started_at: now.clone(),
        scan_finished_at: now,
        plugins: vec![PluginStatus {
            name: "flows".into(),
            version: Some("1.0.0".into()),
            sha256: Some("00".repeat(32)),
            status: "ok".into(),
            error: None,
            connectors: CONNECTORS,
            findings: FINDINGS,
            warnings: vec![],
            duration_ms: 5,
        }],
        connectors,
        findings,
        part: None,
    }
}
