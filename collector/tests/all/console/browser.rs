//! The console in a real headless Chromium, over HTTPS, on both backends:
//! sign-in, what each role may see, annotating with a field error, the
//! review queue and a double submit, a cross-site form without the CSRF
//! token, an expired session, and hostile connector names that must stay
//! text. Each page's screenshot goes to `target/console-screenshots/`.

use super::fixture::{self, ADMIN, CLIENT, ENGINEER, FABRIKAM, IMG_XSS, INBOUND, NORTHWIND, PASSWORD, SCRIPT_XSS, WEBHOOK};
use crate::both_backends;
use crate::support::Backend;
use plumbline_collector::api::{app, AppState};
use plumbline_collector::console::ConsoleConfig;
use plumbline_collector::serve::Server;
use plumbline_collector::{tls, tokens};
use plumbline_tests::browser::fantoccini::{Client, Locator};
use std::path::PathBuf;

pub(super) struct Served {
    pub(super) base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Serve `router` over HTTPS on a free loopback port.
pub(super) async fn serve_https(router: axum::Router, cert: &str, key: &str) -> Served {
    let config = tls::server_config(cert.as_bytes(), key.as_bytes()).unwrap();
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), Some(config)).await.unwrap();
    let port = server.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(router, async {
        let _ = stopped.await;
    }));
    Served { base: format!("https://localhost:{port}"), stop: Some(stop) }
}

fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(super) async fn shot(c: &Client, backend: Backend, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(shots_dir().join(format!("{backend:?}-{name}.png").to_lowercase()), png).unwrap();
}

