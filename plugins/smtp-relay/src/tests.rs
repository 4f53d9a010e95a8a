//! Whole scans against scripted servers, natively: settings → sweep →
//! report, with the fake clock showing how long each would take.

use crate::checks::*;
use crate::config::{Config, DEFAULT_SWEEP_CONNECT_TIMEOUT_MS};
use crate::net::Clock;
use crate::sweep::{sweep, Sweep};
use crate::testnet::{tls_info, Answer, Log, Script, TestNet, T0};
use plumbline_plugin_sdk::settings::Settings;
use plumbline_plugin_sdk::tcp::{TcpError, TlsInfo};
use plumbline_plugin_sdk::{Attribute, ConnectorRecord, Finding, Report, ScanError, Severity};

/// How a scripted server treats the relay test.
#[derive(Clone, Copy, PartialEq)]
enum Relay {
    Open,
    Closed,
    /// 530 to MAIL FROM.
    AuthRequired,
    /// 553 to every MAIL FROM.
    RejectSender,
    /// Accepts only `relaytest%D@[IP]` (combination 5).
    PercentHack,
}

#[derive(Clone)]
struct Server {
    banner: &'static str,
    ext: Vec<&'static str>,
    ext_tls: Vec<&'static str>,
    tls: Option<Result<TlsInfo, TcpError>>,
    relay: Relay,
    ehlo_refused: bool,
}

impl Server {
    fn new(relay: Relay) -> Self {
        Server {
            banner: "220 relay.contoso.local ESMTP Postfix",
            ext: vec!["PIPELINING", "SIZE 10240000", "8BITMIME"],
            ext_tls: vec!["PIPELINING", "SIZE 10240000", "8BITMIME"],
            tls: None,
            relay,
            ehlo_refused: false,
        }
    }
    fn ext(mut self, ext: &[&'static str]) -> Self {
        self.ext = ext.to_vec();
        self
    }
    fn ext_tls(mut self, ext: &[&'static str]) -> Self {
        self.ext_tls = ext.to_vec();
        self
    }
    fn starttls(mut self, r: Result<TlsInfo, TcpError>) -> Self {
        self.tls = Some(r);
        if !self.ext.contains(&"STARTTLS") {
            self.ext.push("STARTTLS");
        }
        self
    }

    fn answer(&self, after_tls: bool, line: &str) -> (Vec<u8>, bool) {
        let upper = line.to_ascii_uppercase();
        let r = |s: &str| (format!("{s}\r\n").into_bytes(), false);
        if upper.starts_with("EHLO ") {
            if self.ehlo_refused {
                return r("502 5.5.2 Error: command not recognized");
            }
            let ext = if after_tls { &self.ext_tls } else { &self.ext };
            let mut out = String::from("250-relay.contoso.local\r\n");
            for (i, e) in ext.iter().enumerate() {
                let sep = if i + 1 == ext.len() { ' ' } else { '-' };
                out.push_str(&format!("250{sep}{e}\r\n"));
            }
            if ext.is_empty() {
                out = "250 relay.contoso.local\r\n".into();
            }
            return (out.into_bytes(), false);
        }
        if upper.starts_with("HELO ") {
            return r("250 relay.contoso.local");
        }
        if upper == "STARTTLS" {
            return match (&self.tls, after_tls) {
                (Some(_), false) => (b"220 2.0.0 Ready to start TLS\r\n".to_vec(), true),
                _ => r("554 5.5.1 Error: TLS already active"),
            };
        }
        if upper == "RSET" {
            return r("250 2.0.0 Ok");
        }
        if upper.starts_with("MAIL FROM:") {
            return match self.relay {
                Relay::AuthRequired => r("530 5.7.0 Authentication required"),
                Relay::RejectSender => r("553 5.7.1 Sender address rejected: not owned by user"),
                _ => r("250 2.1.0 Ok"),
            };
        }
        if upper.starts_with("RCPT TO:") {
            return match self.relay {
                Relay::Open => r("250 2.1.5 Ok"),
                Relay::PercentHack if line.contains('%') && line.contains("@[") => r("250 2.1.5 Ok"),
                _ => r("554 5.7.1 <relaytest@example.com>: Relay access denied"),
            };
        }
        if upper == "QUIT" {
            return (b"221 2.0.0 Bye\r\n".to_vec(), true);
        }
        assert_ne!(upper, "DATA", "the relay test must never send DATA");
        r("502 5.5.2 Error: command not recognized")
    }

    fn script(&self) -> Script {
        let pre = self.clone();
        let mut s = Script::new().send(format!("{}\r\n", self.banner).as_bytes()).respond(move |l| pre.answer(false, l));
        if let Some(tls) = &self.tls {
            let post = self.clone();
            s = s.tls(tls.clone()).respond(move |l| post.answer(true, l));
        }
        s.close()
    }
}

fn config(pairs: &[(&str, &str)]) -> Config {
    let attrs: Vec<Attribute> = pairs
        .iter()
        .map(|(n, v)| Attribute { name: n.to_string(), value: v.to_string() })
        .collect();
    Config::from_settings(&Settings::new(&attrs)).expect("valid settings")
}

fn run(net: &mut TestNet, pairs: &[(&str, &str)]) -> (Sweep, Report) {
    let cfg = config(pairs);
    let s = sweep(net, &cfg);
    let report = crate::assess(&s.probes, T0);
    (s, report)
}

fn entry<'a>(r: &'a Report, key: &str) -> &'a ConnectorRecord {
    r.connectors
        .iter()
        .find(|c| c.key == key)
        .unwrap_or_else(|| panic!("no entry {key}: {:?}", r.connectors.iter().map(|c| &c.key).collect::<Vec<_>>()))
}

