//! What the collector's benches share: enrolling an agent, a realistic
//! Exchange batch, delivering it as the agent does, percentiles, and the raw
//! Ed25519 verify rate every ingest figure is set beside.

// Each bench uses the part it needs.
#![allow(dead_code)]

use ed25519_dalek::Verifier as _;
use plumbline_collector::store::{NewAgent, Store};
use plumbline_collector::{admin, timestamp, tokens};
use plumbline_protocol::batch::{ScanBatch, BATCH_SCHEMA};
use plumbline_protocol::envelope::{sign, SCAN_PAYLOAD_TYPE};
use plumbline_protocol::identity::{public_key_b64, AgentKey};
use plumbline_protocol::register::{finding_id, ConnectorEntry, FindingEntry, PluginStatus, Severity};
use std::time::{Duration, Instant};

/// Connectors in an [`exchange_batch`].
pub const CONNECTORS: usize = 10;
/// Findings in an [`exchange_batch`]: issue 12's "batches of about 100".
pub const FINDINGS: usize = 100;

/// A tenant with one enrolled agent (site `site`); its key.
pub async fn enroll(store: &dyn Store, tenant: &str) -> AgentKey {
    enroll_named(store, tenant, None, "site").await
}

/// A tenant named `name`, with one agent enrolled at `site`; its key.
pub async fn enroll_named(store: &dyn Store, tenant: &str, name: Option<&str>, site: &str) -> AgentKey {
    admin::add_tenant(store, tenant, name).await.unwrap();
    let issued = admin::create_enroll_token(store, tenant, site, 1).await.unwrap();
    let key = AgentKey::generate();
    let now = timestamp::now();
    let agent = NewAgent {
        id: key.agent_id(),
        public_key: public_key_b64(&key.verifying()),
        hostname: "bench".into(),
        enrolled_at: now.clone(),
        replaces: None,
        site_id: None,
    };
    store.enroll(&tokens::hash(&issued.token), agent, &now).await.unwrap();
    key
}

/// `batch` signed by `key`: the envelope's bytes, as the agent sends them.
pub fn signed(key: &AgentKey, batch: &ScanBatch) -> Vec<u8> {
    serde_json::to_vec(&sign(SCAN_PAYLOAD_TYPE, &serde_json::to_vec(batch).unwrap(), key.signing(), &key.agent_id()))
        .unwrap()
}

/// One delivery as the agent makes it: the request signed, so the collector
/// knows the agent before the body and admits it to its own slots. Panics
/// unless the batch is stored.
pub async fn push(client: &reqwest::Client, base: &str, key: &AgentKey, body: Vec<u8>) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let auth = plumbline_protocol::agent_auth::authorization(key, "POST", "/v1/ingest", now);
    let res = client.post(format!("{base}/v1/ingest")).header("authorization", auth).body(body).send();
    let res = res.await.expect("push");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    assert!(status.is_success() && text.contains("\"stored\""), "{status}: {text}");
}

/// What each agent delivers, in order: its key and its signed bodies.
pub type Work = Vec<(AgentKey, Vec<Vec<u8>>)>;

/// Agent `i` delivers its bodies in order to `bases[i % n]`, all agents at
/// once. The first body of each warms up connections and caches, untimed.
/// Closed loop (`offered` is `None`): each next batch as soon as the last
/// was answered. Open loop: batch `k` of agent `i` is due at its slot in an
/// even stream of `offered` a second, agents interleaved, and its latency
/// counts from then, so a backlog shows. Returns the time taken and every
/// timed latency.
pub async fn deliver(work: Work, bases: &[String], offered: Option<f64>) -> (Duration, Vec<Duration>) {
    let agents = work.len();
    let client = reqwest::Client::builder().pool_max_idle_per_host(agents).build().unwrap();
    for (i, (key, bodies)) in work.iter().enumerate() {
        push(&client, &bases[i % bases.len()], key, bodies[0].clone()).await;
    }
    let start = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .enumerate()
        .map(|(i, (key, bodies))| {
            let (client, base) = (client.clone(), bases[i % bases.len()].clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(bodies.len());
                for (k, body) in bodies.into_iter().skip(1).enumerate() {
                    let due = match offered {
                        Some(rate) => start + Duration::from_secs_f64((k * agents + i) as f64 / rate),
                        None => Instant::now(),
                    };
                    tokio::time::sleep_until(due.into()).await;
                    push(&client, &base, &key, body).await;
                    latencies.push(due.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    (start.elapsed(), latencies)
}

/// The `p` quantile of sorted latencies.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Verifications per second of one signature over `message`, on this
/// thread: the ceiling no collector can beat.
pub fn ed25519_verify_rate(message: &[u8], time: Duration) -> f64 {
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

/// A realistic batch: one connector's attribute changes every scan, and on
/// every connector one check opens and one is resolved, so history and
/// lifecycle rows are written too.
pub fn exchange_batch(key: &AgentKey, tenant: &str, seq: u64) -> ScanBatch {
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
            // Distinct per connector; the window of checks moves each scan.
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