/// The text of the first element matching `css`, waiting for the page.
pub(super) async fn text_of(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// POST a form as the browser's session would, outside the page (the
/// console's CSP forbids scripts from fetching): `(status, body)`.
pub(super) async fn post_as(c: &Client, cert: &str, url: &str, body: String) -> (u16, String) {
    let cookie = c.get_named_cookie("plumbline_session").await.unwrap().value().to_string();
    let r = crate::https::client_trusting(cert)
        .post(url)
        .header("cookie", format!("plumbline_session={cookie}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Click something that submits a form, and wait until the next page has
/// replaced this one (a later step must never see the old page, nor have
/// its own navigation overtaken by this one).
pub(super) async fn submit(c: &Client, element: plumbline_tests::browser::fantoccini::elements::Element) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    element.click().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while old.tag_name().await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "the form did not lead to a new page");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// GET with the browser's session, outside the page.
async fn download(c: &Client, cert: &str, url: &str) -> Vec<u8> {
    let cookie = c.get_named_cookie("plumbline_session").await.unwrap().value().to_string();
    let r = crate::https::client_trusting(cert)
        .get(url)
        .header("cookie", format!("plumbline_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.bytes().await.unwrap().to_vec()
}

pub(super) async fn sign_in(c: &Client, base: &str, email: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("input[name=email]")).await.unwrap().send_keys(email).await.unwrap();
    c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys(password).await.unwrap();
    submit(c, c.find(Locator::Id("sign-in")).await.unwrap()).await;
}

pub(super) async fn sign_out(c: &Client) {
    submit(c, c.find(Locator::Css(".signout button")).await.unwrap()).await;
}

/// No injected element and no dialog: hostile names rendered as text.
pub(super) async fn no_injection(c: &Client, page: &str) {
    let scripts = c.find_all(Locator::Css("script")).await.unwrap();
    assert_eq!(scripts.len(), 1, "{page}: only console.js");
    assert!(c.find_all(Locator::Css("img")).await.unwrap().is_empty(), "{page}: an <img> was injected");
    assert!(c.get_alert_text().await.is_err(), "{page}: a dialog opened");
}

fn connector_path(key: &str) -> String {
    plumbline_collector::console::links::connector(NORTHWIND, key)
}

const NOC_URL: &str = "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=s3cret";

struct NocEnv;

impl plumbline_collector::alerts::config::Environment for NocEnv {
    fn get(&self, name: &str) -> Option<String> {
        (name == "NOC_URL").then(|| NOC_URL.to_string())
    }
}

/// The rules in force as `serve --config` loads them: the file's, then the console's.
async fn alert_rules(t: &crate::support::TestStore) -> plumbline_collector::alerts::live::LiveRules {
    let text = "[alerts.destinations.noc]\nkind = \"teams\"\nurl_env = \"NOC_URL\"\n\
                [[alerts.rules]]\nname = \"high findings\"\nwhen = \"finding-opened\"\nmin_severity = \"high\"\n\
                group = \"contract customers\"\nsend_to = [\"noc\"]\n";
    let file = plumbline_collector::config::ConfigFile::parse(text).unwrap().alerts;
    plumbline_collector::alerts::live::LiveRules::load(file, std::sync::Arc::new(NocEnv), t.store.as_ref()).await.unwrap()
}

/// One alert the Workflows URL refused for good (a deleted flow's 404).
async fn refused_alert(t: &crate::support::TestStore) {
    use plumbline_collector::alerts::{Event, NewAlert};
    let now = plumbline_collector::timestamp::now();
    let event = Event {
        kind: "finding-opened".into(),
        tenant_id: NORTHWIND.into(),
        site_id: "hq".into(),
        connector_key: INBOUND.into(),
        name: "Scanner relay".into(),
        category: "exchange-connector".into(),
        severity: Some("high".into()),
        title: "t".into(),
        detail: String::new(),
        changes: vec![],
        remediation: String::new(),
        at: now.clone(),
    };
    let alert = NewAlert { rule: "high findings".into(), destination: "noc".into(), tenant_id: NORTHWIND.into(), dedupe_key: "k".into(), event };
    t.store.queue_alerts(&[alert], &now, &now).await.unwrap();
    let ids: Vec<i64> = t.store.claim_alerts(&now, &now, 10).await.unwrap().iter().map(|r| r.id).collect();
    t.store.alerts_refused(&ids, "HTTP 404 Not Found: the flow was deleted").await.unwrap();
}

async fn console_in_a_real_browser(backend: Backend) {
    let t = backend.store().await;
    fixture::load(&t).await;
    let (cert, key) = tls::generate(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let live = alert_rules(&t).await;
    let state = AppState::new(t.store.clone()).with_console(ConsoleConfig::default()).with_live_alerts(live.clone());
    refused_alert(&t).await;
    let console = serve_https(app(state), &cert, &key).await;
    let base = console.base.clone();
    let profile = tempfile::tempdir().unwrap();
    let c = plumbline_tests::browser::session(profile.path()).await;

    // Signed out, every page goes to the sign-in form.
    c.goto(&format!("{base}/tenants/{NORTHWIND}")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));
    sign_in(&c, &base, ADMIN, "wrong password!").await;
    assert!(text_of(&c, "#login-error").await.contains("wrong e-mail address or password"));
    assert_eq!(c.find(Locator::Css("input[name=email]")).await.unwrap().prop("value").await.unwrap().as_deref(), Some(ADMIN));
    shot(&c, backend, "login").await;

    // The admin sees the whole fleet.
    sign_in(&c, &base, ADMIN, PASSWORD).await;
    let fleet = text_of(&c, "#fleet").await;
    assert!(fleet.contains("northwind Ltd") && fleet.contains("fabrikam Ltd"), "{fleet}");
    assert!(fleet.contains("contract customers"), "{fleet}");
    no_injection(&c, "fleet").await;
    shot(&c, backend, "fleet").await;
    let cookie = c.get_named_cookie("plumbline_session").await.unwrap();
    assert!(cookie.http_only().unwrap_or(false) && cookie.secure().unwrap_or(false), "{cookie:?}");
    // The MSP's fleet report: a summary row and a page per tenant.
    submit(&c, c.find(Locator::Id("fleet-report")).await.unwrap()).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/report");
    let summary = text_of(&c, "table.summary").await;
    assert!(summary.contains("northwind Ltd") && summary.contains("fabrikam Ltd") && summary.contains("2 tenants"));
    assert_eq!(c.find_all(Locator::Css("section.tenant h1[id^=tenant-]")).await.unwrap().len(), 2, "a page per tenant");
    assert!(text_of(&c, "body").await.contains(IMG_XSS));
    assert!(c.find_all(Locator::Css("script, img")).await.unwrap().is_empty() && c.get_alert_text().await.is_err());
    shot(&c, backend, "fleet-report").await;

    // The alert rules and the outbox: the URL only by its fingerprint; the
    // refused alert goes again at a press.
    c.goto(&format!("{base}/")).await.unwrap();
    c.find(Locator::LinkText("Alerts")).await.unwrap().click().await.unwrap();
    let rules = text_of(&c, "#rules").await;
    assert!(rules.contains("a finding opens at high or above") && rules.contains("group \"contract customers\""), "{rules}");
    let noc = text_of(&c, "#destination-noc").await;
    assert!(noc.contains("sha256:") && noc.contains("HTTP 404") && !c.source().await.unwrap().contains("s3cret"), "{noc}");
    shot(&c, backend, "alerts").await;
    submit(&c, c.find(Locator::Css("#destination-noc button")).await.unwrap()).await;
    assert!(text_of(&c, ".notice").await.contains("1 refused alert for noc queued again"));
    let counts = t.store.outbox_counts().await.unwrap();
    assert!(counts.iter().all(|c| c.state == "pending"), "{counts:?}");
    // An admin adds a rule: a mistake is named beside the form, which keeps what was typed.
    let form = c.form(Locator::Id("add-rule")).await.unwrap();
    form.set_by_name("name", "expiring risks").await.unwrap();
    c.find(Locator::Css("select[name=when]")).await.unwrap().select_by_value("risk-expiring").await.unwrap();
    c.find(Locator::Css("input[name=send_to][value=noc]")).await.unwrap().click().await.unwrap();
    submit(&c, c.find(Locator::Id("add")).await.unwrap()).await;
    assert!(text_of(&c, "#rule-error").await.contains("give within_days from 1 to 366"));
    let kept = c.find(Locator::Css("input[name=name]")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("expiring risks"));
    assert_eq!(live.current().rules.len(), 1, "nothing was added");
    c.form(Locator::Id("add-rule")).await.unwrap().set_by_name("within_days", "14").await.unwrap();
    submit(&c, c.find(Locator::Id("add")).await.unwrap()).await;
    assert!(text_of(&c, ".notice").await.contains("added; it applies from the next batch"));
    let rules = text_of(&c, "#rules").await;
    assert!(rules.contains("an accepted risk expires within 14 days") && rules.contains(&format!("added by {ADMIN}")), "{rules}");
    assert_eq!(live.current().rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["high findings", "expiring risks"], "in force at once");
    assert_eq!(t.store.console_rules().await.unwrap().len(), 1, "kept in the store");
    shot(&c, backend, "alerts-rule-added").await;
    submit(&c, c.find(Locator::Css("#rules button.danger")).await.unwrap()).await;
    assert!(text_of(&c, ".notice").await.contains("removed"));
    assert_eq!(live.current().rules.len(), 1);
    assert!(t.store.console_rules().await.unwrap().is_empty());

    // The register: hostile names are text, filters work.
    c.goto(&format!("{base}/tenants/{NORTHWIND}")).await.unwrap();
    let register = text_of(&c, "#register").await;
    assert!(register.contains(IMG_XSS) && register.contains(SCRIPT_XSS), "{register}");
    no_injection(&c, "register").await;
    shot(&c, backend, "register").await;
    // Context records are listed apart: not in the connectors, one click away.
    assert!(text_of(&c, ".summary").await.starts_with("6 connectors match"), "{}", text_of(&c, ".summary").await);
    assert!(!register.contains("Teams connectors (tenant)"), "{register}");
    assert!(text_of(&c, "#context-records").await.contains("3 context records"));
    c.find(Locator::Css("#context-records a")).await.unwrap().click().await.unwrap();
    let context = text_of(&c, "#register tbody").await;
    for (_, _, _, name) in super::fixture::CONTEXT_RECORDS {
        assert!(context.contains(name), "{name} in {context}");
    }
    assert!(!context.contains("Scanner relay") && text_of(&c, ".summary").await.starts_with("3 context records match"));
    c.goto(&format!("{base}/tenants/{NORTHWIND}?severity=critical")).await.unwrap();
    let filtered = text_of(&c, "#register tbody").await;
    assert!(filtered.contains("Scanner relay") && !filtered.contains("Backup alerts"), "{filtered}");
    // The same filtered view downloads as CSV and XLSX, with the session.
    let csv = download(&c, &cert, &format!("{base}/tenants/{NORTHWIND}/register.csv?severity=critical")).await;
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("tenant_id,site_id,key,category,name") && csv.contains("Scanner relay") && !csv.contains("Backup alerts"), "{csv}");
    assert!(csv.lines().nth(1).unwrap().contains("exo.open-relay"), "check ids, as the agent's CSV has them: {csv}");
    let xlsx = download(&c, &cert, &format!("{base}/tenants/{NORTHWIND}/register.xlsx")).await;
    assert!(xlsx.starts_with(b"PK\x03\x04"), "an XLSX (zip) workbook");
    c.goto(&format!("{base}/tenants/{NORTHWIND}?owner=bogus")).await.unwrap();
    assert!(text_of(&c, "#error-message").await.contains("none, single or shared"));

    // A connector with a hostile finding title, then annotate one.
    c.goto(&format!("{base}{}", connector_path("exo/exchange:inbound:xss1"))).await.unwrap();
    assert!(text_of(&c, "main").await.contains(SCRIPT_XSS));
    no_injection(&c, "connector").await;
    c.goto(&format!("{base}{}", connector_path(INBOUND))).await.unwrap();
    assert!(text_of(&c, "main").await.contains("Set-InboundConnector -Identity 'Scanner relay'"), "the fix is shown");
    let form = c.form(Locator::Id("annotate")).await.unwrap();
    form.set_by_name("purpose", "Scan-to-email from the front desk copier").await.unwrap();
    form.set_by_name("evidence_link", "javascript:alert(1)").await.unwrap();
    c.find(Locator::Css("select[name=criticality]")).await.unwrap().select_by_value("high").await.unwrap();
    submit(&c, c.find(Locator::Id("save")).await.unwrap()).await;
    // The field's error, and the rest of the form as typed.
    assert!(text_of(&c, ".field-error[data-field=evidence_link]").await.contains("http(s) link"));
    let purpose = c.find(Locator::Css("input[name=purpose]")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(purpose.as_deref(), Some("Scan-to-email from the front desk copier"));
    shot(&c, backend, "connector-field-error").await;
    let evidence = c.find(Locator::Css("input[name=evidence_link]")).await.unwrap();
    evidence.clear().await.unwrap();
    evidence.send_keys("https://evidence.msp.example/northwind/relay-test.pdf").await.unwrap();
    submit(&c, c.find(Locator::Id("save")).await.unwrap()).await;
    assert!(text_of(&c, ".notice").await.contains("Saved"));
    let audit = text_of(&c, "#audit").await;
    assert!(audit.contains(ADMIN) && audit.contains("purpose: Scan-to-email") && audit.contains("criticality: high"), "{audit}");
    shot(&c, backend, "connector").await;
    // Saving the same again records nothing new.
    submit(&c, c.find(Locator::Id("save")).await.unwrap()).await;
    assert_eq!(t.store.audit(NORTHWIND, INBOUND).await.unwrap().len(), 1);
    // "Reviewed today", audited once however often it is pressed that day.
    assert!(text_of(&c, "#review-state").await.contains("Never reviewed"));
    submit(&c, c.find(Locator::Id("mark-reviewed")).await.unwrap()).await;
    let today = plumbline_collector::timestamp::today();
    assert!(text_of(&c, ".notice").await.contains(&format!("Marked reviewed on {today}")));
    assert!(text_of(&c, "#review-state").await.contains(&format!("Last reviewed {today}")));
    assert!(text_of(&c, "#audit").await.contains(&format!("last_reviewed: {today}")));
    submit(&c, c.find(Locator::Id("mark-reviewed")).await.unwrap()).await;
    assert_eq!(t.store.audit(NORTHWIND, INBOUND).await.unwrap().len(), 2, "the second press changed nothing");
    // Accept the critical finding as a risk: a past expiry is refused.
    let accept = c.form(Locator::Css("form.accept")).await.unwrap();
    accept.set_by_name("rationale", "The copier is replaced in January").await.unwrap();
    accept.set_by_name("approver", "Dr. Reyes").await.unwrap();
    accept.set_by_name("expires_on", "2001-01-01").await.unwrap();
    submit(&c, c.find(Locator::Css("form.accept button")).await.unwrap()).await;
    // The error stands beside the expiry; what was typed stays.
    assert!(text_of(&c, "form.accept .field-error[data-field=expires_on]").await.contains("a date (YYYY-MM-DD) from"));
    let typed = c.find(Locator::Css("form.accept input[name=approver]")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(typed.as_deref(), Some("Dr. Reyes"));
    assert!(c.find_all(Locator::Css(".notice")).await.unwrap().is_empty(), "not in the notice box");
    shot(&c, backend, "accept-field-error").await;
    let until = plumbline_collector::register::table::add_days(&plumbline_collector::timestamp::today(), 30).unwrap();
    let accept = c.form(Locator::Css("form.accept")).await.unwrap();
    accept.set_by_name("rationale", "The copier is replaced in January").await.unwrap();
    accept.set_by_name("approver", "Dr. Reyes").await.unwrap();
    accept.set_by_name("expires_on", &until).await.unwrap();
    submit(&c, c.find(Locator::Css("form.accept button")).await.unwrap()).await;
    assert!(text_of(&c, ".accepted").await.contains(&format!("Accepted until {until}")));

    // The review queue: a note is required; a decision is made once.
    c.goto(&format!("{base}/tenants/{NORTHWIND}/review")).await.unwrap();
    let first = c.find(Locator::Css("article.review")).await.unwrap();
    let change_id = first.attr("id").await.unwrap().unwrap().trim_start_matches("change-").to_string();
    submit(&c, first.find(Locator::Css("button[value=expected]")).await.unwrap()).await;
    assert!(text_of(&c, ".field-error").await.contains("say why"));
    let note = c.find(Locator::Css(&format!("#change-{change_id} input[name=note]"))).await.unwrap();
    note.send_keys("Created by the client's IT for the copier (ticket 4411)").await.unwrap();
    submit(&c, c.find(Locator::Css(&format!("#change-{change_id} button[value=expected]"))).await.unwrap()).await;
    assert!(text_of(&c, ".notice").await.contains("Recorded"));
    assert!(c.find_all(Locator::Id(&format!("change-{change_id}"))).await.unwrap().is_empty(), "it left the queue");
    assert!(text_of(&c, "#decided").await.contains("ticket 4411"));
    shot(&c, backend, "review").await;
    // The same form again (a double submit) changes nothing.
    let csrf = c.find(Locator::Css(".signout input[name=csrf]")).await.unwrap().prop("value").await.unwrap().unwrap();
    let (_, again) = post_as(
        &c,
        &cert,
        &format!("{base}/tenants/{NORTHWIND}/review"),
        format!("csrf={csrf}&change_id={change_id}&decision=suspicious&note=again"),
    )
    .await;
    assert!(again.contains("Nothing changed"), "{again}");
    assert_eq!(t.store.decided_changes(NORTHWIND).await.unwrap().len(), 1);

    // The migration board: a card cannot reach "tested" without a test
    // date and evidence; a move is an audited annotation.
    c.goto(&format!("{base}/tenants/{NORTHWIND}/migration")).await.unwrap();
    let card = format!("section[data-status=unknown] article[data-key='{WEBHOOK}']");
    c.find(Locator::Css(&format!("{card} select"))).await.unwrap().select_by_value("tested").await.unwrap();
    submit(&c, c.find(Locator::Css(&format!("{card} button"))).await.unwrap()).await;
    assert!(text_of(&c, &format!("{card} .field-error")).await.contains("test date and an evidence link"));
    c.find(Locator::Css(&format!("{card} select"))).await.unwrap().select_by_value("inventoried").await.unwrap();
    submit(&c, c.find(Locator::Css(&format!("{card} button"))).await.unwrap()).await;
    let moved = format!("section[data-status=inventoried] article[data-key='{WEBHOOK}']");
    assert!(text_of(&c, &moved).await.contains("Backup alerts webhook"));
    shot(&c, backend, "migration").await;
    let audit = t.store.audit(NORTHWIND, WEBHOOK).await.unwrap();
    assert!(audit.len() == 1 && audit[0].after.as_deref().unwrap().contains("inventoried") && audit[0].actor == ADMIN);

    // A cross-site form (another origin on this host, so the cookie goes
    // along) without the CSRF token is refused and changes nothing.
    let attack = format!(
        "<!doctype html><form id=f method=post action=\"{base}{}\"><input name=purpose value=pwned></form>\
         <script src=/go.js></script>",
        connector_path(INBOUND)
    );
    let evil = axum::Router::new()
        .route("/", axum::routing::get(move || async move { axum::response::Html(attack) }))
        .route("/go.js", axum::routing::get(|| async { ([("content-type", "text/javascript")], "document.getElementById('f').submit();") }));
    let evil = serve_https(evil, &cert, &key).await;
    c.goto(&evil.base).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let landed = loop {
        let html = c.source().await.unwrap();
        if html.contains("Form refused") || html.contains("sign-in") || std::time::Instant::now() > deadline {
            break html;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(landed.contains("Form refused"), "the console refused the forged form: {landed}");
    let annotations = t.store.annotations(NORTHWIND).await.unwrap();
    let relay = annotations.iter().find(|(k, _)| k == INBOUND).unwrap();
    assert_eq!(relay.1.purpose.as_deref(), Some("Scan-to-email from the front desk copier"), "not pwned");
    sign_out_via(&c, &base).await;

    // The client viewer: its one tenant, read-only; another tenant's page,
    // guessed, answers exactly like one that does not exist.
    sign_in(&c, &base, CLIENT, PASSWORD).await;
    let fleet = text_of(&c, "#fleet").await;
    assert!(fleet.contains("northwind Ltd") && !fleet.contains("fabrikam"), "{fleet}");
    assert!(c.find_all(Locator::Id("fleet-report")).await.unwrap().is_empty(), "the fleet report is the MSP's");
    c.goto(&format!("{base}/report")).await.unwrap();
    assert!(text_of(&c, "h1").await.contains("Not found"));
    c.goto(&format!("{base}/tenants/{FABRIKAM}")).await.unwrap();
    let hidden = c.source().await.unwrap();
    assert!(!hidden.contains("Fabrikam secret relay"));
    c.goto(&format!("{base}/tenants/nosuch")).await.unwrap();
    assert_eq!(c.source().await.unwrap(), hidden, "hidden = absent, byte for byte");
    c.goto(&format!("{base}{}", connector_path(INBOUND))).await.unwrap();
    assert!(c.find_all(Locator::Id("annotate")).await.unwrap().is_empty(), "no form for a client");
    assert!(c.find_all(Locator::Id("mark-reviewed")).await.unwrap().is_empty());
    assert!(c.find_all(Locator::Css("button[value=expected]")).await.unwrap().is_empty());
    shot(&c, backend, "client-connector").await;
    // The client reads its QBR report; hostile names stay text there too.
    c.goto(&format!("{base}/tenants/{NORTHWIND}/report?from=2000-01-01")).await.unwrap();
    assert!(text_of(&c, "h1").await.contains("northwind Ltd"));
    assert!(text_of(&c, "body").await.contains(IMG_XSS));
    assert!(c.find_all(Locator::Css("script, img")).await.unwrap().is_empty(), "nothing injected in the report");
    assert!(c.get_alert_text().await.is_err());
    shot(&c, backend, "report").await;
    c.goto(&format!("{base}/tenants/{FABRIKAM}/report")).await.unwrap();
    assert!(text_of(&c, "h1").await.contains("Not found"));
    c.goto(&format!("{base}{}", connector_path(INBOUND))).await.unwrap();
    let csrf = c.find(Locator::Css(".signout input[name=csrf]")).await.unwrap().prop("value").await.unwrap().unwrap();
    let (status, _) =
        post_as(&c, &cert, &format!("{base}{}", connector_path(INBOUND)), format!("csrf={csrf}&purpose=changed")).await;
    assert_eq!(status, 403, "a client may not write");
    let (status, _) =
        post_as(&c, &cert, &format!("{base}{}", connector_path(INBOUND)), "purpose=no-token".to_string()).await;
    assert_eq!(status, 403, "no CSRF token, no write");

    // An expired session goes back to sign-in.
    let token = c.get_named_cookie("plumbline_session").await.unwrap().value().to_string();
    t.store.touch_session(&tokens::hash(&token), "2000-01-01T00:00:00.000000Z").await.unwrap();
    c.goto(&format!("{base}/tenants/{NORTHWIND}")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/login"), "expired: back to sign-in");

    // A scoped engineer sees only its tenant.
    sign_in(&c, &base, ENGINEER, PASSWORD).await;
    c.goto(&format!("{base}/tenants/{FABRIKAM}")).await.unwrap();
    assert!(text_of(&c, "h1").await.contains("Not found"));
    c.goto(&format!("{base}/report?from=2000-01-01")).await.unwrap();
    let summary = text_of(&c, "table.summary").await;
    assert!(summary.contains("northwind Ltd") && !summary.contains("fabrikam"), "only its tenants: {summary}");
    c.goto(&format!("{base}/tenants/{NORTHWIND}/review")).await.unwrap();
    assert!(!c.find_all(Locator::Css("button[value=suspicious]")).await.unwrap().is_empty(), "an engineer decides");
    assert!(c.find_all(Locator::LinkText("Alerts")).await.unwrap().is_empty(), "the alerts page is the admin's");
    c.goto(&format!("{base}/alerts")).await.unwrap();
    assert!(text_of(&c, "h1").await.contains("Not found"));

    c.close().await.unwrap();
    drop(evil);
    drop(console);
}

async fn sign_out_via(c: &Client, base: &str) {
    c.goto(&format!("{base}/")).await.unwrap();
    sign_out(c).await;
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));
}

both_backends!(console_in_a_real_browser);