fn attr<'a>(c: &'a ConnectorRecord, name: &str) -> &'a str {
    c.get_attr(name).unwrap_or_else(|| panic!("no attribute {name} on {}", c.key))
}

fn ids<'a>(r: &'a Report, key: &str) -> Vec<&'a str> {
    r.findings.iter().filter(|f| f.connector_key == key).map(|f| f.check_id.as_str()).collect()
}

fn finding<'a>(r: &'a Report, key: &str, id: &str) -> &'a Finding {
    r.findings
        .iter()
        .find(|f| f.connector_key == key && f.check_id == id)
        .unwrap_or_else(|| panic!("no {id} on {key}: {:?}", ids(r, key)))
}

fn with_log(s: Script) -> (Answer, Log) {
    let log = s.log();
    (Answer::Script(s), log)
}

#[test]
fn open_relay_runs_the_16_nmap_combinations_and_never_data() {
    let server = Server::new(Relay::Open).ext(&["PIPELINING", "AUTH PLAIN LOGIN", "8BITMIME"]);
    let (answer, log) = with_log(server.script());
    let mut net = TestNet::new().on("10.0.0.25", 25, answer);
    let (s, r) = run(&mut net, &[("targets", "10.0.0.25:25"), ("test_domain", "relay-check.example")]);
    assert_eq!((s.connected, s.probes.len()), (1, 1));

    let lines = log.lines();
    assert_eq!(lines[0], "EHLO plumbline.invalid");
    assert_eq!(lines.iter().filter(|l| *l == "RSET").count(), 16);
    assert_eq!(lines.iter().filter(|l| l.starts_with("MAIL FROM:")).count(), 16);
    assert_eq!(lines.iter().filter(|l| l.starts_with("RCPT TO:")).count(), 16);
    assert_eq!(lines[1..4], ["RSET", "MAIL FROM:<>", "RCPT TO:<relaytest@relay-check.example>"]);
    assert!(lines.contains(&"MAIL FROM:<antispam@relay.contoso.local>".to_string()), "SRV from the banner");
    assert!(lines.contains(&"RCPT TO:<relaytest%relay-check.example@[10.0.0.25]>".to_string()));
    assert_eq!(lines.last().map(String::as_str), Some("QUIT"));
    assert!(!lines.iter().any(|l| l.eq_ignore_ascii_case("DATA")));

    let key = "smtp:10.0.0.25:25";
    let e = entry(&r, key);
    assert_eq!(e.name, "relay.contoso.local");
    assert_eq!(e.scope, "10.0.0.25:25");
    assert_eq!(e.auth_type.as_deref(), Some("AUTH PLAIN LOGIN"));
    assert_eq!(attr(e, "status"), "ok");
    assert_eq!(attr(e, "error"), "none");
    assert_eq!(attr(e, "open_relay"), "yes");
    assert_eq!(attr(e, "open_relay_result"), "Server is an open relay (16/16 tests)");
    assert!(attr(e, "open_relay_accepted").starts_with("#1 MAIL FROM:<> -> RCPT TO:<relaytest@relay-check.example>"));
    assert_eq!(attr(e, "open_relay_channel"), "cleartext");
    assert_eq!(attr(e, "banner"), "relay.contoso.local ESMTP Postfix");
    assert_eq!(attr(e, "esmtp_extensions"), "PIPELINING, AUTH PLAIN LOGIN, 8BITMIME");
    assert_eq!(attr(e, "starttls_offered"), "false");
    assert_eq!(attr(e, "auth_before_tls"), "PLAIN, LOGIN");
    assert_eq!(attr(e, "tls_protocol"), "unknown");

    assert_eq!(ids(&r, key), [AUTH_PLAIN_OVER_CLEARTEXT, NO_STARTTLS, OPEN_RELAY]);
    let f = finding(&r, key, OPEN_RELAY);
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.detail.contains("16 of the 16") && f.detail.contains("never issues DATA"), "{}", f.detail);
    assert!(f.remediation.contains("smtpd_relay_restrictions") && f.remediation.contains("587"));
    assert_eq!(finding(&r, key, NO_STARTTLS).severity, Severity::High);
    assert!(finding(&r, key, AUTH_PLAIN_OVER_CLEARTEXT).detail.contains("AUTH PLAIN LOGIN"));
    // Every check id used is declared with the severity used.
    for f in &r.findings {
        assert!(CHECKS.contains(&(f.check_id.as_str(), f.severity)), "{}", f.check_id);
    }
}

