//! Tenant off-boarding: after `delete_tenant` no table holds a trace of the
//! tenant (every table and column is searched, so a table added later
//! without a place in the off-boarding fails here), and another tenant's
//! data and register are as they were; `tenant delete` on the command line.

use crate::support::{cli_in, connector, finding, ok, Backend, TestStore};
use plumbline_collector::accounts::{self, Role};
use plumbline_collector::admin;
use plumbline_collector::alerts::{Event, NewAlert};
use plumbline_collector::ingest::{ingest, ingest_from};
use plumbline_collector::store::console::{Acceptance, Decision};
use plumbline_collector::store::{FindingFilter, StoreError};
use plumbline_collector::timestamp;
use plumbline_protocol::read_api::AnnotationsUpdate;

const LEAVING: &str = "leaving-client";
const STAYING: &str = "staying-client";
const PASSWORD: &str = "correct horse battery staple";

/// The tenant's client viewer: an address without the tenant's id, so that
/// the search for its traces does not find the user, who is not the tenant's.
fn viewer(tenant: &str) -> String {
    format!("it@{}.example", tenant.split('-').next().unwrap_or(tenant))
}

/// A tenant with a row in every kind of table: agents, tokens of each kind,
/// batches, register, history, decisions, annotations, acceptances, audit,
/// SIEM events, egress, alerts, groups, users, policy serials. Its agent id.
async fn populate(t: &TestStore, tenant: &str) -> String {
    let s = t.dyn_store();
    let agent = t.agent(tenant, "hq").await;
    admin::create_enroll_token(s, tenant, "branch", 24).await.unwrap();
    admin::create_fleet_secret(s, tenant, 24).await.unwrap();
    admin::create_api_token(s, Some(tenant), None).await.unwrap();
    t.store.add_tenant_group(tenant, "contract customers").await.unwrap();
    accounts::add_user(s, &viewer(tenant), Role::ClientViewer, &[tenant.into()], PASSWORD).await.unwrap();
    let relay = connector("exchange:outbound:relay", "exchange-connector", "exo");
    let inbound = connector("exchange:inbound:partner", "exchange-connector", "exo");
    let tls = finding(tenant, "exo.tls", &relay.key, "exo");
    let b1 = agent.batch(1, vec![ok("exo")], vec![relay.clone(), inbound.clone()], vec![tls.clone()]);
    ingest_from(s, &agent.sign(&b1), &Default::default(), Some("203.0.113.7".parse().unwrap())).await.unwrap();
    let mut renamed = relay.clone();
    renamed.name = "Relay (renamed)".into();
    let b2 = agent.batch(2, vec![ok("exo")], vec![renamed, inbound.clone()], vec![tls.clone()]);
    ingest(s, &agent.sign(&b2)).await.unwrap();
    let now = timestamp::now();
    let update: AnnotationsUpdate = serde_json::from_str(r#"{"purpose":"scanner relay"}"#).unwrap();
    t.store.update_annotations(tenant, &relay.key, update, "eng@msp.example", &now).await.unwrap();
    let review = t.store.review_queue(tenant).await.unwrap();
    let by = "eng@msp.example".to_string();
    let decision = Decision { decision: "expected".into(), note: "the partner".into(), by, at: now.clone() };
    t.store.decide_change(tenant, review[0].change.id, decision).await.unwrap();
    let acceptance = Acceptance {
        rationale: "until the relay is replaced".into(),
        approver: "the client".into(),
        expires_on: "2099-01-01".into(),
        accepted_by: "eng@msp.example".into(),
        accepted_at: now.clone(),
    };
    assert!(t.store.accept_risk(tenant, &tls.id, acceptance).await.unwrap());
    let event = Event {
        kind: "finding-opened".into(),
        tenant_id: tenant.into(),
        site_id: "hq".into(),
        connector_key: relay.key.clone(),
        name: "relay".into(),
        category: "exchange-connector".into(),
        severity: Some("high".into()),
        title: "t".into(),
        detail: String::new(),
        changes: vec![],
        remediation: String::new(),
        at: now.clone(),
    };
    let (rule, destination) = ("high".to_string(), "noc".to_string());
    let alert = NewAlert { rule, destination, tenant_id: tenant.into(), dedupe_key: tenant.into(), event };
    t.store.queue_alerts(&[alert], &now, &now).await.unwrap();
    t.store.policy_serial(tenant, "00ff", &now).await.unwrap();
    agent.id()
}

/// Rows, in any table and any column, whose text holds one of `needles`:
/// `(table, rows)` for each table with some.
async fn traces(t: &TestStore, backend: Backend, needles: &[String]) -> Vec<(String, i64)> {
    let mut found = Vec::new();
    match backend {
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(t.url.strip_prefix("sqlite:").unwrap()).unwrap();
            let tables: Vec<String> = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for table in tables {
                let columns: Vec<String> = conn
                    .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                let any: Vec<String> =
                    columns.iter().map(|c| format!("instr(CAST(\"{c}\" AS TEXT), ?1) > 0")).collect();
                let sql = format!("SELECT count(*) FROM \"{table}\" WHERE {}", any.join(" OR "));
                let count = |needle: &String| conn.query_row(&sql, [needle], |r| r.get::<_, i64>(0)).unwrap();
                let n: i64 = needles.iter().map(count).sum();
                if n > 0 {
                    found.push((table, n));
                }
            }
        }
        Backend::Postgres => {
            let (client, connection) = tokio_postgres::connect(&t.url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            let tables: Vec<String> = client
                .query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'", &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            for table in tables {
                let mut n = 0;
                for needle in needles {
                    // A row as text holds every column, bytea as hex: the needle is searched both ways.
                    let sql = format!(
                        "SELECT count(*) FROM \"{table}\" t WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0"
                    );
                    let hex = hex::encode(needle.as_bytes());
                    n += client.query_one(&sql, &[needle, &hex]).await.unwrap().get::<_, i64>(0);
                }
                if n > 0 {
                    found.push((table, n));
                }
            }
        }
    }
    found
}

