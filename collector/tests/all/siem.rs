//! The SIEM export: findings as OCSF over `GET /v1/findings.ocsf`, paged by
//! a cursor that never skips nor repeats an event, each line valid against
//! the published OCSF 1.4.0 schema.

use crate::api::{call, router};
use crate::support::{connector, finding, ok, Backend, TestAgent, TestStore};
use axum::http::{Method, StatusCode};
use axum::Router;
use plumbline_collector::admin;
use plumbline_collector::store::console::Acceptance;
use plumbline_protocol::batch::ScanBatch;
use plumbline_protocol::ocsf::Change;
use plumbline_protocol::register::{ConnectorEntry, FindingEntry};
use serde_json::Value;
use std::collections::HashSet;

/// One page: its lines, the next cursor and whether more wait.
async fn page(r: &Router, path: &str, token: &str, after: i64, limit: u32) -> (Vec<Value>, i64, bool) {
    let a = call(r, Method::GET, &format!("{path}?after={after}&limit={limit}"), Some(token), "").await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.headers["content-type"], "application/x-ndjson");
    let next: i64 = a.headers["plumbline-next-cursor"].to_str().unwrap().parse().unwrap();
    let more = a.headers["plumbline-more"] == "true";
    let schema = plumbline_tests::schemas::ocsf();
    let lines: Vec<Value> = std::str::from_utf8(&a.body)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(plumbline_tests::schemas::errors(&schema, &v), Vec::<String>::new(), "{l}");
            v
        })
        .collect();
    if let Some(last) = lines.last() {
        assert_eq!(last["metadata"]["uid"], next.to_string(), "the cursor is the last line's metadata.uid");
    } else {
        assert_eq!(next, after, "an empty page leaves the cursor where it was");
    }
    (lines, next, more)
}

/// Every event after `after`, page by page; and the cursor after them.
async fn drain(r: &Router, path: &str, token: &str, mut after: i64, limit: u32) -> (Vec<Value>, i64) {
    let mut all = Vec::new();
    loop {
        let (lines, next, more) = page(r, path, token, after, limit).await;
        assert!(lines.len() <= limit as usize);
        assert_eq!(more, lines.len() == limit as usize && more, "more only on a full page");
        all.extend(lines);
        after = next;
        if !more {
            return (all, after);
        }
    }
}

fn id(v: &Value) -> i64 {
    v["metadata"]["sequence"].as_i64().unwrap()
}

/// `(event_code, finding uid)` of each line.
fn what(lines: &[Value]) -> Vec<(String, String)> {
    lines
        .iter()
        .map(|v| (v["metadata"]["event_code"].as_str().unwrap().to_string(), v["finding_info"]["uid"].as_str().unwrap().to_string()))
        .collect()
}