#[test]
fn restricted_relay_with_starttls_and_a_self_signed_certificate() {
    let server = Server::new(Relay::Closed)
        .ext(&["PIPELINING", "SIZE 10240000"])
        .starttls(Ok(tls_info(true, false, 1_900_000_000)))
        .ext_tls(&["PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN"]);
    let (answer, log) = with_log(server.script());
    let mut net = TestNet::new().on("10.0.0.26", 587, answer);
    let (_, r) = run(&mut net, &[("targets", "10.0.0.26:587")]);
    let lines = log.lines();
    assert_eq!(lines[..3], ["EHLO plumbline.invalid", "STARTTLS", "EHLO plumbline.invalid"]);
    let key = "smtp:10.0.0.26:587";
    let e = entry(&r, key);
    assert_eq!(attr(e, "open_relay"), "no");
    assert_eq!(attr(e, "open_relay_tests"), "0/16 accepted");
    assert_eq!(attr(e, "open_relay_channel"), "tls");
    assert_eq!(attr(e, "starttls_offered"), "true");
    assert_eq!(attr(e, "starttls"), "working");
    assert_eq!(attr(e, "auth_before_tls"), "none");
    assert_eq!(attr(e, "auth_after_tls"), "PLAIN, LOGIN");
    assert_eq!(e.auth_type.as_deref(), Some("AUTH PLAIN LOGIN"));
    assert_eq!(attr(e, "tls_self_signed"), "true");
    assert_eq!(attr(e, "tls_protocol"), "TLSv1.3");
    assert_eq!(attr(e, "tls_not_after"), "2030-03-17T17:46:40Z");
    assert_eq!(attr(e, "tls_checked_name"), "relay.contoso.local", "the announced name, not the IP");
    assert_eq!(ids(&r, key), [CERT_SELF_SIGNED], "no STARTTLS or AUTH finding: both are fine");
    let f = finding(&r, key, CERT_SELF_SIGNED);
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.evidence.iter().find(|a| a.name == "subject").map(|a| a.value.as_str()), Some("CN=relay.example"));
}

#[test]
fn auth_required_ends_the_relay_test_at_the_first_530() {
    let (answer, log) = with_log(Server::new(Relay::AuthRequired).script());
    let mut net = TestNet::new().on("10.0.0.27", 25, answer);
    let (_, r) = run(&mut net, &[("targets", "10.0.0.27:25")]);
    assert_eq!(log.lines(), ["EHLO plumbline.invalid", "RSET", "MAIL FROM:<>", "QUIT"]);
    let e = entry(&r, "smtp:10.0.0.27:25");
    assert_eq!(attr(e, "open_relay"), "auth-required");
    assert!(attr(e, "open_relay_result").contains("authentication needed (530 5.7.0"), "{}", attr(e, "open_relay_result"));
    assert!(!ids(&r, "smtp:10.0.0.27:25").contains(&OPEN_RELAY));
}

