//! The site ↔ tenant cross-check end to end, over real HTTP on loopback:
//! two enrolled sites of one tenant deliver from addresses the test picks
//! (each agent's client socket is bound to its own 127.0.0.x), one site's
//! relay is open, and an inbound connector trusts that site's address.

use crate::both_backends;
use crate::support::{connector, ok, Backend, TestAgent, TestStore};
use plumbline_collector::accounts::{self, sessions, throttle::Throttle, Role};
use plumbline_collector::api::{app, AppState};
use plumbline_collector::crosscheck::rules::{OPEN_RELAY_TRUSTED, RELAY_UNCOVERED};
use plumbline_collector::egress::TrustedProxies;
use plumbline_collector::serve::Server;
use plumbline_collector::store::FindingFilter;
use plumbline_collector::{admin, timestamp};
use plumbline_protocol::identity::{public_key_b64, AgentKey};
use plumbline_protocol::messages::{EnrollRequest, IngestResponse};
use plumbline_protocol::ocsf::Change;
use plumbline_protocol::register::{ConnectorEntry, Severity};
use std::net::IpAddr;

const RELAY_HQ: &str = "smtp-relay/smtp:10.0.0.25:25";
const RELAY_BRANCH: &str = "smtp-relay/smtp:10.1.0.25:25";
const INBOUND: &str = "exo/exchange:inbound:5f3c";
/// The proxy the tests trust.
const PROXY: &str = "127.0.0.9";

struct Served {
    base: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The collector over plain HTTP on 127.0.0.1, trusting [`PROXY`]'s `X-Forwarded-For`.
async fn serve(t: &TestStore) -> Served {
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
    let port = server.local_addr().unwrap().port();
    let state = AppState::new(t.store.clone()).with_proxies(TrustedProxies::parse(&[PROXY.into()]).unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(app(state), async {
        let _ = stopped.await;
    }));
    Served { base: format!("http://127.0.0.1:{port}"), _stop: stop }
}

/// An HTTP client whose connections leave from `from` (plain HTTP; reqwest
/// still wants a TLS set-up, with the collector's provider).
fn client_from(from: &str) -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(plumbline_collector::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder().use_preconfigured_tls(tls).local_address(from.parse::<IpAddr>().unwrap()).build().unwrap()
}

/// An agent of `site` enrolled over HTTP by `client`.
async fn enroll(t: &TestStore, s: &Served, client: &reqwest::Client, site: &str) -> TestAgent {
    t.tenant("contoso").await;
    let issued = admin::create_enroll_token(t.dyn_store(), "contoso", site, 1).await.unwrap();
    let key = AgentKey::generate();
    let request = EnrollRequest { token: issued.token, public_key: public_key_b64(&key.verifying()), hostname: site.into(), replaces: None, site: None, tenant: None };
    client.post(format!("{}/v1/enroll", s.base)).json(&request).send().await.unwrap().error_for_status().unwrap();
    TestAgent { key, tenant: "contoso".into(), site: site.into() }
}

async fn deliver(s: &Served, client: &reqwest::Client, forwarded_for: Option<&str>, body: Vec<u8>) {
    let mut request = client.post(format!("{}/v1/ingest", s.base)).body(body);
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    let stored: IngestResponse = request.send().await.unwrap().error_for_status().unwrap().json().await.unwrap();
    assert_eq!(stored.status, "stored");
}

/// A relay as the smtp-relay plugin reports it.
fn relay(key: &str, open: bool) -> ConnectorEntry {
    let mut c = connector(key, "smtp-relay", "smtp-relay");
    let address = key.trim_start_matches("smtp-relay/smtp:");
    for (k, v) in [
        ("status", "ok"),
        ("address", address),
        ("connected_to", address.split(':').next().unwrap()),
        ("open_relay", if open { "yes" } else { "no" }),
        ("open_relay_result", if open { "Server is an open relay (4/16 tests)" } else { "Server doesn't seem to be an open relay" }),
        ("starttls_offered", "true"),
        ("tls_subject", "CN=mail.contoso.example"),
    ] {
        c.attributes.insert(k.into(), v.into());
    }
    c
}

/// An OnPremises inbound connector trusting `ips`, as the exchange-connectors plugin reports it.
fn inbound(ips: &str) -> ConnectorEntry {
    let mut c = connector(INBOUND, "exchange-connector", "exo");
    c.name = "Office relay".into();
    for (k, v) in [
        ("direction", "inbound"),
        ("connector_type", "OnPremises"),
        ("enabled", "true"),
        ("sender_ip_addresses", ips),
        ("require_tls", "false"),
        ("tls_sender_certificate_name", "not set"),
    ] {
        c.attributes.insert(k.into(), v.into());
    }
    c
}

async fn egress_of(t: &TestStore, agent: &TestAgent) -> String {
    let all = t.store.egress("contoso").await.unwrap();
    all.into_iter().find(|e| e.agent_id == agent.id()).map(|e| e.address.to_string()).unwrap_or_default()
}

async fn cross_checks(t: &TestStore, filter: FindingFilter) -> Vec<(Severity, String, String)> {
    let mut out: Vec<(Severity, String, String)> = t
        .store
        .findings("contoso", filter)
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.entry.check_id.starts_with("plumbline/cross-check/"))
        .map(|f| (f.entry.severity, f.entry.check_id, f.site_id))
        .collect();
    out.sort();
    out
}