/// Everything a tenant's console shows from the store.
async fn tenant_view(t: &TestStore, tenant: &str) -> String {
    let s = &t.store;
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        s.connectors(tenant).await.unwrap(),
        s.findings(tenant, FindingFilter::All).await.unwrap(),
        s.annotations(tenant).await.unwrap(),
        s.changes(tenant, false, 1000).await.unwrap(),
        s.decided_changes(tenant).await.unwrap(),
        s.acceptances(tenant).await.unwrap(),
        s.agents(Some(tenant)).await.unwrap(),
        s.enroll_tokens(Some(tenant)).await.unwrap(),
    )
}

async fn deleting_a_tenant_leaves_no_trace_and_the_others_as_they_were(backend: Backend) {
    let t = backend.store().await;
    let leaving_agent = populate(&t, LEAVING).await;
    let staying_agent = populate(&t, STAYING).await;
    // An engineer who sees both keeps the one that stays.
    let both = [LEAVING.to_string(), STAYING.to_string()];
    accounts::add_user(t.dyn_store(), "eng@msp.example", Role::MspEngineer, &both, PASSWORD).await.unwrap();
    let needles = [LEAVING.to_string(), leaving_agent.clone()];
    assert!(traces(&t, backend, &needles).await.len() >= 15, "the tenant is in most tables before");
    let staying_before = tenant_view(&t, STAYING).await;
    let staying_traces = traces(&t, backend, &[STAYING.to_string(), staying_agent.clone()]).await;

    let deleted = t.store.delete_tenant(LEAVING).await.unwrap();
    assert!(deleted.iter().map(|(_, n)| n).sum::<u64>() > 20, "{deleted:?}");
    assert_eq!(traces(&t, backend, &needles).await, vec![], "rows of the deleted tenant remain");
    assert!(t.store.tenant(LEAVING).await.unwrap().is_none());

    assert_eq!(tenant_view(&t, STAYING).await, staying_before, "the other tenant is untouched");
    let mut after = traces(&t, backend, &[STAYING.to_string(), staying_agent]).await;
    let mut before = staying_traces;
    // The shared engineer's link to the leaving tenant went; the user and the other link stay.
    before.sort();
    after.sort();
    assert_eq!(after, before);
    let engineer = t.store.user_by_email("eng@msp.example").await.unwrap().unwrap();
    assert_eq!(engineer.tenants, vec![STAYING.to_string()]);
    assert!(t.store.user_by_email(&viewer(LEAVING)).await.unwrap().is_some(), "users are not tenant rows");

    assert!(matches!(t.store.delete_tenant(LEAVING).await, Err(StoreError::UnknownTenant(_))));
    // The same id may come back as a new, empty tenant.
    admin::add_tenant(t.dyn_store(), LEAVING, None).await.unwrap();
    assert!(t.store.connectors(LEAVING).await.unwrap().is_empty());
}

crate::both_backends!(deleting_a_tenant_leaves_no_trace_and_the_others_as_they_were);

#[test]
fn tenant_delete_wants_the_id_twice_and_removes_the_policy_file() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(cli_in(dir.path(), &["init"]).0, Some(0));
    for id in ["leaving", "staying"] {
        let (code, _, err) = cli_in(dir.path(), &["tenant", "add", id, "--no-entra"]);
        assert_eq!(code, Some(0), "{err}");
    }
    let policy = dir.path().join("policy/tenants");
    std::fs::create_dir_all(&policy).unwrap();
    for id in ["leaving", "staying"] {
        std::fs::write(policy.join(format!("{id}.toml")), "[schedule]\n").unwrap();
    }

    let (code, _, err) = cli_in(dir.path(), &["tenant", "delete", "leaving", "--confirm", "staying"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--confirm leaving") && err.contains("cannot be undone"), "{err}");
    let (code, _, err) = cli_in(dir.path(), &["tenant", "delete", "leaving"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--confirm"), "{err}");

    let (code, out, err) = cli_in(dir.path(), &["tenant", "delete", "leaving", "--confirm", "leaving"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("deleted tenant leaving") && out.contains("removed its policy file"), "{out}");
    assert!(!policy.join("leaving.toml").exists() && policy.join("staying.toml").exists());
    let (_, list, _) = cli_in(dir.path(), &["tenant", "list"]);
    assert!(!list.contains("leaving") && list.contains("staying"), "{list}");

    let (code, _, err) = cli_in(dir.path(), &["tenant", "delete", "leaving", "--confirm", "leaving"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no tenant \"leaving\"") && err.contains("tenant list"), "{err}");
}