async fn ingest(r: &Router, agent: &TestAgent, batch: &ScanBatch) {
    let a = call(r, Method::POST, "/v1/ingest", None, agent.sign(batch)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
}

fn accept(until: &str) -> Acceptance {
    Acceptance {
        rationale: "the copier cannot do TLS until January".into(),
        approver: "Dr. Reyes".into(),
        expires_on: until.into(),
        accepted_by: "eng@msp.example".into(),
        accepted_at: plumbline_collector::timestamp::now(),
    }
}

struct Tenant {
    agent: TestAgent,
    connectors: Vec<ConnectorEntry>,
}

impl Tenant {
    async fn new(t: &TestStore, tenant: &str, n: usize) -> Tenant {
        let connectors = (0..n).map(|i| connector(&format!("exchange:inbound:{i}"), "exchange-connector", "exo")).collect();
        Tenant { agent: t.agent(tenant, "hq").await, connectors }
    }

    /// `exo.tls` on the connectors numbered `tls`, `exo.auth` on those in `auth`.
    fn findings(&self, tls: &[usize], auth: &[usize]) -> Vec<FindingEntry> {
        let on = |check: &str, i: &usize| finding(&self.agent.tenant, check, &self.connectors[*i].key, "exo");
        tls.iter().map(|i| on("exo.tls", i)).chain(auth.iter().map(|i| on("exo.auth", i))).collect()
    }

    fn batch(&self, sequence: u64, findings: Vec<FindingEntry>) -> ScanBatch {
        self.agent.batch(sequence, vec![ok("exo")], self.connectors.clone(), findings)
    }
}

async fn pages_never_skip_nor_repeat_an_event(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let token = admin::create_api_token(t.dyn_store(), None, None).await.unwrap();
    let feed = "/v1/findings.ocsf";
    let c = Tenant::new(&t, "contoso", 5).await;
    let f = c.findings(&[0, 1, 2, 3, 4], &[]);
    ingest(&r, &c.agent, &c.batch(1, f.clone())).await;

    // Five opened, in pages of two.
    let (first, next, more) = page(&r, feed, &token, 0, 2).await;
    assert_eq!((first.len(), more), (2, true));
    let (rest, mut cursor) = drain(&r, feed, &token, next, 2).await;
    let opened: Vec<Value> = first.into_iter().chain(rest).collect();
    assert_eq!(what(&opened), f.iter().map(|f| ("opened".to_string(), f.id.clone())).collect::<Vec<_>>());
    let o = &opened[0];
    assert_eq!((o["class_uid"].as_u64(), o["type_uid"].as_u64(), o["status"].as_str()), (Some(2003), Some(200301), Some("New")));
    assert_eq!((o["severity_id"].as_u64(), o["metadata"]["tenant_uid"].as_str()), (Some(4), Some("contoso")));
    assert_eq!(o["cloud"]["account"]["name"], "contoso Ltd");
    assert_eq!(o["resources"][0]["name"], format!("Connector {}", c.connectors[0].key));
    assert_eq!(o["remediation"]["desc"], "fix it");
    assert_eq!(page(&r, feed, &token, cursor, 2).await.0.len(), 0, "nothing new: an empty page");

    // A new ingest between polls: two resolved, one opened, and nothing for
    // the three that are still there.
    let g = c.findings(&[], &[0]);
    ingest(&r, &c.agent, &c.batch(2, [c.findings(&[2, 3, 4], &[]), g.clone()].concat())).await;
    let (second, after_second) = drain(&r, feed, &token, cursor, 2).await;
    let mut got = what(&second);
    got.sort();
    let mut want = vec![("resolved".to_string(), f[0].id.clone()), ("resolved".into(), f[1].id.clone()), ("opened".into(), g[0].id.clone())];
    want.sort();
    assert_eq!(got, want);
    let resolved = second.iter().find(|v| v["metadata"]["event_code"] == "resolved").unwrap();
    assert_eq!((resolved["type_uid"].as_u64(), resolved["status_id"].as_u64()), (Some(200303), Some(4)));
    assert_eq!(resolved["compliance"]["status"], "Pass");
    cursor = after_second;

    // Back again; then accepted as a risk; then a rescan changes nothing.
    ingest(&r, &c.agent, &c.batch(3, [c.findings(&[0, 2, 3, 4], &[]), g.clone()].concat())).await;
    assert!(t.store.accept_risk("contoso", &f[2].id, accept("2098-12-31")).await.unwrap());
    ingest(&r, &c.agent, &c.batch(4, [c.findings(&[0, 2, 3, 4], &[]), g.clone()].concat())).await;
    let (third, after_third) = drain(&r, feed, &token, cursor, 2).await;
    assert_eq!(what(&third), [("reopened".to_string(), f[0].id.clone()), ("accepted".into(), f[2].id.clone())]);
    assert_eq!((third[0]["type_uid"].as_u64(), third[0]["unmapped"]["reopened_count"].as_u64()), (Some(200302), Some(1)));
    assert_eq!((third[1]["status"].as_str(), third[1]["status_detail"].as_str()), (Some("Suppressed"), Some("risk accepted until 2098-12-31")));

    // The accepted one resolved: Resolved wins.
    ingest(&r, &c.agent, &c.batch(5, [c.findings(&[0, 3, 4], &[]), g].concat())).await;
    let (fourth, _) = drain(&r, feed, &token, after_third, 2).await;
    assert_eq!(what(&fourth), [("resolved".to_string(), f[2].id.clone())]);
    assert_eq!(fourth[0]["status"], "Resolved");

    // Read again from the start, in one page: the same events, once each, in order.
    let (all, _) = drain(&r, feed, &token, 0, 1000).await;
    let polled: Vec<i64> = [opened, second, third, fourth].iter().flatten().map(id).collect();
    let mut sorted = polled.clone();
    sorted.sort();
    assert_eq!(polled, sorted, "ids increase from page to page");
    assert_eq!(all.iter().map(id).collect::<Vec<_>>(), polled);
    assert_eq!(all.iter().map(id).collect::<HashSet<_>>().len(), all.len());
}

async fn a_tenant_token_sees_only_its_tenant(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let c = Tenant::new(&t, "contoso", 3).await;
    let f = Tenant::new(&t, "fabrikam", 2).await;
    ingest(&r, &c.agent, &c.batch(1, c.findings(&[0, 1], &[]))).await;
    ingest(&r, &f.agent, &f.batch(1, f.findings(&[0, 1], &[]))).await;
    ingest(&r, &c.agent, &c.batch(2, c.findings(&[0, 1, 2], &[]))).await;
    let contoso = admin::create_api_token(t.dyn_store(), Some("contoso"), None).await.unwrap();
    let all = admin::create_api_token(t.dyn_store(), None, None).await.unwrap();

    let tenants = |lines: &[Value]| lines.iter().map(|v| v["metadata"]["tenant_uid"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let (mine, _) = drain(&r, "/v1/findings.ocsf", &contoso, 0, 2).await;
    assert_eq!(tenants(&mine), ["contoso"; 3]);
    let (fleet, _) = drain(&r, "/v1/findings.ocsf", &all, 0, 1000).await;
    assert_eq!(tenants(&fleet), ["contoso", "contoso", "fabrikam", "fabrikam", "contoso"]);
    let (one, _) = drain(&r, "/v1/tenants/contoso/findings.ocsf", &all, 0, 1000).await;
    assert_eq!(what(&one), what(&mine));

    // Another tenant's feed answers as one that does not exist.
    let hidden = call(&r, Method::GET, "/v1/tenants/fabrikam/findings.ocsf", Some(&contoso), "").await;
    let missing = call(&r, Method::GET, "/v1/tenants/nobody/findings.ocsf", Some(&contoso), "").await;
    assert_eq!(hidden.error(), (StatusCode::NOT_FOUND, "not_found".into()));
    assert_eq!(missing.error(), hidden.error());
    assert!(!String::from_utf8_lossy(&hidden.body).contains("\"class_uid\""));
    assert_eq!(call(&r, Method::GET, "/v1/findings.ocsf", None, "").await.status, StatusCode::UNAUTHORIZED);

    // A cursor that is none, and a page size out of range, say what to send.
    for bad in ["after=yesterday", "after=-1", "limit=0", "limit=1001", "since=1"] {
        let a = call(&r, Method::GET, &format!("/v1/findings.ocsf?{bad}"), Some(&all), "").await;
        assert_eq!(a.error(), (StatusCode::BAD_REQUEST, "malformed".into()), "{bad}");
    }
    let a = call(&r, Method::GET, "/v1/findings.ocsf?after=x", Some(&all), "").await;
    let message = a.json::<plumbline_protocol::messages::ErrorBody>().message;
    assert!(message.contains("Plumbline-Next-Cursor") && message.contains("leave it out"), "{message}");
}

/// An accepted risk that runs out is an event once, the first time the feed
/// is read after it did; none for a finding resolved meanwhile.
async fn an_expired_acceptance_is_an_event_once(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let c = Tenant::new(&t, "contoso", 2).await;
    let f = c.findings(&[0, 1], &[]);
    ingest(&r, &c.agent, &c.batch(1, f.clone())).await;
    let s = t.dyn_store();
    assert!(s.accept_risk("contoso", &f[0].id, accept("2098-12-31")).await.unwrap());
    assert!(s.accept_risk("contoso", &f[1].id, accept("2098-12-31")).await.unwrap());
    ingest(&r, &c.agent, &c.batch(2, vec![f[0].clone()])).await;
    let today = plumbline_collector::timestamp::today();
    let before: Vec<(Change, String)> =
        s.finding_events(None, 0, 100, &today).await.unwrap().into_iter().map(|e| (e.change, e.finding.entry.id)).collect();
    assert_eq!(before.iter().map(|(c, _)| *c).collect::<Vec<_>>(), [Change::Opened, Change::Opened, Change::Accepted, Change::Accepted, Change::Resolved]);
    let cursor = s.finding_events(None, 0, 100, &today).await.unwrap().last().unwrap().id;

    // The day after the last day: f[0] is open again, f[1] was resolved.
    let later = s.finding_events(None, cursor, 100, "2099-01-01").await.unwrap();
    assert_eq!(later.iter().map(|e| (e.change, e.finding.entry.id.as_str())).collect::<Vec<_>>(), [(Change::AcceptanceExpired, f[0].id.as_str())]);
    assert_eq!((later[0].at.as_str(), later[0].accepted_until.as_deref()), ("2099-01-01T00:00:00.000000Z", None));
    let o = plumbline_collector::api::siem::ocsf(&later[0]);
    assert_eq!((o.status.as_str(), o.activity_id, o.time), ("New", 2, 4_070_908_800_000));
    assert!(s.finding_events(None, later[0].id, 100, "2099-01-02").await.unwrap().is_empty(), "announced once");

    // Accepted anew, it can run out anew; one accepted with a past date suppresses nothing.
    assert!(s.accept_risk("contoso", &f[0].id, accept("2098-12-31")).await.unwrap());
    let again = s.finding_events(None, later[0].id, 100, "2099-01-02").await.unwrap();
    assert_eq!(again.iter().map(|e| e.change).collect::<Vec<_>>(), [Change::Accepted, Change::AcceptanceExpired]);
    assert_eq!(again[0].accepted_until.as_deref(), Some("2098-12-31"));
    assert!(s.accept_risk("contoso", &f[0].id, accept("2000-01-01")).await.unwrap());
    let stale = s.finding_events(None, again[1].id, 100, &today).await.unwrap();
    assert_eq!(stale.iter().map(|e| (e.change, e.accepted_until.clone())).collect::<Vec<_>>(), [(Change::Accepted, None)]);
    assert!(s.finding_events(None, stale[0].id, 100, &today).await.unwrap().is_empty(), "no expiry left to announce");
}

/// Tenants ingesting at once while a poller reads: every event reaches the
/// poller exactly once (on PostgreSQL, ids are handed out in commit order).
async fn concurrent_ingests_reach_a_poller_exactly_once(backend: Backend) {
    const TENANTS: usize = 6;
    const BATCHES: u64 = 4;
    let t = backend.store().await;
    let r = router(&t);
    let token = admin::create_api_token(t.dyn_store(), None, None).await.unwrap();
    let mut tenants = Vec::new();
    for i in 0..TENANTS {
        tenants.push(Tenant::new(&t, &format!("tenant-{i}"), BATCHES as usize).await);
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = tenants
        .into_iter()
        .map(|tenant| {
            let (r, done) = (r.clone(), done.clone());
            tokio::spawn(async move {
                for n in 1..=BATCHES {
                    // Each batch opens one more finding.
                    let open: Vec<usize> = (0..n as usize).collect();
                    ingest(&r, &tenant.agent, &tenant.batch(n, tenant.findings(&open, &[]))).await;
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
        })
        .collect();
    let (mut seen, mut cursor) = (Vec::new(), 0);
    loop {
        let finished = done.load(std::sync::atomic::Ordering::SeqCst) == TENANTS;
        let (lines, next) = drain(&r, "/v1/findings.ocsf", &token, cursor, 3).await;
        seen.extend(lines.iter().map(id));
        cursor = next;
        if finished {
            break;
        }
        tokio::task::yield_now().await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let (all, _) = drain(&r, "/v1/findings.ocsf", &token, 0, 1000).await;
    assert_eq!(all.len(), TENANTS * BATCHES as usize);
    assert_eq!(seen, all.iter().map(id).collect::<Vec<_>>(), "the poller saw each event once, in order");
}

/// On PostgreSQL a writer that took an id first but commits last must not
/// be skipped: a writer in flight holds the events lock, an ingest waits
/// for it, and a poller that reads meanwhile sees neither, then both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_hands_out_event_ids_in_commit_order() {
    let t = Backend::Postgres.store().await;
    let r = router(&t);
    let c = Tenant::new(&t, "contoso", 2).await;
    let f = c.findings(&[0], &[]);
    ingest(&r, &c.agent, &c.batch(1, f.clone())).await;
    let today = plumbline_collector::timestamp::today();
    let s = t.store.clone();
    let cursor = s.finding_events(None, 0, 100, &today).await.unwrap().last().unwrap().id;

    // A writer in flight: it holds the lock and has taken an id.
    let (client, connection) = tokio_postgres::connect(&t.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute("BEGIN").await.unwrap();
    client.execute("SELECT pg_advisory_xact_lock($1)", &[&plumbline_collector::store::postgres::EVENTS_LOCK_KEY]).await.unwrap();
    client
        .execute(
            "INSERT INTO finding_events (tenant_id, finding_id, connector_key, kind, at, accepted_until, status, site_id, entry,
                                         first_seen, last_seen, resolved_at, reopened_count)
             SELECT tenant_id, id, connector_key, 'accepted', last_seen, '2098-12-31', status, site_id, entry, first_seen,
                    last_seen, resolved_at, reopened_count FROM findings WHERE id = $1",
            &[&f[0].id],
        )
        .await
        .unwrap();
    let batch = c.batch(2, c.findings(&[0, 1], &[]));
    let ingesting = tokio::spawn({
        let r = r.clone();
        async move { ingest(&r, &c.agent, &batch).await }
    });
    // Until the ingest waits for the lock (or, were there no lock, is done).
    let mut waited = false;
    for _ in 0..3000 {
        let row = client.query_one("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)", &[]).await;
        waited = row.unwrap().get(0);
        if waited || ingesting.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let meanwhile = s.finding_events(None, cursor, 100, &today).await.unwrap();
    let mut next = meanwhile.last().map_or(cursor, |e| e.id);
    client.batch_execute("COMMIT").await.unwrap();
    ingesting.await.unwrap();
    let after: Vec<Change> = s.finding_events(None, next, 100, &today).await.unwrap().into_iter().map(|e| e.change).collect();
    next = cursor;
    let all: Vec<Change> = s.finding_events(None, next, 100, &today).await.unwrap().into_iter().map(|e| e.change).collect();
    assert!(waited, "the ingest waited for the writer in flight");
    assert!(meanwhile.is_empty(), "a poller sees nothing of a later writer before the earlier one commits: {meanwhile:?}");
    assert_eq!(after, all, "then it sees both");
    assert_eq!(all, [Change::Accepted, Change::Opened]);
}

crate::both_backends!(
    pages_never_skip_nor_repeat_an_event,
    a_tenant_token_sees_only_its_tenant,
    an_expired_acceptance_is_an_event_once,
    concurrent_ingests_reach_a_poller_exactly_once,
);
