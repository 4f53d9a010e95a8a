//! Console and report server time (not a timed test): the fleet page for
//! 500 tenants of 200 connectors each, the first page of one tenant's
//! 20,000-connector register, and the QBR report of a 2,000-connector
//! tenant, each through the real router with a signed-in session, on
//! SQLite. Medians of repeated requests.
//!
//! `cargo bench -p plumbline-collector --bench console`
//! (`PLUMBLINE_BENCH_TENANTS`, default 500, scales the fleet.)

mod kit;

use axum::body::Body;
use axum::http::Request;
use plumbline_collector::accounts::sessions;
use plumbline_collector::accounts::throttle::Throttle;
use plumbline_collector::accounts::{self, Role};
use plumbline_collector::api::{app, AppState};
use plumbline_collector::store::Store;
use plumbline_collector::{ingest, store, timestamp};
use plumbline_protocol::batch::{ScanBatch, BATCH_SCHEMA};
use plumbline_protocol::envelope::{sign, SCAN_PAYLOAD_TYPE};
use plumbline_protocol::register::{finding_id, ConnectorEntry, FindingEntry, PluginStatus, Severity};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const PASSWORD: &str = "bench passphrase, long enough";

fn entry(i: usize) -> ConnectorEntry {
    let category = ["exchange-connector", "power-automate-flow", "incoming-webhook", "workflow"][i % 4];
    ConnectorEntry {
        key: format!("bench/{category}:{i}"),
        category: category.into(),
        name: format!("Connector {i}"),
        scope: "tenant".into(),
        owner: Some(format!("owner{}@client.example", i % 17)),
        co_owners: if i % 3 == 0 { vec![] } else { vec!["ops@client.example".into()] },
        purpose: None,
        auth_type: Some("certificate".into()),
        migration_state: None,
        created: Some("2025-01-01T00:00:00Z".into()),
        last_change: None,
        attributes: [("tls_domain".to_string(), "mail.client.example".to_string())].into(),
        plugin: "bench".into(),
    }
}

async fn tenant_with(store: &dyn Store, id: &str, connectors: usize) {
    let key = kit::enroll_named(store, id, Some(&format!("Tenant {id}")), "hq").await;
    let now = timestamp::now();
    let entries: Vec<ConnectorEntry> = (0..connectors).map(entry).collect();
    let findings: Vec<FindingEntry> = entries
        .iter()
        .step_by(5)
        .map(|c| FindingEntry {
            id: finding_id(id, "bench.check", &c.key),
            check_id: "bench.check".into(),
            connector_key: c.key.clone(),
            severity: if c.key.ends_with('0') { Severity::Critical } else { Severity::Medium },
            title: "A finding".into(),
            detail: "seen".into(),
            remediation: "fix".into(),
            evidence: Default::default(),
            plugin: "bench".into(),
        })
        .collect();
    let plugin = PluginStatus {
        name: "bench".into(),
        version: Some("1".into()),
        sha256: None,
        status: "ok".into(),
        error: None,
        connectors: 0,
        findings: 0,
        warnings: vec![],
        duration_ms: 0,
    };
    let batch = ScanBatch {
        schema: BATCH_SCHEMA,
        agent_id: key.agent_id(),
        tenant_id: id.into(),
        site_id: "hq".into(),
        sequence: 1,
        scan_started_at: now.clone(),
        scan_finished_at: now,
        plugins: vec![plugin],
        connectors: entries,
        findings,
        part: None,
    };
    let payload = serde_json::to_vec(&batch).unwrap();
    let env = serde_json::to_vec(&sign(SCAN_PAYLOAD_TYPE, &payload, key.signing(), &key.agent_id())).unwrap();
    ingest::ingest(store, &env).await.unwrap();
}

async fn median(state: &AppState, cookie: &str, path: &str, runs: usize) -> (Duration, usize) {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..runs {
        let req = Request::get(path).header("cookie", cookie).body(Body::empty()).unwrap();
        let start = Instant::now();
        let resp = app(state.clone()).oneshot(req).await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        times.push(start.elapsed());
        bytes = body.len();
    }
    times.sort();
    (times[times.len() / 2], bytes)
}

fn main() {
    let tenants: usize = std::env::var("PLUMBLINE_BENCH_TENANTS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        // PLUMBLINE_BENCH_DB keeps the database for a look at its query plans.
        let dir = tempfile::tempdir().unwrap();
        let path = std::env::var("PLUMBLINE_BENCH_DB").map(std::path::PathBuf::from).unwrap_or(dir.path().join("bench.db"));
        let _ = std::fs::remove_file(&path);
        let store: Arc<dyn Store> = store::open(&format!("sqlite:{}", path.display())).await.unwrap();
        let load = Instant::now();
        for t in 0..tenants {
            tenant_with(store.as_ref(), &format!("t{t:04}"), 200).await;
        }
        tenant_with(store.as_ref(), "big", 20_000).await;
        tenant_with(store.as_ref(), "qbr", 2_000).await;
        eprintln!("loaded {tenants} x 200 + 20,000 + 2,000 connectors in {:.1} s", load.elapsed().as_secs_f64());
        accounts::add_user(store.as_ref(), "bench@msp.example", Role::MspAdmin, &[], PASSWORD).await.unwrap();
        let (token, _) =
            sessions::sign_in(store.as_ref(), &Throttle::default(), "bench@msp.example", PASSWORD, "bench").await.unwrap();
        let cookie = format!("plumbline_session={token}");
        let state = AppState::new(store.clone());
        let rows = [
            (format!("fleet page, {} tenants", tenants + 2), "/".to_string(), 200.0),
            ("register, 20,000 connectors, first page".into(), "/tenants/big".into(), 300.0),
            ("QBR report, 2,000 connectors, HTML".into(), "/tenants/qbr/report?from=2026-01-01".into(), 1000.0),
        ];
        let mut fleet_alone = Vec::new();
        for _ in 0..9 {
            let start = Instant::now();
            let f = store.fleet(None, &timestamp::today()).await.unwrap();
            fleet_alone.push(start.elapsed());
            assert_eq!(f.len(), tenants + 2);
        }
        fleet_alone.sort();
        println!();
        println!("{:<44} {:>12.1}", "store.fleet() alone, ms", fleet_alone[4].as_secs_f64() * 1000.0);
        println!("{:<44} {:>12} {:>12} {:>10}", "request (SQLite, release, median of 9)", "server ms", "target ms", "bytes");
        for (what, path, target) in rows {
            let (t, bytes) = median(&state, &cookie, &path, 9).await;
            println!("{what:<44} {:>12.1} {:>12.0} {bytes:>10}", t.as_secs_f64() * 1000.0, target);
        }
    });
}