async fn the_sites_relay_behind_the_tenants_connector(backend: Backend) {
    let t = backend.store().await;
    let s = serve(&t).await;
    let (hq_client, branch_client) = (client_from("127.0.0.2"), client_from("127.0.0.3"));
    let hq = enroll(&t, &s, &hq_client, "hq").await;
    let branch = enroll(&t, &s, &branch_client, "branch").await;
    assert_eq!((egress_of(&t, &hq).await, egress_of(&t, &branch).await), ("127.0.0.2".into(), "127.0.0.3".into()), "known from enrollment");

    // The open relay first: with no Exchange facts yet there is nothing to join.
    deliver(&s, &hq_client, None, hq.sign(&hq.batch(1, vec![ok("smtp-relay")], vec![relay(RELAY_HQ, true)], vec![]))).await;
    assert!(cross_checks(&t, FindingFilter::All).await.is_empty());

    // The other site brings the tenant's side, and its own closed relay:
    // the hq pair is judged with this batch, though hq sent nothing new.
    let b = branch.batch(1, vec![ok("exo"), ok("smtp-relay")], vec![inbound("127.0.0.2"), relay(RELAY_BRANCH, false)], vec![]);
    deliver(&s, &branch_client, None, branch.sign(&b)).await;
    assert_eq!(
        cross_checks(&t, FindingFilter::Open).await,
        [(Severity::Info, RELAY_UNCOVERED.into(), "branch".into()), (Severity::Critical, OPEN_RELAY_TRUSTED.into(), "hq".into())]
    );
    let findings = t.store.findings("contoso", FindingFilter::Open).await.unwrap();
    let critical = findings.iter().find(|f| f.entry.check_id == OPEN_RELAY_TRUSTED).unwrap();
    assert_eq!(critical.entry.connector_key, INBOUND);
    let ev = &critical.entry.evidence;
    assert_eq!((ev["relay_connector"].as_str(), ev["exchange_connector"].as_str()), (RELAY_HQ, INBOUND));
    assert_eq!((ev["egress_matched"].as_str(), ev["site"].as_str()), ("127.0.0.2", "hq"));
    assert_eq!(ev["open_relay_result"], "Server is an open relay (4/16 tests)");

    // Both connectors' console pages show it, with the evidence of both sides.
    accounts::add_user(t.dyn_store(), "admin@msp.example", Role::MspAdmin, &[], "correct horse battery staple").await.unwrap();
    let (token, _) =
        sessions::sign_in(t.dyn_store(), &Throttle, "admin@msp.example", "correct horse battery staple", "127.0.0.1")
            .await
            .unwrap();
    for key in [INBOUND, RELAY_HQ] {
        let url = format!("{}{}", s.base, plumbline_collector::console::links::connector("contoso", key));
        let page = hq_client.get(url).header("cookie", format!("plumbline_session={token}")).send().await.unwrap();
        assert_eq!(page.status(), 200, "{key}");
        let html = page.text().await.unwrap();
        assert!(html.contains("is trusted by inbound connector Office relay"), "{key}: the finding");
        assert!(html.contains("127.0.0.2") && html.contains("Server is an open relay (4/16 tests)"), "{key}: both sides' evidence");
    }
    let branch_page = plumbline_collector::console::links::connector("contoso", RELAY_BRANCH);
    let html = hq_client.get(format!("{}{branch_page}", s.base)).header("cookie", format!("plumbline_session={token}")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("is trusted by inbound connector"), "the closed relay's page has only its own");

    // Fixing the relay resolves the critical finding; the SIEM feed has both events.
    deliver(&s, &hq_client, None, hq.sign(&hq.batch(2, vec![ok("smtp-relay")], vec![relay(RELAY_HQ, false)], vec![]))).await;
    assert_eq!(cross_checks(&t, FindingFilter::Open).await, [(Severity::Info, RELAY_UNCOVERED.into(), "branch".into())]);
    assert_eq!(cross_checks(&t, FindingFilter::Resolved).await, [(Severity::Critical, OPEN_RELAY_TRUSTED.into(), "hq".into())]);
    let events = t.store.finding_events(Some(&["contoso".to_string()]), 0, 100, &timestamp::today()).await.unwrap();
    let critical_events: Vec<Change> =
        events.iter().filter(|e| e.finding.entry.check_id == OPEN_RELAY_TRUSTED).map(|e| e.change).collect();
    assert_eq!(critical_events, [Change::Opened, Change::Resolved]);
}

