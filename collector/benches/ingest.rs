//! Ingest throughput and latency (not a timed test).
//!
//! N concurrent agents, each in its own tenant, push signed batches (10
//! connectors + 100 findings) one after another over loopback HTTP to an
//! in-process `serve`, for SQLite and for PostgreSQL. Beside it, the raw
//! Ed25519 verify rate on one core: the ceiling no collector can beat.
//!
//! Each backend runs twice, with alert rules off and on (a rule for every
//! finding opened and one for every Exchange connector change, which this
//! workload fires on every batch), to show what queueing alerts in the
//! ingest transaction costs. Then one batch per tenant opens 1,000 findings
//! across 50 tenants, and the dispatcher sends them to a local Workflows
//! stand-in over HTTPS: the requests are counted (one per tenant and rule).
//!
//! `PLUMBLINE_BENCH_SCALE` (default 1) multiplies the batches per agent;
//! `PLUMBLINE_BENCH_AGENTS` (default 100) sets N;
//! `PLUMBLINE_BENCH_BACKENDS` (default `sqlite,postgres`) which backends run,
//! e.g. `sqlite` alone under a profiler. PostgreSQL is the test
//! server (`plumbline_tests::postgres`, fsync off) unless
//! `PLUMBLINE_TEST_PG_URL` names another.
//!
//! `cargo bench -p plumbline-collector --bench ingest`

mod kit;

use kit::{deliver, ed25519_verify_rate, enroll, exchange_batch as batch, percentile, signed, CONNECTORS, FINDINGS};
use plumbline_collector::api::{app, AppState};
use plumbline_collector::serve::Server;
use plumbline_collector::store;
use plumbline_protocol::batch::ScanBatch;
use plumbline_protocol::envelope::{pae, SCAN_PAYLOAD_TYPE};
use plumbline_protocol::identity::AgentKey;
use std::time::{Duration, Instant};

const BATCHES_PER_AGENT: usize = 20;