#[test]
fn a_refused_sender_skips_its_recipient_and_one_accepted_combination_is_enough() {
    let (answer, log) = with_log(Server::new(Relay::RejectSender).script());
    let mut net = TestNet::new().on("10.0.0.28", 25, answer);
    let (_, r) = run(&mut net, &[("targets", "10.0.0.28:25")]);
    assert!(!log.lines().iter().any(|l| l.starts_with("RCPT")));
    assert_eq!(attr(entry(&r, "smtp:10.0.0.28:25"), "open_relay"), "no");

    let mut net = TestNet::new().on("10.0.0.29", 25, Answer::Script(Server::new(Relay::PercentHack).script()));
    let (_, r) = run(&mut net, &[("targets", "10.0.0.29:25")]);
    let e = entry(&r, "smtp:10.0.0.29:25");
    assert_eq!(attr(e, "open_relay"), "yes");
    assert_eq!(attr(e, "open_relay_tests"), "1/16 accepted");
    assert_eq!(
        attr(e, "open_relay_accepted"),
        "#5 MAIL FROM:<antispam@[10.0.0.29]> -> RCPT TO:<relaytest%example.com@[10.0.0.29]>"
    );
    let f = finding(&r, "smtp:10.0.0.29:25", OPEN_RELAY);
    assert!(f.detail.contains("1 of the 16"), "{}", f.detail);
}

#[test]
fn a_failed_handshake_is_no_starttls_and_the_relay_test_reconnects_in_cleartext() {
    let server = Server::new(Relay::Open).starttls(Err(TcpError::Tls("peer sent no certificates".into())));
    let mut net = TestNet::new()
        .on("10.0.0.30", 25, Answer::Script(server.script()))
        .on("10.0.0.30", 25, Answer::Script(Server::new(Relay::Open).script()));
    let (_, r) = run(&mut net, &[("targets", "10.0.0.30:25")]);
    assert_eq!(net.connects.len(), 2);
    let key = "smtp:10.0.0.30:25";
    let e = entry(&r, key);
    assert!(attr(e, "starttls").starts_with("failed: TLS handshake: TLS failed: peer sent no certificates"), "{}", attr(e, "starttls"));
    assert_eq!(attr(e, "open_relay"), "yes");
    assert_eq!(attr(e, "open_relay_channel"), "cleartext");
    assert!(attr(e, "notes").contains("second connection"));
    assert_eq!(ids(&r, key), [NO_STARTTLS, OPEN_RELAY]);
    assert!(finding(&r, key, NO_STARTTLS).detail.contains("handshake failed"));
}

#[test]
fn implicit_tls_on_465_checks_the_certificate_and_not_cleartext_rules() {
    let expired = tls_info(false, false, 1_700_000_000); // 2023
    let server = Server::new(Relay::Closed).ext_tls(&["AUTH PLAIN LOGIN"]);
    let script = Script::new().tls(Ok(expired)).send(format!("{}\r\n", server.banner).as_bytes());
    let s2 = server.clone();
    let script = script.respond(move |l| s2.answer(true, l));
    let mut net = TestNet::new().on("10.0.0.31", 465, Answer::Script(script));
    let (_, r) = run(&mut net, &[("targets", "10.0.0.31:465")]);
    let key = "smtp:10.0.0.31:465";
    let e = entry(&r, key);
    assert_eq!(attr(e, "tls_mode"), "implicit");
    assert_eq!(attr(e, "starttls_offered"), "not-applicable");
    assert_eq!(attr(e, "auth_after_tls"), "PLAIN, LOGIN");
    assert_eq!(attr(e, "tls_checked_name"), "10.0.0.31");
    assert_eq!(ids(&r, key), [CERT_EXPIRED], "expired: not also 'untrusted'; AUTH inside TLS is fine");
    assert!(finding(&r, key, CERT_EXPIRED).detail.contains("expired on 2023-11-14T22:13:20Z"));

    let untrusted = tls_info(false, false, 1_900_000_000);
    let s3 = server.clone();
    let script = Script::new().tls(Ok(untrusted)).send(b"220 relay.contoso.local ESMTP\r\n").respond(move |l| s3.answer(true, l));
    let mut net = TestNet::new().on("10.0.0.32", 465, Answer::Script(script));
    let (_, r) = run(&mut net, &[("targets", "10.0.0.32:465")]);
    assert_eq!(ids(&r, "smtp:10.0.0.32:465"), [CERT_UNTRUSTED]);
    assert_eq!(finding(&r, "smtp:10.0.0.32:465", CERT_UNTRUSTED).severity, Severity::Low);
}