async fn forwarded_for_counts_only_from_a_trusted_proxy(backend: Backend) {
    let t = backend.store().await;
    let s = serve(&t).await;
    let (proxy, stranger) = (client_from(PROXY), client_from("127.0.0.4"));
    let behind = enroll(&t, &s, &proxy, "behind-proxy").await;
    let direct = enroll(&t, &s, &stranger, "direct").await;
    let body = |a: &TestAgent, open: bool, key: &str| a.sign(&a.batch(1, vec![ok("smtp-relay")], vec![relay(key, open)], vec![]));

    // Anyone may write the header; only the proxy's counts.
    deliver(&s, &stranger, Some("127.0.0.6"), body(&direct, false, RELAY_BRANCH)).await;
    assert_eq!(egress_of(&t, &direct).await, "127.0.0.4");
    deliver(&s, &proxy, Some("127.0.0.66, 127.0.0.5"), body(&behind, true, RELAY_HQ)).await;
    assert_eq!(egress_of(&t, &behind).await, "127.0.0.5", "the right-most hop the proxy saw");

    // And that address is what the connector is judged against.
    let exo = t.agent("contoso", "cloud").await;
    t.store.record_egress(&exo.id(), "127.0.0.8".parse().unwrap(), &timestamp::now()).await.unwrap();
    let b = exo.batch(1, vec![ok("exo")], vec![inbound("127.0.0.5, 127.0.0.6")], vec![]);
    plumbline_collector::ingest::ingest(t.dyn_store(), &exo.sign(&b)).await.unwrap();
    let open = cross_checks(&t, FindingFilter::Open).await;
    assert!(open.contains(&(Severity::Critical, OPEN_RELAY_TRUSTED.into(), "behind-proxy".into())), "{open:?}");
    // 127.0.0.6 was only claimed by a stranger's header: no site sends from it.
    let medium = t.store.findings("contoso", FindingFilter::Open).await.unwrap();
    let medium = medium.iter().find(|f| f.entry.severity == Severity::Medium).expect("the unexplained entry");
    assert_eq!(medium.entry.evidence["untrusted_entries"], "127.0.0.6");
}

async fn an_agent_cannot_report_a_cross_check_finding(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let forged = crate::support::finding("contoso", OPEN_RELAY_TRUSTED, RELAY_HQ, "smtp-relay");
    let b = agent.batch(1, vec![ok("smtp-relay")], vec![relay(RELAY_HQ, false)], vec![forged]);
    let e = plumbline_collector::ingest::ingest(t.dyn_store(), &agent.sign(&b)).await.unwrap_err();
    assert_eq!(e.code(), "malformed");
    assert!(e.to_string().contains("plumbline/cross-check/") && e.to_string().contains("name its checks after itself"), "{e}");
    assert_eq!(t.store.counts().await.unwrap(), Default::default(), "nothing stored");
}

both_backends!(
    the_sites_relay_behind_the_tenants_connector,
    forwarded_for_counts_only_from_a_trusted_proxy,
    an_agent_cannot_report_a_cross_check_finding
);
