//! Alerts end to end on both backends: rules fire at ingest and are queued
//! in its transaction; the dispatcher sends one Adaptive Card per tenant
//! and rule to a stand-in Workflows endpoint over real HTTPS, valid against
//! the published Adaptive Card 1.5 schema; 429s and a destination that is
//! down lose nothing; a restart sends what is pending exactly once; the
//! signed webhook verifies as a receiver checks it; a refusal is kept.

use crate::support::{connector, finding, ok, Backend, TestAgent, TestStore};
use plumbline_collector::alerts::config::{resolve, AlertsFile, Environment};
use plumbline_collector::alerts::dispatch::{Dispatcher, Pass};
use plumbline_collector::alerts::{webhook, RuleSet};
use plumbline_collector::ingest::ingest_alerting;
use plumbline_collector::serve::Server;
use plumbline_collector::tls;
use plumbline_protocol::register::Severity;
use plumbline_tests::workflows::{self, Inbox};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "a psa shared secret, long enough";

struct Env(HashMap<&'static str, String>);

impl Environment for Env {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// The stand-in endpoints over HTTPS with a self-signed certificate.
struct Endpoint {
    inbox: Arc<Inbox>,
    base: String,
    cert: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn endpoint() -> Endpoint {
    let (cert, key) = tls::generate(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let config = tls::server_config(cert.as_bytes(), key.as_bytes()).unwrap();
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), Some(config)).await.unwrap();
    let base = format!("https://{}", server.local_addr().unwrap());
    let inbox = Arc::new(Inbox::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = workflows::router(inbox.clone());
    tokio::spawn(async move { server.run(router, async move { let _ = stopped.await; }).await });
    Endpoint { inbox, base, cert, _stop: stop }
}

fn config(toml: &str) -> AlertsFile {
    plumbline_collector::config::ConfigFile::parse(toml).unwrap().alerts
}

/// Rules as a config gives them, gathering nothing (a test does not wait).
fn rules(e: &Endpoint, extra: &str) -> RuleSet {
    let env = Env(HashMap::from([
        ("TEAMS_URL", format!("{}/workflows/abc123/triggers/manual/paths/invoke?api-version=1&sig=s3cret", e.base)),
        ("PSA_URL", format!("{}/intake", e.base)),
        ("PSA_SECRET", SECRET.to_string()),
    ]));
    let text = format!(
        r#"
        [alerts.destinations.noc]
        kind = "teams"
        url_env = "TEAMS_URL"
        [alerts.destinations.psa]
        kind = "webhook"
        url_env = "PSA_URL"
        secret_env = "PSA_SECRET"
        [[alerts.rules]]
        name = "high findings"
        when = "finding-opened"
        min_severity = "high"
        send_to = ["noc"]
        [[alerts.rules]]
        name = "exchange connector changes"
        when = "exchange-connector-changed"
        send_to = ["noc", "psa"]
        {extra}
        "#
    );
    let mut set = resolve(&config(&text), &env, &|id| id.starts_with("tenant") || id == "contoso").unwrap();
    set.gather = Duration::ZERO;
    set
}

fn dispatcher(t: &TestStore, e: &Endpoint, set: &RuleSet) -> Dispatcher {
    Dispatcher::new(t.store.clone(), set.clone(), Some(e.cert.as_bytes()), Some("https://plumbline.msp.example".into())).unwrap()
}

fn card_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/adaptive-card-1.5.schema.json")).unwrap();
    jsonschema::draft6::new(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn high(agent: &TestAgent, key: &str, check: &str) -> plumbline_protocol::register::FindingEntry {
    let mut f = finding(&agent.tenant, check, key, "exo");
    f.severity = Severity::High;
    f
}

async fn alerts_reach_teams_and_the_psa_once_and_lose_nothing(backend: Backend) {
    let t = backend.store().await;
    let e = endpoint().await;
    let set = rules(&e, "");
    let agent = t.agent("contoso", "hq").await;
    let inbound = connector("exchange:inbound:partner", "exchange-connector", "exo");
    // The first scan is a baseline: its findings alert, its connectors do not.
    let b1 = agent.batch(1, vec![ok("exo")], vec![inbound.clone()], vec![high(&agent, &inbound.key, "exo.tls"), high(&agent, &inbound.key, "exo.open")]);
    ingest_alerting(t.dyn_store(), &agent.sign(&b1), &set).await.unwrap();
    let mut d = dispatcher(&t, &e, &set);
    let pass = d.pass().await.unwrap();
    assert_eq!(pass, Pass { sent: 1, rows: 2, ..Pass::default() }, "two findings, one digest");
    let got = e.inbox.accepted();
    assert_eq!(got.len(), 1);
    let message = got[0].json();
    assert_eq!(message["type"], "message");
    assert_eq!(message["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &message["attachments"][0]["content"];
    let schema = card_schema();
    let errors: Vec<String> = schema.iter_errors(card).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "not an Adaptive Card 1.5: {errors:?}");
    let misspelt = serde_json::json!({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "x", "colour": "red"}]});
    assert!(!schema.is_valid(&misspelt), "the schema has teeth");
    assert_eq!(card["version"], "1.5");
    let text = card.to_string();
    assert!(text.contains("contoso Ltd (contoso)") && text.contains("\"hq\"") && text.contains("HIGH: "), "{text}");
    assert!(text.contains("https://plumbline.msp.example/tenants/contoso/connectors/"), "a link to the console");
    assert!(got[0].body.len() <= 28 * 1024);
    assert_eq!(d.pass().await.unwrap(), Pass::default(), "sent once");

    // A new inbound connector: Teams is throttled once (Retry-After), the
    // PSA is down (500) once; both get it, exactly once, signed for the PSA.
    e.inbox.answer_next(429, Some(1));
    e.inbox.answer_next(500, None);
    let new = connector("exchange:inbound:unexpected", "exchange-connector", "exo");
    let b2 = agent.batch(2, vec![ok("exo")], vec![inbound.clone(), new.clone()], b1.findings.clone());
    ingest_alerting(t.dyn_store(), &agent.sign(&b2), &set).await.unwrap();
    let pass = d.pass().await.unwrap();
    assert_eq!((pass.sent, pass.retried), (0, 2), "{pass:?}");
    let pending = t.store.outbox_counts().await.unwrap();
    assert_eq!(pending.iter().filter(|c| c.state == "pending").map(|c| c.count).sum::<u64>(), 2, "kept: {pending:?}");
    assert!(pending.iter().all(|c| c.last_error.as_deref().is_none_or(|e| !e.contains("s3cret"))), "no URL in errors");
    // Nothing is due before Retry-After; a new dispatcher (a restart) sends each once.
    assert_eq!(d.pass().await.unwrap().sent, 0, "Retry-After is honoured");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    drop(d);
    let mut restarted = dispatcher(&t, &e, &set);
    // The PSA's backoff is longer than Retry-After; move it forward as time would.
    let mut sent = 0;
    for _ in 0..20 {
        sent += restarted.pass().await.unwrap().sent;
        if sent == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(sent, 2, "both delivered after the failures");
    assert_eq!(restarted.pass().await.unwrap(), Pass::default());
    let accepted = e.inbox.accepted();
    let teams: Vec<_> = accepted.iter().filter(|r| r.path.starts_with("/workflows/")).collect();
    let psa: Vec<_> = accepted.iter().filter(|r| r.path == "/intake").collect();
    assert_eq!((teams.len(), psa.len()), (2, 1), "one card per rule, one PSA request");
    assert!(teams[1].json().to_string().contains("New Exchange connector"));
    let throttled = e.inbox.received().into_iter().find(|r| r.status == 429).unwrap();
    assert!(teams[1].at.duration_since(throttled.at) >= Duration::from_secs(1), "waited for Retry-After");
    // The PSA verifies the request as a receiver does.
    let r = psa[0];
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    webhook::verify(SECRET, r.header(webhook::TIMESTAMP_HEADER), r.header(webhook::SIGNATURE_HEADER), &r.body, now).unwrap();
    assert!(webhook::verify("not the secret at all", r.header(webhook::TIMESTAMP_HEADER), r.header(webhook::SIGNATURE_HEADER), &r.body, now).is_err());
    let body = r.json();
    assert_eq!(body["events"][0]["connector_key"], new.key.as_str());
    assert_eq!(body["tenant_id"], "contoso");
    let failed = e.inbox.received().into_iter().find(|x| x.path == "/intake" && x.status == 500).unwrap();
    assert_eq!(failed.header(webhook::DELIVERY_HEADER), r.header(webhook::DELIVERY_HEADER), "a retry keeps its delivery id");
}

/// A flow deleted at the other end (404) is refused for good, kept, and
/// shown with its error; it never blocks the others.
async fn a_refused_alert_is_kept_with_its_error(backend: Backend) {
    let t = backend.store().await;
    let e = endpoint().await;
    let set = rules(&e, "");
    let agent = t.agent("contoso", "hq").await;
    e.inbox.answer_next(404, None);
    let b = agent.batch(1, vec![ok("exo")], vec![], vec![high(&agent, "exo/exchange:inbound:x", "exo.tls")]);
    ingest_alerting(t.dyn_store(), &agent.sign(&b), &set).await.unwrap();
    let mut d = dispatcher(&t, &e, &set);
    assert_eq!(d.pass().await.unwrap().refused, 1);
    let counts = t.store.outbox_counts().await.unwrap();
    let refused = counts.iter().find(|c| c.state == "refused").unwrap();
    assert_eq!(refused.count, 1);
    assert!(refused.last_error.as_deref().unwrap().contains("404"), "{refused:?}");
    assert_eq!(d.pass().await.unwrap(), Pass::default(), "not retried");
}

/// One batch per tenant opening many findings across many tenants: one
/// card per tenant and rule, each within Teams' size limit.
async fn a_burst_is_one_card_per_tenant_and_rule(backend: Backend) {
    let t = backend.store().await;
    let e = endpoint().await;
    let set = rules(&e, "");
    for n in 0..4 {
        let agent = t.agent(&format!("tenant{n}"), "hq").await;
        let findings = (0..150).map(|i| high(&agent, &format!("exo/exchange:inbound:{i}"), &format!("exo.c{i}"))).collect();
        ingest_alerting(t.dyn_store(), &agent.sign(&agent.batch(1, vec![ok("exo")], vec![], findings)), &set).await.unwrap();
    }
    let mut d = dispatcher(&t, &e, &set);
    let pass = d.pass().await.unwrap();
    assert_eq!((pass.sent, pass.rows), (4, 600), "{pass:?}");
    let got = e.inbox.accepted();
    assert!(got.iter().all(|r| r.body.len() <= 28 * 1024), "{:?}", got.iter().map(|r| r.body.len()).collect::<Vec<_>>());
    assert!(got.iter().all(|r| r.json().to_string().contains("150 alerts")));
    // Four requests to one URL, sent 250 ms apart (Teams allows 4 a second).
    // They are timed as they arrive, so one gap may shrink by the jitter of
    // a busy machine; the span of all four cannot shrink below three gaps
    // by more than one request's jitter.
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at.duration_since(w[0].at)).collect();
    assert!(gaps.iter().all(|g| *g >= Duration::from_millis(200)), "{gaps:?}");
    let span = got.last().unwrap().at.duration_since(got[0].at);
    assert!(span >= Duration::from_millis(700), "{span:?} for {gaps:?}");
}

/// Silent agents and expiring risks are found by the sweep, each once.
async fn timed_triggers_are_queued_once_per_episode(backend: Backend) {
    let t = backend.store().await;
    let e = endpoint().await;
    let extra = r#"
        [[alerts.rules]]
        name = "silent agents"
        when = "agent-silent"
        silent_hours = 1
        send_to = ["noc"]
    "#;
    let set = rules(&e, extra);
    let agent = t.agent("contoso", "hq").await;
    ingest_alerting(t.dyn_store(), &agent.sign(&agent.batch(1, vec![ok("exo")], vec![], vec![])), &set).await.unwrap();
    let d = dispatcher(&t, &e, &set);
    assert_eq!(d.sweep(&plumbline_collector::timestamp::now()).await.unwrap(), 0, "it delivered just now");
    // Two hours later, as the sweep sees it: the agent is silent, once.
    let later = plumbline_collector::alerts::dispatch::plus(&plumbline_collector::timestamp::now(), Duration::from_secs(7200));
    assert_eq!(d.sweep(&later).await.unwrap(), 1);
    assert_eq!(d.sweep(&later).await.unwrap(), 0, "once per silence");
    let counts = t.store.outbox_counts().await.unwrap();
    assert_eq!(counts.iter().map(|c| c.count).sum::<u64>(), 1, "{counts:?}");
}

/// A review past its date is queued once per due date; a context record
/// or a connector without a cadence never is.
async fn an_overdue_review_is_queued_once_per_due_date(backend: Backend) {
    let t = backend.store().await;
    let e = endpoint().await;
    let extra = r#"
        [[alerts.rules]]
        name = "reviews"
        when = "review-overdue"
        send_to = ["noc"]
    "#;
    let set = rules(&e, extra);
    let agent = t.agent("contoso", "hq").await;
    let inbound = connector("exchange:inbound:partner", "exchange-connector", "exo");
    let outbound = connector("exchange:outbound:partner", "exchange-connector", "exo");
    let mut org = connector("exchange:organization", "exchange-connector", "exo");
    org.attributes.insert(plumbline_protocol::register::RECORD_ATTRIBUTE.into(), plumbline_protocol::register::CONTEXT_RECORD.into());
    let b = agent.batch(1, vec![ok("exo")], vec![inbound.clone(), outbound.clone(), org.clone()], vec![]);
    ingest_alerting(t.dyn_store(), &agent.sign(&b), &set).await.unwrap();
    let d = dispatcher(&t, &e, &set);
    let now = plumbline_collector::timestamp::now();
    assert_eq!(d.sweep(&now).await.unwrap(), 0, "no cadence, nothing due");
    let set_cadence = |reviewed: &str| {
        serde_json::from_str::<plumbline_protocol::read_api::AnnotationsUpdate>(&format!(r#"{{"review_cadence_days":30,"last_reviewed":"{reviewed}"}}"#)).unwrap()
    };
    for key in [&inbound.key, &org.key] {
        t.store.update_annotations("contoso", key, set_cadence("2026-01-01"), "eng@msp.example", &now).await.unwrap();
    }
    assert_eq!(d.sweep(&now).await.unwrap(), 1, "the inbound connector, not the context record");
    assert_eq!(d.sweep(&now).await.unwrap(), 0, "once per due date");
    let mut d = d;
    let pass = d.pass().await.unwrap();
    assert_eq!(pass.sent, 1);
    let card = e.inbox.accepted().pop().unwrap().json().to_string();
    assert!(card.contains("Review overdue since 2026-01-31") && card.contains("Mark reviewed today"), "{card}");
    // Reviewed, then overdue again later: a new episode.
    t.store.update_annotations("contoso", &inbound.key, set_cadence("2026-02-01"), "eng@msp.example", &now).await.unwrap();
    assert_eq!(d.sweep(&now).await.unwrap(), 1, "a new due date is a new alert");
}

/// Rules added in the console are kept and come back at the next start;
/// one that no longer checks out (its tenant is gone) is skipped, never a
/// reason for the collector not to start; and a name is never used twice.
async fn console_rules_survive_a_restart_and_a_bad_one_is_skipped(backend: Backend) {
    use plumbline_collector::alerts::live::LiveRules;
    let t = backend.store().await;
    let e = endpoint().await;
    t.agent("contoso", "hq").await;
    let env = Env(HashMap::from([("TEAMS_URL", format!("{}/workflows/x/triggers/manual/paths/invoke?sig=s", e.base))]));
    let text = "[alerts.destinations.noc]\nkind = \"teams\"\nurl_env = \"TEAMS_URL\"\n";
    let file = || plumbline_collector::config::ConfigFile::parse(text).unwrap().alerts;
    let live = LiveRules::load(file(), Arc::new(Env(env.0.clone())), t.dyn_store()).await.unwrap();
    let rule = |name: &str, tenant: &str| plumbline_collector::alerts::config::RuleFile {
        name: name.into(),
        when: "exchange-connector-changed".into(),
        tenant: Some(tenant.into()),
        send_to: vec!["noc".into()],
        ..Default::default()
    };
    live.add(t.dyn_store(), rule("contoso changes", "contoso"), "admin@msp.example", "2026-12-01T00:00:00Z").await.unwrap();
    let twice = live.add(t.dyn_store(), rule("contoso changes", "contoso"), "admin@msp.example", "2026-12-01T00:00:00Z").await;
    assert!(twice.unwrap_err().to_string().contains("two rules have this name"));
    let unknown = live.add(t.dyn_store(), rule("nosuch changes", "nosuch"), "admin@msp.example", "2026-12-01T00:00:00Z").await;
    assert!(unknown.unwrap_err().to_string().contains("no tenant \"nosuch\""));
    // A rule kept before its tenant went (written straight to the store).
    let stale = serde_json::to_string(&rule("gone changes", "gone")).unwrap();
    let row = plumbline_collector::store::alerts::ConsoleRule { name: "gone changes".into(), rule: stale, created_by: "x".into(), created_at: "2026-12-02".into() };
    assert!(t.store.add_console_rule(&row).await.unwrap());
    let restarted = LiveRules::load(file(), Arc::new(env), t.dyn_store()).await.expect("a stale console rule does not stop the start");
    assert_eq!(restarted.current().rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["contoso changes"]);
}

crate::both_backends!(
    console_rules_survive_a_restart_and_a_bad_one_is_skipped,
    an_overdue_review_is_queued_once_per_due_date,
    alerts_reach_teams_and_the_psa_once_and_lose_nothing,
    a_refused_alert_is_kept_with_its_error,
    a_burst_is_one_card_per_tenant_and_rule,
    timed_triggers_are_queued_once_per_episode,
);