/// The hostile servers, each next to a good one, in one scan.
#[test]
fn hostile_servers_give_clear_errors_in_bounded_time_and_the_good_one_still_reports() {
    let megabyte = [b"220 ".as_slice(), &vec![b'A'; 1 << 20]].concat();
    let endless: Vec<u8> = std::iter::repeat_n(b"250-SPAM\r\n".as_slice(), 100_000).flatten().copied().collect();
    let cases: Vec<(&str, Script, &str)> = vec![
        ("10.9.0.1", Script::new().send(b"220 ok\r\n").expect(b"EHLO plumbline.invalid\r\n").send(&endless), "reply to EHLO: a reply has more than 128 lines"),
        ("10.9.0.2", Script::new().drip(&[b'2'; 100], 1_000), "waiting for the greeting: the reply was not complete within 10000 ms (10 bytes received"),
        ("10.9.0.3", Script::new().send(&megabyte), "waiting for the greeting: a reply line is longer than 1024 bytes"),
        ("10.9.0.4", Script::new().send(b"SSH-2.0-OpenSSH_9.2\r\n"), "waiting for the greeting: not an SMTP reply line: \"SSH-2.0-OpenSSH_9.2\""),
        ("10.9.0.5", Script::new().send(b"220-relay\r\n220-still").close(), "waiting for the greeting: the server closed the connection in the middle of a reply (20 bytes received)"),
        ("10.9.0.6", Script::new().silent(), "waiting for the greeting: no reply within 10000 ms"),
        ("10.9.0.7", Script::new().send(b"554 5.7.1 go away\r\n"), "greeting: the server refused the session: 554 5.7.1 go away"),
    ];
    let mut net = TestNet::new().on("10.9.0.100", 25, Answer::Script(Server::new(Relay::Closed).script()));
    let mut targets = vec!["10.9.0.100:25".to_string()];
    let mut expected = Vec::new();
    for (ip, script, want) in cases {
        net = net.on(ip, 25, Answer::Script(script));
        targets.push(format!("{ip}:25"));
        expected.push((ip, want));
    }
    let (s, r) = run(&mut net, &[("targets", &targets.join(","))]);
    for (ip, want) in expected {
        let e = entry(&r, &format!("smtp:{ip}:25"));
        assert_eq!(attr(e, "status"), "error", "{ip}");
        assert!(attr(e, "error").starts_with(want), "{ip}: {}", attr(e, "error"));
        assert_eq!(attr(e, "open_relay"), "not-tested");
        assert!(ids(&r, &e.key).is_empty(), "{ip}: an error is not a finding: {:?}", ids(&r, &e.key));
    }
    let good = entry(&r, "smtp:10.9.0.100:25");
    assert_eq!((attr(good, "status"), attr(good, "open_relay")), ("ok", "no"));
    assert_eq!(s.connected, 8);
    // Two 10 s reply timeouts, everything else immediate.
    let spent = net.clock.now_ms() - T0;
    assert!(spent <= 21_000, "{spent} ms");
}

#[test]
fn a_dripping_server_is_cut_at_the_host_budget() {
    // 2 s per byte, under the 10 s reply timeout, forever.
    let endless_drip: Vec<u8> = std::iter::repeat_n(b"220-x\r\n".as_slice(), 1000).flatten().copied().collect();
    let mut net = TestNet::new().on("10.9.1.1", 25, Answer::Script(Script::new().drip(&endless_drip, 2_000)));
    let (_, r) = run(&mut net, &[("targets", "10.9.1.1:25"), ("host_budget_ms", "30000"), ("read_timeout_ms", "60000")]);
    let e = entry(&r, "smtp:10.9.1.1:25");
    assert!(attr(e, "error").contains("time budget of 30000 ms ran out"), "{}", attr(e, "error"));
    assert!(net.clock.now_ms() - T0 <= 30_002);
}