struct Row {
    backend: String,
    alerts: bool,
    agents: usize,
    /// Batches a second offered in all (open loop), or `None`: each agent
    /// sends its next batch as soon as the last was answered (closed loop).
    offered: Option<f64>,
    batches: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// Issue 12's target: 50,000 findings a second, here in batches of [`FINDINGS`].
const TARGET_FINDINGS_PER_SEC: f64 = 50_000.0;

fn main() {
    let scale: f64 = std::env::var("PLUMBLINE_BENCH_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let agents: usize = std::env::var("PLUMBLINE_BENCH_AGENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let per_agent = ((BATCHES_PER_AGENT as f64 * scale).round() as usize).max(2);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();

    let sample = batch(&AgentKey::generate(), "tenant", 1);
    let payload = serde_json::to_vec(&sample).unwrap();
    let verify_rate = ed25519_verify_rate(&pae(SCAN_PAYLOAD_TYPE, &payload), Duration::from_secs(2));

    let backends = std::env::var("PLUMBLINE_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let backends: Vec<&str> = backends.split(',').map(str::trim).filter(|b| !b.is_empty()).collect();
    assert!(
        !backends.is_empty() && backends.iter().all(|b| ["sqlite", "postgres"].contains(b)),
        "PLUMBLINE_BENCH_BACKENDS lists sqlite and/or postgres, e.g. sqlite,postgres: {backends:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut fresh = 0;
    let mut url = |backend: &str| {
        fresh += 1;
        match backend {
            "sqlite" => format!("sqlite:{}", dir.path().join(format!("bench-{fresh}.db")).display()),
            _ => rt.block_on(async { plumbline_tests::postgres::server().await.fresh_database().await }),
        }
    };
    let mut rows = Vec::new();
    for &backend in &backends {
        for alerts in [false, true] {
            rows.push(rt.block_on(run(backend, &url(backend), agents, per_agent, alerts, None)));
        }
    }
    // Open loop: the agents together offer the target rate, and then 80% of
    // what the closed loop above showed each backend can take. Latency is
    // counted from when a batch was due, so a backlog shows in it.
    let target = TARGET_FINDINGS_PER_SEC / FINDINGS as f64;
    for &backend in &backends {
        let capacity = rows.iter().find(|r| r.backend == backend && !r.alerts).map(|r| r.rate()).unwrap();
        for rate in [target, 0.8 * capacity] {
            rows.push(rt.block_on(run(backend, &url(backend), agents, per_agent, false, Some(rate))));
        }
    }

    println!();
    println!("ingest over loopback HTTP: {agents} concurrent agents, {CONNECTORS} connectors + {FINDINGS} findings per batch, envelope {} bytes", envelope_size(&sample));
    println!(
        "(client and server share this machine's {} cores)",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!();
    println!(
        "{:<10} {:>7} {:>7} {:>9} {:>8} {:>10} {:>11} {:>8} {:>8}",
        "backend", "alerts", "agents", "offered/s", "batches", "batches/s", "findings/s", "p50 ms", "p99 ms"
    );
    for row in &rows {
        let rate = row.rate();
        let mut l = row.latencies.clone();
        l.sort();
        println!(
            "{:<10} {:>7} {:>7} {:>9} {:>8} {:>10.0} {:>11.0} {:>8.2} {:>8.2}",
            row.backend,
            if row.alerts { "on" } else { "off" },
            row.agents,
            row.offered.map_or("as fast".to_string(), |r| format!("{r:.0}")),
            row.batches,
            rate,
            rate * FINDINGS as f64,
            percentile(&l, 0.50).as_secs_f64() * 1e3,
            percentile(&l, 0.99).as_secs_f64() * 1e3,
        );
    }
    println!(
        "{:<10} {:>7} {:>7} {:>9} {:>8} {:>10.0} {:>11.0}   (ed25519_dalek verify, 1 core, {} byte message: the ceiling)",
        "ed25519",
        "-",
        1,
        "-",
        "-",
        verify_rate,
        verify_rate * FINDINGS as f64,
        pae(SCAN_PAYLOAD_TYPE, &payload).len()
    );
    println!();
    println!("PostgreSQL here is the test server (fsync off); SQLite runs WAL with synchronous=FULL (every acknowledged batch is on disk).");
    for pair in rows[..2 * backends.len()].chunks(2) {
        let p99 = |r: &Row| {
            let mut l = r.latencies.clone();
            l.sort();
            percentile(&l, 0.99).as_secs_f64()
        };
        println!("{}: p99 with alerts on / off = {:.2}", pair[0].backend, p99(&pair[1]) / p99(&pair[0]));
    }
    let (requests, rows_sent, took) = rt.block_on(burst(&dir.path().join("burst.db")));
    println!();
    println!("burst: 1,000 findings opened across 50 tenants -> {rows_sent} alerts in {requests} requests (one per tenant and rule), sent in {:.1} s at 4 requests/s", took.as_secs_f64());
}

/// The alert rules both runs share: every opened finding, every Exchange change.
fn rule_set(url: &str) -> plumbline_collector::alerts::RuleSet {
    struct Env(String);
    impl plumbline_collector::alerts::config::Environment for Env {
        fn get(&self, _: &str) -> Option<String> {
            Some(self.0.clone())
        }
    }
    let text = r#"
        [alerts.destinations.noc]
        kind = "teams"
        url_env = "URL"
        [[alerts.rules]]
        name = "findings"
        when = "finding-opened"
        min_severity = "info"
        send_to = ["noc"]
        [[alerts.rules]]
        name = "exchange"
        when = "exchange-connector-changed"
        send_to = ["noc"]
    "#;
    let file = plumbline_collector::config::ConfigFile::parse(text).unwrap();
    let mut set = plumbline_collector::alerts::config::resolve(&file.alerts, &Env(url.into()), &|_| true).unwrap();
    set.gather = Duration::ZERO;
    set
}

/// 50 tenants' batches open 20 findings each; the dispatcher sends them to
/// a local Workflows stand-in. Returns (requests, alerts, time to send).
async fn burst(db: &std::path::Path) -> (usize, usize, Duration) {
    let (cert, key) = plumbline_collector::tls::generate(vec!["127.0.0.1".into()]).unwrap();
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), Some(plumbline_collector::tls::server_config(cert.as_bytes(), key.as_bytes()).unwrap())).await.unwrap();
    let base = format!("https://{}", server.local_addr().unwrap());
    let inbox = std::sync::Arc::new(plumbline_tests::workflows::Inbox::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(plumbline_tests::workflows::router(inbox.clone()), async move { let _ = stopped.await; }));
    let set = rule_set(&format!("{base}/workflows/w/triggers/manual/paths/invoke?sig=x"));
    let store = store::open(&format!("sqlite:{}", db.display())).await.unwrap();
    for t in 0..50 {
        let tenant = format!("burst-{t}");
        let key = enroll(store.as_ref(), &tenant).await;
        let mut b = batch(&key, &tenant, 1);
        b.connectors.clear();
        b.findings.truncate(20);
        let body = signed(&key, &b);
        plumbline_collector::ingest::ingest_alerting(store.as_ref(), &body, &set).await.unwrap();
    }
    let mut d = plumbline_collector::alerts::dispatch::Dispatcher::new(store.clone(), set, Some(cert.as_bytes()), None).unwrap();
    let start = Instant::now();
    let pass = d.pass().await.unwrap();
    let took = start.elapsed();
    let _ = stop.send(());
    assert_eq!(inbox.accepted().len(), pass.sent);
    (pass.sent, pass.rows, took)
}

fn envelope_size(batch: &ScanBatch) -> usize {
    signed(&AgentKey::generate(), batch).len()
}

impl Row {
    fn rate(&self) -> f64 {
        self.batches as f64 / self.elapsed.as_secs_f64()
    }
}

async fn run(backend: &str, url: &str, agents: usize, per_agent: usize, alerts: bool, offered: Option<f64>) -> Row {
    let store = store::open(url).await.unwrap();
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
    let base = format!("http://{}", server.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // Alerts are queued, not sent: this measures ingest (the URL is never called).
    let rules = if alerts { rule_set("https://127.0.0.1:9/never") } else { Default::default() };
    let serving = tokio::spawn(server.run(app(AppState::new(store.clone()).with_alerts(rules)), async {
        let _ = stopped.await;
    }));

    // Enroll, and sign every batch up front: signing is the agent's cost.
    let mut work = Vec::new();
    for i in 0..agents {
        let tenant = format!("bench-{i}");
        let key = enroll(store.as_ref(), &tenant).await;
        let bodies: Vec<Vec<u8>> = (1..=per_agent as u64).map(|seq| signed(&key, &batch(&key, &tenant, seq))).collect();
        work.push((key, bodies));
    }

    let (elapsed, latencies) = deliver(work, &[base], offered).await;
    let stored = store.counts().await.unwrap().batches as usize;
    assert_eq!(stored, agents * per_agent, "every batch stored");
    let _ = stop.send(());
    let _ = serving.await;
    Row { backend: backend.to_string(), alerts, agents, offered, batches: latencies.len(), elapsed, latencies }
}
