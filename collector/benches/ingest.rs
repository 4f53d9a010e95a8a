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
//! `PLUMBLINE_BENCH_AGENTS` (default 100) sets N. PostgreSQL is the test
//! server (`plumbline_tests::postgres`, fsync off) unless
//! `PLUMBLINE_TEST_PG_URL` names another.
//!
//! `cargo bench -p plumbline-collector --bench ingest`

use ed25519_dalek::Verifier as _;
use plumbline_collector::api::{app, AppState};
use plumbline_collector::serve::Server;
use plumbline_collector::store::{self, NewAgent, Store};
use plumbline_collector::{admin, timestamp, tokens};
use plumbline_protocol::batch::{ScanBatch, BATCH_SCHEMA};
use plumbline_protocol::envelope::{pae, sign, SCAN_PAYLOAD_TYPE};
use plumbline_protocol::identity::{public_key_b64, AgentKey};
use plumbline_protocol::register::{finding_id, ConnectorEntry, FindingEntry, PluginStatus, Severity};
use std::time::{Duration, Instant};

const CONNECTORS: usize = 10;
const FINDINGS: usize = 100;
const BATCHES_PER_AGENT: usize = 20;

struct Row {
    backend: String,
    alerts: bool,
    agents: usize,
    batches: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

fn main() {
    let scale: f64 = std::env::var("PLUMBLINE_BENCH_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let agents: usize = std::env::var("PLUMBLINE_BENCH_AGENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let per_agent = ((BATCHES_PER_AGENT as f64 * scale).round() as usize).max(2);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();

    let sample = batch(&AgentKey::generate(), "tenant", 1);
    let payload = serde_json::to_vec(&sample).unwrap();
    let verify_rate = ed25519_verify_rate(&pae(SCAN_PAYLOAD_TYPE, &payload), Duration::from_secs(2));

    let mut rows = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    for alerts in [false, true] {
        let sqlite_url = format!("sqlite:{}", dir.path().join(format!("bench-{alerts}.db")).display());
        rows.push(rt.block_on(run("sqlite", &sqlite_url, agents, per_agent, alerts)));
    }
    for alerts in [false, true] {
        let pg_url = rt.block_on(async { plumbline_tests::postgres::server().await.fresh_database().await });
        rows.push(rt.block_on(run("postgres", &pg_url, agents, per_agent, alerts)));
    }

    println!();
    println!("ingest over loopback HTTP: {agents} concurrent agents, {CONNECTORS} connectors + {FINDINGS} findings per batch, envelope {} bytes", envelope_size(&sample));
    println!(
        "(client and server share this machine's {} cores)",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!();
    println!(
        "{:<10} {:>7} {:>7} {:>8} {:>10} {:>11} {:>8} {:>8}",
        "backend", "alerts", "agents", "batches", "batches/s", "findings/s", "p50 ms", "p99 ms"
    );
    for row in &rows {
        let rate = row.batches as f64 / row.elapsed.as_secs_f64();
        let mut l = row.latencies.clone();
        l.sort();
        println!(
            "{:<10} {:>7} {:>7} {:>8} {:>10.0} {:>11.0} {:>8.2} {:>8.2}",
            row.backend,
            if row.alerts { "on" } else { "off" },
            row.agents,
            row.batches,
            rate,
            rate * FINDINGS as f64,
            percentile(&l, 0.50).as_secs_f64() * 1e3,
            percentile(&l, 0.99).as_secs_f64() * 1e3,
        );
    }
    println!(
        "{:<10} {:>7} {:>7} {:>8} {:>10.0} {:>11.0}   (ed25519_dalek verify, 1 core, {} byte message: the ceiling)",
        "ed25519",
        "-",
        1,
        "-",
        verify_rate,
        verify_rate * FINDINGS as f64,
        pae(SCAN_PAYLOAD_TYPE, &payload).len()
    );
    println!();
    println!("PostgreSQL here is the test server (fsync off); SQLite runs WAL with synchronous=FULL (every acknowledged batch is on disk).");
    for pair in rows.chunks(2) {
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
        let body = serde_json::to_vec(&sign(SCAN_PAYLOAD_TYPE, &serde_json::to_vec(&b).unwrap(), key.signing(), &key.agent_id())).unwrap();
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn envelope_size(batch: &ScanBatch) -> usize {
    let key = AgentKey::generate();
    serde_json::to_vec(&sign(SCAN_PAYLOAD_TYPE, &serde_json::to_vec(batch).unwrap(), key.signing(), &key.agent_id()))
        .unwrap()
        .len()
}

/// Verifications per second of one signature over `message`, on this thread.
fn ed25519_verify_rate(message: &[u8], time: Duration) -> f64 {
    let key = AgentKey::generate();
    let signature = ed25519_dalek::Signer::sign(key.signing(), message);
    let verifying = key.verifying();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < time {
        for _ in 0..100 {
            verifying.verify(std::hint::black_box(message), &signature).expect("verifies");
        }
        n += 100;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn run(backend: &str, url: &str, agents: usize, per_agent: usize, alerts: bool) -> Row {
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
        let bodies: Vec<Vec<u8>> = (1..=per_agent as u64)
            .map(|seq| {
                let b = batch(&key, &tenant, seq);
                serde_json::to_vec(&sign(
                    SCAN_PAYLOAD_TYPE,
                    &serde_json::to_vec(&b).unwrap(),
                    key.signing(),
                    &key.agent_id(),
                ))
                .unwrap()
            })
            .collect();
        work.push((key, bodies));
    }

    let client = reqwest::Client::builder().pool_max_idle_per_host(agents).build().unwrap();
    // The first batch of each agent warms up connections and caches, untimed.
    for (key, bodies) in &work {
        push(&client, &base, key, bodies[0].clone()).await;
    }
    let start = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(key, bodies)| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(bodies.len());
                for body in bodies.into_iter().skip(1) {
                    let t = Instant::now();
                    push(&client, &base, &key, body).await;
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    let stored = store.counts().await.unwrap().batches as usize;
    assert_eq!(stored, agents * per_agent, "every batch stored");
    let _ = stop.send(());
    let _ = serving.await;
    Row { backend: backend.to_string(), alerts, agents, batches: latencies.len(), elapsed, latencies }
}

/// One delivery as the agent makes it: the request signed, so the collector
/// knows the agent before the body and admits it to its own slots.
async fn push(client: &reqwest::Client, base: &str, key: &AgentKey, body: Vec<u8>) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let auth = plumbline_protocol::agent_auth::authorization(key, "POST", "/v1/ingest", now);
    let res = client.post(format!("{base}/v1/ingest")).header("authorization", auth).body(body).send();
    let res = res.await.expect("push");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    assert!(status.is_success() && text.contains("\"stored\""), "{status}: {text}");
}

async fn enroll(store: &dyn Store, tenant: &str) -> AgentKey {
    admin::add_tenant(store, tenant, None).await.unwrap();
    let issued = admin::create_enroll_token(store, tenant, "site", 1).await.unwrap();
    let key = AgentKey::generate();
    let now = timestamp::now();
    store
        .enroll(
            &tokens::hash(&issued.token),
            NewAgent {
                id: key.agent_id(),
                public_key: public_key_b64(&key.verifying()),
                hostname: "bench".into(),
                enrolled_at: now.clone(),
                replaces: None,
                site_id: None,
            },
            &now,
        )
        .await
        .unwrap();
    key
}

/// A realistic batch: one connector's attribute changes every scan, and
/// findings come and go, so history and lifecycle rows are written too.
fn batch(key: &AgentKey, tenant: &str, seq: u64) -> ScanBatch {
    let connectors: Vec<ConnectorEntry> = (0..CONNECTORS)
        .map(|i| ConnectorEntry {
            key: format!("exchange-connectors/exchange:outbound:{i}"),
            category: "exchange-connector".into(),
            name: format!("Outbound connector {i}"),
            scope: "tenant".into(),
            owner: Some("it@contoso.example".into()),
            co_owners: vec!["ann@contoso.example".into()],
            purpose: None,
            auth_type: Some("certificate".into()),
            migration_state: None,
            created: Some("2024-01-01T00:00:00Z".into()),
            last_change: Some("2025-01-01T00:00:00Z".into()),
            attributes: [
                ("tls_domain".to_string(), format!("mail{i}.contoso.example")),
                (
                    "smart_hosts".to_string(),
                    if i == 0 { format!("relay-{seq}.contoso.example") } else { "relay.contoso.example".into() },
                ),
            ]
            .into(),
            plugin: "exchange-connectors".into(),
        })
        .collect();
    let findings: Vec<FindingEntry> = (0..FINDINGS)
        .map(|i| {
            // Distinct per connector; each scan one check opens and one is
            // resolved on every connector.
            let key = format!("exchange-connectors/exchange:outbound:{}", i % CONNECTORS);
            let check = format!("exo.check-{}", i / CONNECTORS + seq as usize % 3);
            FindingEntry {
                id: finding_id(tenant, &check, &key),
                check_id: check.clone(),
                connector_key: key.clone(),
                severity: Severity::Medium,
                title: format!("{check} on {key}"),
                detail: "TLS is not required for this connector; mail may be delivered in clear text.".into(),
                remediation: "Set RequireTls to true and restrict the smart hosts.".into(),
                evidence: [("RequireTls".to_string(), "False".to_string())].into(),
                plugin: "exchange-connectors".into(),
            }
        })
        .collect();
    ScanBatch {
        schema: BATCH_SCHEMA,
        agent_id: key.agent_id(),
        tenant_id: tenant.into(),
        site_id: "site".into(),
        sequence: seq,
        scan_started_at: "2025-11-25T10:00:00Z".into(),
        scan_finished_at: "2025-11-25T10:00:05Z".into(),
        plugins: vec![PluginStatus {
            name: "exchange-connectors".into(),
            version: Some("0.1.0".into()),
            sha256: Some("ab".repeat(32)),
            status: "ok".into(),
            error: None,
            connectors: CONNECTORS,
            findings: FINDINGS,
            warnings: vec![],
            duration_ms: 1200,
        }],
        connectors,
        findings,
        part: None,
    }
}