#[test]
fn unreachable_named_targets_are_reported_only_when_no_port_answered() {
    let mut net = TestNet::new()
        .on("10.1.0.1", 25, Answer::Script(Server::new(Relay::Closed).script()))
        .on("10.1.0.1", 587, Answer::Refused)
        .on("10.1.0.2", 25, Answer::Timeout);
    let (s, r) = run(&mut net, &[("targets", "10.1.0.1, 10.1.0.2"), ("tls_ports", ""), ("ports", "25,587")]);
    let keys: Vec<&str> = r.connectors.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["smtp:10.1.0.1:25", "smtp:10.1.0.2:25", "smtp:10.1.0.2:587"]);
    assert_eq!(s.unreachable, 3);
    let e = entry(&r, "smtp:10.1.0.2:25");
    assert_eq!(attr(e, "status"), "unreachable");
    assert_eq!(attr(e, "error"), "unreachable: no answer to the TCP connect within 3000 ms");
    let f = finding(&r, "smtp:10.1.0.2:587", UNREACHABLE);
    assert_eq!(f.severity, Severity::Info);
    assert!(f.detail.contains("Connection refused"), "{}", f.detail);
}

#[test]
fn cidr_sweeps_report_only_what_answered_and_skip_silent_addresses() {
    let mut net = TestNet::new()
        .on("10.2.0.1", 25, Answer::Timeout)
        .on("10.2.0.2", 25, Answer::Refused)
        .on("10.2.0.2", 587, Answer::Script(Server::new(Relay::Closed).script()))
        .on("10.2.0.2", 465, Answer::Refused);
    let (s, r) = run(&mut net, &[("targets", "10.2.0.0/30")]);
    assert_eq!(
        net.connects,
        [("10.2.0.1".to_string(), 25), ("10.2.0.2".to_string(), 25), ("10.2.0.2".to_string(), 587), ("10.2.0.2".to_string(), 465)],
        "10.2.0.1 timed out on its first port: its other ports are not tried"
    );
    assert_eq!(s.silent_skipped, 2);
    assert_eq!(r.connectors.len(), 1);
    let e = entry(&r, "smtp:10.2.0.2:587");
    assert_eq!(attr(e, "discovered_by"), "cidr-sweep");
    assert_eq!(e.scope, "10.2.0.0/30");
    assert!(r.findings.iter().all(|f| f.check_id != UNREACHABLE));
}

/// A /24 whose dead addresses each wait out the connect timeout: dialled
/// together, the sweep costs one timeout, not 252 of them.
#[test]
fn a_swept_block_is_dialled_together_and_its_silent_addresses_cost_one_timeout() {
    let mut net = TestNet::new();
    for i in 1..=254 {
        let answer = match i {
            7 | 200 => Answer::Script(Server::new(Relay::Closed).script()),
            _ => Answer::Timeout,
        };
        net = net.on(&format!("10.5.0.{i}"), 25, answer);
    }
    let (s, r) = run(&mut net, &[("targets", "10.5.0.0/24"), ("ports", "25"), ("sweep_connect_timeout_ms", "3000")]);
    assert_eq!(net.dial_lists, [254], "the whole block in one list");
    assert_eq!((s.attempted, s.connected, s.unreachable), (254, 2, 252));
    assert_eq!(r.connectors.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["smtp:10.5.0.200:25", "smtp:10.5.0.7:25"]);
    let took = net.now_ms() - T0;
    assert!((3000..3000 + 1000).contains(&took), "one connect timeout and two sessions, not 252 timeouts: {took} ms");

    // Past the host's open-connection limit: the second peer is dialled again in its turn.
    let mut limited = TestNet::new();
    limited.open_limit = 1;
    for i in [3, 9] {
        limited = limited
            .on(&format!("10.7.0.{i}"), 25, Answer::Script(Server::new(Relay::Closed).script()))
            .on(&format!("10.7.0.{i}"), 25, Answer::Script(Server::new(Relay::Closed).script()));
    }
    let (s, _) = run(&mut limited, &[("targets", "10.7.0.0/28"), ("ports", "25")]);
    assert_eq!(s.connected, 2, "both peers checked");
    let to_9 = limited.connects.iter().filter(|c| c.0 == "10.7.0.9").count();
    assert_eq!(to_9, 2, "10.7.0.9 came back as `limit` and was dialled again: {:?}", limited.connects);

    // One at a time (a host that lets one connection be open): every timeout in turn.
    let mut one = TestNet::new();
    one.batch = 1;
    for i in 1..=20 {
        one = one.on(&format!("10.6.0.{i}"), 25, Answer::Timeout);
    }
    let (s, _) = run(&mut one, &[("targets", "10.6.0.0/27"), ("ports", "25"), ("sweep_connect_timeout_ms", "3000")]);
    assert!(one.dial_lists.is_empty() && s.unreachable == 30, "{:?} {}", one.dial_lists, s.unreachable);
    assert!(one.now_ms() - T0 >= 20 * 3000, "sequential connects wait out each timeout");
}

