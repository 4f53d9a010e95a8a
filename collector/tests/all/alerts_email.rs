//! Alerts by email, to a real Postfix (the test kit's mailbox peer: STARTTLS
//! with its own certificate, SMTP AUTH only after STARTTLS, a Maildir we
//! read back): one message per digest with a plain-text and an HTML part;
//! a wrong password is refused and kept; a server that is down, or one
//! without STARTTLS, gets nothing and loses nothing.

use crate::support::{finding, ok, Backend, TestAgent, TestStore};
use plumbline_collector::alerts::config::{resolve, Environment};
use plumbline_collector::alerts::dispatch::{Dispatcher, Pass};
use plumbline_collector::alerts::RuleSet;
use plumbline_collector::ingest::ingest_alerting;
use plumbline_protocol::register::Severity;
use plumbline_tests::postfix::{self, Mode, PostfixPeer, MAILBOX_DOMAIN, MAILBOX_PASSWORD, MAILBOX_USER};
use std::collections::HashMap;
use std::time::Duration;

const HOSTILE: &str = "<img src=x onerror=alert(1)>";

struct Env(HashMap<&'static str, String>);

impl Environment for Env {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// A rule that mails every high finding through `host:port`.
fn rules(host: &str, port: u16, password: &str) -> RuleSet {
    let env = Env(HashMap::from([("SMTP_USER", MAILBOX_USER.to_string()), ("SMTP_PASSWORD", password.to_string())]));
    let text = format!(
        r#"
        [alerts.destinations.noc-mail]
        kind = "email"
        smtp_host = "{host}"
        smtp_port = {port}
        tls_server_name = "{name}"
        from = "Plumbline <alerts@msp.example>"
        to = ["noc@{MAILBOX_DOMAIN}"]
        username_env = "SMTP_USER"
        password_env = "SMTP_PASSWORD"
        [[alerts.rules]]
        name = "high findings"
        when = "finding-opened"
        min_severity = "high"
        send_to = ["noc-mail"]
        "#,
        name = Mode::Mailbox.host_name(),
    );
    let file = plumbline_collector::config::ConfigFile::parse(&text).unwrap().alerts;
    let mut set = resolve(&file, &env, &|_| true).unwrap();
    set.gather = Duration::ZERO;
    set
}

fn dispatcher(t: &TestStore, set: &RuleSet, ca_pem: Option<&[u8]>) -> Dispatcher {
    Dispatcher::new(t.store.clone(), set.clone(), ca_pem, Some("https://plumbline.msp.example".into())).unwrap()
}

fn high(agent: &TestAgent, key: &str, check: &str, title: &str) -> plumbline_protocol::register::FindingEntry {
    let mut f = finding(&agent.tenant, check, key, "exo");
    f.severity = Severity::High;
    f.title = title.into();
    f.remediation = "Set-InboundConnector -Identity 'Scanner relay' -RequireTls $true".into();
    f
}

/// Wait for the peer's Maildir to hold `n` messages (delivery is asynchronous).
async fn inbox(peer: &PostfixPeer, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let got = peer.inbox();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} of {n} messages arrived; the peer's log:\n{}", peer.inbox().len(), peer.maillog());
}

/// Quoted-printable soft line breaks and `=3D` undone, enough to read the
/// text (the Maildir keeps lines ending in LF).
fn unfold(raw: &str) -> String {
    raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

async fn alerts_arrive_by_email_over_starttls_with_auth(backend: Backend) {
    assert!(postfix::available(), "{}", postfix::NOT_AVAILABLE);
    let t = backend.store().await;
    let peer = PostfixPeer::start(Mode::Mailbox).unwrap();
    let ca = std::fs::read(peer.certificate()).unwrap();
    let (host, port) = (peer.ip().to_string(), peer.smtp[0].port());
    let agent = t.agent("contoso", "hq").await;

    // A digest of two findings is one message with both parts.
    let set = rules(&host, port, MAILBOX_PASSWORD);
    let findings = vec![high(&agent, "exchange:inbound:relay", "exo.tls", "TLS is not required"), high(&agent, "exchange:inbound:relay", "exo.open", HOSTILE)];
    ingest_alerting(t.dyn_store(), &agent.sign(&agent.batch(1, vec![ok("exo")], vec![], findings)), &set).await.unwrap();
    let mut d = dispatcher(&t, &set, Some(&ca));
    let pass = d.pass().await.unwrap();
    assert_eq!(pass, Pass { sent: 1, rows: 2, ..Pass::default() }, "{:?}\n{}", t.store.outbox_counts().await.unwrap(), peer.maillog());
    let mail = unfold(&inbox(&peer, 1).await[0]);
    assert!(mail.contains("Subject: [Plumbline] contoso Ltd: 2 alerts from high findings"), "{mail}");
    assert!(mail.contains("To: noc@inbox.plumbline.test") && mail.contains("From: Plumbline <alerts@msp.example>"), "{mail}");
    let (text, html) = mail.split_once("Content-Type: text/html").expect("an HTML part");
    assert!(text.contains("Content-Type: text/plain"), "{text}");
    for part in [text, html] {
        assert!(part.contains("HIGH: TLS is not required") && part.contains("contoso Ltd (contoso)"), "{part}");
        assert!(part.contains("https://plumbline.msp.example/tenants/contoso/connectors/"), "a link to the console: {part}");
    }
    assert!(text.contains("Fix: Set-InboundConnector -Identity 'Scanner relay' -RequireTls $true"), "{text}");
    assert!(text.contains(HOSTILE) && !html.contains(HOSTILE) && html.contains("&#60;img src=x"), "escaped in HTML only: {html}");
    // Postfix saw TLS and a login before the mail.
    let log = peer.maillog();
    assert!(log.contains("sasl_method=PLAIN") || log.contains("sasl_method=LOGIN"), "{log}");
    assert!(log.contains("starttls=1"), "{log}");
    assert_eq!(d.pass().await.unwrap(), Pass::default(), "sent once");

    // A wrong password is refused for good (535), kept with its error, and shows no password.
    let wrong = rules(&host, port, "not the password");
    ingest_alerting(t.dyn_store(), &agent.sign(&agent.batch(2, vec![ok("exo")], vec![], vec![high(&agent, "exchange:inbound:b", "exo.tls", "again")])), &wrong).await.unwrap();
    let mut d = dispatcher(&t, &wrong, Some(&ca));
    assert_eq!(d.pass().await.unwrap().refused, 1);
    let counts = t.store.outbox_counts().await.unwrap();
    let refused = counts.iter().find(|c| c.state == "refused").expect("kept as refused");
    let why = refused.last_error.as_deref().unwrap();
    assert!(why.contains("535") && !why.contains("not the password"), "{why}");
    assert_eq!(peer.inbox().len(), 1, "nothing more arrived");
}

/// A server that is down, and one that offers no STARTTLS: nothing is sent
/// (not even the password in the clear), nothing is lost.
async fn no_tls_no_mail_and_nothing_lost(backend: Backend) {
    assert!(postfix::available(), "{}", postfix::NOT_AVAILABLE);
    let t = backend.store().await;
    let plain = PostfixPeer::start(Mode::Open).unwrap();
    let agent = t.agent("contoso", "hq").await;
    let set = rules(&plain.ip().to_string(), plain.smtp[0].port(), MAILBOX_PASSWORD);
    let b = agent.batch(1, vec![ok("exo")], vec![], vec![high(&agent, "exchange:inbound:relay", "exo.tls", "TLS is not required")]);
    ingest_alerting(t.dyn_store(), &agent.sign(&b), &set).await.unwrap();
    let mut d = dispatcher(&t, &set, None);
    let pass = d.pass().await.unwrap();
    assert_eq!((pass.sent, pass.retried), (0, 1), "{pass:?}");
    let log = plain.maillog();
    assert!(!log.contains("from=<alerts@msp.example>") && !log.contains("sasl"), "nothing was said in the clear: {log}");
    drop(plain);
    let counts = t.store.outbox_counts().await.unwrap();
    let pending = counts.iter().find(|c| c.state == "pending").expect("kept for a retry");
    assert_eq!(pending.count, 1);
    assert!(pending.last_error.as_deref().unwrap().contains("smtp://"), "{pending:?}");
}

crate::both_backends!(alerts_arrive_by_email_over_starttls_with_auth, no_tls_no_mail_and_nothing_lost);