/// A swept address waits `sweep_connect_timeout_ms` (1 s by default); a
/// named target keeps `connect_timeout_ms`, even in the same scan.
#[test]
fn swept_addresses_get_the_sweep_connect_timeout_and_named_targets_the_other() {
    let mut net = TestNet::new();
    for i in 1..=6 {
        net = net.on(&format!("10.8.0.{i}"), 25, Answer::Timeout);
    }
    net = net.on("10.9.0.1", 25, Answer::Timeout);
    let (s, _) = run(&mut net, &[("targets", "10.8.0.0/29"), ("ports", "25")]);
    assert_eq!((s.attempted, s.unreachable), (6, 6));
    let took = net.now_ms() - T0;
    let one = DEFAULT_SWEEP_CONNECT_TIMEOUT_MS..DEFAULT_SWEEP_CONNECT_TIMEOUT_MS + 100;
    assert!(one.contains(&took), "six silent addresses cost one default sweep timeout: {took} ms");

    let start = net.now_ms();
    let (_, r) = run(&mut net, &[("targets", "10.9.0.1:25"), ("connect_timeout_ms", "2500"), ("sweep_connect_timeout_ms", "200")]);
    let took = net.now_ms() - start;
    assert!((2500..2600).contains(&took), "a named target waits its own connect timeout: {took} ms");
    assert_eq!(attr(entry(&r, "smtp:10.9.0.1:25"), "status"), "unreachable");

    let err = Config::from_settings(&Settings::from_pairs(&[("targets", "10.8.0.0/29"), ("sweep_connect_timeout_ms", "0")]));
    assert!(matches!(&err, Err(ScanError::Config(m)) if m.contains("sweep_connect_timeout_ms")), "{err:?}");
}

#[test]
fn the_scan_budget_stops_the_sweep_and_says_what_was_not_checked() {
    let mut net = TestNet::new();
    for i in 1..=3 {
        net = net.on(&format!("10.3.0.{i}"), 25, Answer::Timeout);
    }
    let (s, r) = run(
        &mut net,
        &[("targets", "10.3.0.1:25, 10.3.0.2:25, 10.3.0.3:25"), ("scan_budget_ms", "5000"), ("connect_timeout_ms", "3000")],
    );
    assert_eq!(s.skipped, 1);
    assert_eq!(net.connects.len(), 2, "the second connect only got the time left");
    let e = entry(&r, "smtp:10.3.0.3:25");
    assert_eq!(attr(e, "status"), "skipped");
    assert!(attr(e, "error").contains("scan budget of 5000 ms"), "{}", attr(e, "error"));
    assert!(entry(&r, "smtp:10.3.0.2:25").get_attr("error").unwrap().contains("within 1999 ms"));
}

#[test]
fn denied_targets_are_entries_without_findings() {
    let mut net = TestNet::new()
        .on("10.4.0.1", 25, Answer::Denied)
        .on("10.4.0.2", 25, Answer::Script(Server::new(Relay::Closed).script()));
    let (s, r) = run(&mut net, &[("targets", "10.4.0.1:25, 10.4.0.2:25")]);
    assert_eq!(s.denied.len(), 1);
    let e = entry(&r, "smtp:10.4.0.1:25");
    assert_eq!(attr(e, "status"), "denied");
    assert!(attr(e, "error").contains("not granted"), "{}", attr(e, "error"));
    assert!(ids(&r, "smtp:10.4.0.1:25").is_empty());
}

#[test]
fn a_named_host_runs_the_three_combinations_that_need_no_ip() {
    let (answer, log) = with_log(Server::new(Relay::Closed).script());
    let mut net = TestNet::new().on("relay.contoso.local", 25, answer);
    let (_, r) = run(&mut net, &[("targets", "relay.contoso.local:25")]);
    assert_eq!(log.lines().iter().filter(|l| l.starts_with("RCPT")).count(), 3);
    let e = entry(&r, "smtp:relay.contoso.local:25");
    assert_eq!(attr(e, "open_relay_result"), "Server doesn't seem to be an open relay, all 3 tests failed");
    assert!(attr(e, "open_relay_note").contains("13 of 16 combinations skipped"));
}

#[test]
fn a_named_host_whose_address_the_host_tells_runs_all_sixteen() {
    let (answer, log) = with_log(Server::new(Relay::Closed).script());
    let mut net = TestNet::new().on("relay.contoso.local", 25, answer).resolving("relay.contoso.local", "10.0.0.25");
    let (_, r) = run(&mut net, &[("targets", "relay.contoso.local:25")]);
    let rcpts: Vec<String> = log.lines().into_iter().filter(|l| l.starts_with("RCPT")).collect();
    assert_eq!(rcpts.len(), 16);
    assert!(rcpts.iter().any(|l| l.contains("@[10.0.0.25]")), "{rcpts:?}");
    let e = entry(&r, "smtp:relay.contoso.local:25");
    assert_eq!(attr(e, "open_relay_result"), "Server doesn't seem to be an open relay, all 16 tests failed");
    assert_eq!(attr(e, "connected_to"), "10.0.0.25");
    assert_eq!(attr(e, "address"), "relay.contoso.local:25", "the key and address stay the name");
}

#[test]
fn helo_fallback_duplicates_and_disabled_relay_test() {
    let mut server = Server::new(Relay::Open);
    server.ehlo_refused = true;
    let (answer, log) = with_log(server.script());
    let mut net = TestNet::new().on("10.5.0.1", 25, answer);
    let (s, r) = run(&mut net, &[("targets", "10.5.0.1:25, 10.5.0.0/30:25"), ("relay_test", "false")]);
    assert_eq!(log.lines(), ["EHLO plumbline.invalid", "HELO plumbline.invalid", "QUIT"]);
    assert_eq!(s.duplicates, 1);
    let e = entry(&r, "smtp:10.5.0.1:25");
    assert_eq!(attr(e, "helo_only"), "true");
    assert_eq!(attr(e, "open_relay"), "not-tested");
    assert!(attr(e, "open_relay_result").contains("`relay_test`"));
    assert_eq!(ids(&r, "smtp:10.5.0.1:25"), [NO_STARTTLS]);
}

#[test]
fn hostile_text_never_reaches_the_register_raw() {
    let script = Script::new()
        .send(b"220 evil.example \x1b[2J\x07 ESMTP\xff\xfe \xe2\x80\xae gnirts\r\n")
        .respond(|l| {
            if l.starts_with("EHLO") {
                (b"250-evil.example\r\n250-X-\x1b]0;pwned\x07\r\n250 STARTTLS\r\n".to_vec(), false)
            } else {
                (b"502 no\r\n".to_vec(), l == "QUIT")
            }
        });
    let mut net = TestNet::new().on("10.6.0.1", 25, Answer::Script(script));
    let (_, r) = run(&mut net, &[("targets", "10.6.0.1:25"), ("relay_test", "false")]);
    let text = format!("{:?}", r);
    let e = entry(&r, "smtp:10.6.0.1:25");
    for a in &e.attributes {
        assert!(!a.value.chars().any(|c| c.is_control() || c == '\u{202E}'), "{}: {:?}", a.name, a.value);
    }
    assert_eq!(attr(e, "banner"), "evil.example ?[2J? ESMTP?? ? gnirts");
    assert!(attr(e, "starttls").starts_with("refused: 502"), "{}", attr(e, "starttls"));
    assert!(!text.contains('\u{1b}'));
}

#[test]
fn a_server_that_hangs_up_on_starttls_has_no_working_starttls() {
    let script = Script::new()
        .send(b"220 relay.contoso.local ESMTP\r\n")
        .respond(|l| {
            if l.starts_with("EHLO") {
                (b"250-relay.contoso.local\r\n250 STARTTLS\r\n".to_vec(), false)
            } else {
                (Vec::new(), true) // STARTTLS: hang up
            }
        })
        .close();
    let mut net = TestNet::new().on("10.7.0.1", 25, Answer::Script(script));
    let (_, r) = run(&mut net, &[("targets", "10.7.0.1:25")]);
    let key = "smtp:10.7.0.1:25";
    let e = entry(&r, key);
    assert_eq!(attr(e, "status"), "error");
    assert_eq!(attr(e, "error"), "reply to STARTTLS: the server closed the connection");
    assert_eq!(attr(e, "starttls"), "failed: reply to STARTTLS: the server closed the connection");
    assert_eq!(ids(&r, key), [NO_STARTTLS]);
}
