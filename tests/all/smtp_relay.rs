//! smtp-relay as a real component in the real host, against a real Postfix
//! (Debian's package, started per test by scripts/postfix-peer on a
//! loopback address of its own) in an open and a restricted configuration,
//! against hostile servers written here, and against an ungranted target.
//! Where nmap is installed, its smtp-open-relay verdict on the same Postfix
//! must match the plugin's.
#![cfg(unix)]

use crate::support::{error_of, lit, status, Site, local};
use plumbline_agent::register::{ConnectorEntry, ScanResult, Severity};
use plumbline_tests::plugins;
use plumbline_tests::postfix::{free_loopback, Mode, PostfixPeer};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PLUGIN: &str = "smtp-relay";

/// The plugin's config section: `targets` and the tcp grants, plus extra
/// settings lines.
pub(crate) fn section(targets: &str, grants: &[String], settings: &str) -> String {
    let grants: Vec<String> = grants.iter().map(|g| format!("'{g}'")).collect();
    format!(
        "[plugins.{PLUGIN}]\npath = {}\ntimeout_secs = 120\n[plugins.{PLUGIN}.grants]\ntcp = [{}]\n\
         [plugins.{PLUGIN}.settings]\ntargets = '{targets}'\n{settings}\n",
        lit(&plugins::plugin(PLUGIN)),
        grants.join(", ")
    )
}

fn entry<'a>(r: &'a ScanResult, key: &str) -> &'a ConnectorEntry {
    r.connectors
        .iter()
        .find(|c| c.key == key || local(&c.key) == key)
        .unwrap_or_else(|| panic!("no entry {key}; have {:?}", r.connectors.iter().map(|c| &c.key).collect::<Vec<_>>()))
}

fn attr<'a>(e: &'a ConnectorEntry, name: &str) -> &'a str {
    e.attributes.get(name).map(String::as_str).unwrap_or_else(|| panic!("no attribute {name} on {}", e.key))
}

fn checks_on(r: &ScanResult, key: &str) -> Vec<(String, Severity)> {
    let mut v: Vec<(String, Severity)> = r
        .findings
        .iter()
        .filter(|f| f.connector_key == key || local(&f.connector_key) == key)
        .map(|f| (f.check_id.clone(), f.severity))
        .collect();
    v.sort();
    v
}

fn ok(r: &ScanResult) {
    let s = status(r, PLUGIN);
    assert_eq!(s.status, "ok", "{s:?}");
}

/// nmap's smtp-open-relay line per port, when nmap is installed:
/// `nmap -p PORTS -sV --script smtp-open-relay IP`.
fn nmap_verdicts(ip: Ipv4Addr, ports: &[u16]) -> Option<BTreeMap<u16, String>> {
    let ports_arg = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
    let out = std::process::Command::new("nmap")
        .args(["-p", &ports_arg, "-sV", "--script", "smtp-open-relay", &ip.to_string()])
        .output()
        .ok()?;
    assert!(out.status.success(), "nmap failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(parse_nmap(&text))
}

/// Port → the text after `smtp-open-relay: ` in nmap's normal output.
pub fn parse_nmap(text: &str) -> BTreeMap<u16, String> {
    let mut out = BTreeMap::new();
    let mut port = None;
    for line in text.lines() {
        if let Some((p, _)) = line.split_once("/tcp") {
            port = p.trim().parse::<u16>().ok();
        } else if let (Some(p), Some((_, verdict))) = (port, line.split_once("smtp-open-relay: ")) {
            out.insert(p, verdict.trim().to_string());
        }
    }
    out
}

/// The plugin's verdict in nmap's words must match nmap's own.
fn assert_same_verdict(ours: &ConnectorEntry, nmap: &str) {
    let result = attr(ours, "open_relay_result");
    match attr(ours, "open_relay") {
        "yes" => {
            let count = result.trim_start_matches("Server is an open relay (").split('/').next().unwrap();
            assert!(nmap.starts_with(&format!("Server is an open relay ({count}/16 tests)")), "nmap: {nmap}; ours: {result}");
        }
        "no" => assert!(nmap.starts_with("Server doesn't seem to be an open relay"), "nmap: {nmap}; ours: {result}"),
        other => panic!("no verdict to compare ({other}): {result}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_postfix_is_an_open_relay_like_nmap_says() {
    let peer = PostfixPeer::start(Mode::Open).expect("open Postfix peer");
    let ip = peer.ip();
    let site = Site::new();
    let config = site.config(&section(&format!("{ip}:25"), &[format!("{ip}:25")], "test_domain = 'relay-check.example'"));
    let nmap = tokio::task::spawn_blocking(move || nmap_verdicts(ip, &[25]));
    let r = site.scan(&config).await;
    ok(&r);

    let key = format!("smtp:{ip}:25");
    let e = entry(&r, &key);
    assert_eq!(e.category, "smtp-relay");
    assert_eq!(e.name, "relay-open.plumbline.test");
    assert_eq!(e.scope, format!("{ip}:25"));
    assert_eq!(attr(e, "status"), "ok", "{}", attr(e, "error"));
    assert_eq!(attr(e, "banner"), "relay-open.plumbline.test ESMTP Postfix (plumbline test peer)");
    assert!(attr(e, "esmtp_extensions").contains("PIPELINING"), "{}", attr(e, "esmtp_extensions"));
    assert_eq!(attr(e, "starttls_offered"), "false");
    assert_eq!(attr(e, "open_relay"), "yes");
    assert_eq!(attr(e, "open_relay_tests"), "16/16 accepted");
    assert!(attr(e, "open_relay_accepted").starts_with("#1 MAIL FROM:<> -> RCPT TO:<relaytest@relay-check.example>"));
    assert_eq!(
        checks_on(&r, &key),
        [("smtp.no-starttls".to_string(), Severity::High), ("smtp.open-relay".to_string(), Severity::Critical)]
    );
    let f = r.findings.iter().find(|f| f.check_id == "smtp.open-relay").unwrap();
    assert!(f.remediation.contains("smtpd_relay_restrictions"));

    // Nothing left the machine, and no DATA was ever sent.
    let log = peer.maillog();
    assert!(!log.contains("DATA") && !log.contains("status=sent"), "{log}");

    if let Some(nmap) = nmap.await.unwrap() {
        let verdict = nmap.get(&25).unwrap_or_else(|| panic!("nmap ran no relay script on 25: {nmap:?}"));
        assert_same_verdict(e, verdict);
    } else {
        eprintln!("nmap is not installed: the plugin's verdict was not compared with nmap's");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_postfix_is_not_open_and_its_starttls_and_smtps_work() {
    let peer = PostfixPeer::start(Mode::Restricted).expect("restricted Postfix peer");
    let ip = peer.ip();
    let site = Site::new();
    let config = site.config(&section(&ip.to_string(), &[format!("{ip}:25,587,465")], ""));
    let nmap = tokio::task::spawn_blocking(move || nmap_verdicts(ip, &[25, 587, 465]));
    let r = site.scan(&config).await;
    ok(&r);
    let keys: Vec<&str> = r.connectors.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys.len(), 3, "{keys:?}");

    for port in [25, 587] {
        let key = format!("smtp:{ip}:{port}");
        let e = entry(&r, &key);
        assert_eq!(attr(e, "status"), "ok", "{}", attr(e, "error"));
        assert_eq!(e.name, "relay-restricted.plumbline.test");
        assert_eq!(attr(e, "tls_mode"), "starttls");
        assert_eq!(attr(e, "starttls_offered"), "true");
        assert_eq!(attr(e, "starttls"), "working");
        assert!(attr(e, "tls_protocol").starts_with("TLSv1."), "{}", attr(e, "tls_protocol"));
        assert_eq!(attr(e, "tls_subject"), "CN=relay-restricted.plumbline.test");
        assert_eq!(attr(e, "tls_self_signed"), "true");
        assert_eq!(attr(e, "tls_trusted"), "false");
        assert_eq!(attr(e, "tls_checked_name"), "relay-restricted.plumbline.test");
        assert_eq!(attr(e, "open_relay"), "no");
        assert_eq!(attr(e, "open_relay_tests"), "0/16 accepted");
        assert_eq!(attr(e, "open_relay_channel"), "tls");
        assert_eq!(checks_on(&r, &key), [("smtp.cert-self-signed".to_string(), Severity::Medium)]);
    }
    let key = format!("smtp:{ip}:465");
    let e = entry(&r, &key);
    assert_eq!(attr(e, "status"), "ok", "{}", attr(e, "error"));
    assert_eq!(attr(e, "tls_mode"), "implicit");
    assert_eq!(attr(e, "tls_self_signed"), "true");
    assert_eq!(attr(e, "open_relay"), "no");
    assert_eq!(checks_on(&r, &key), [("smtp.cert-self-signed".to_string(), Severity::Medium)]);
    assert!(!r.findings.iter().any(|f| f.check_id == "smtp.open-relay" || f.check_id == "smtp.no-starttls"));

    if let Some(nmap) = nmap.await.unwrap() {
        for port in [25, 587, 465] {
            let verdict = nmap.get(&port).unwrap_or_else(|| panic!("nmap ran no relay script on {port}: {nmap:?}"));
            assert_same_verdict(entry(&r, &format!("smtp:{ip}:{port}")), verdict);
        }
    } else {
        eprintln!("nmap is not installed: the plugin's verdict was not compared with nmap's");
    }
}

/// A hostile SMTP server on a free loopback address, port 25.
async fn hostile(kind: &'static str) -> (Ipv4Addr, tokio::task::JoinHandle<()>) {
    hostile_at(free_loopback(&[25]).expect("free loopback address"), kind).await
}

/// A hostile SMTP server on `ip`, port 25.
async fn hostile_at(ip: Ipv4Addr, kind: &'static str) -> (Ipv4Addr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind(SocketAddrV4::new(ip, 25)).await.expect("bind port 25 (needs root)");
    let task = tokio::spawn(async move {
        let Ok((mut s, _)) = listener.accept().await else { return };
        let serve = async {
            match kind {
                "endless-multiline" => {
                    s.write_all(b"220 endless.example ESMTP\r\n").await?;
                    let mut buf = [0u8; 512];
                    let _ = s.read(&mut buf).await?; // EHLO
                    for _ in 0..1_000_000 {
                        s.write_all(b"250-SPAM SPAM SPAM\r\n").await?;
                    }
                }
                "one-byte-per-second" => {
                    for b in b"220 slow.example ESMTP so very slow\r\n" {
                        s.write_all(&[*b]).await?;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                "megabyte-banner" => {
                    s.write_all(b"220 ").await?;
                    s.write_all(&vec![b'A'; 1 << 20]).await?;
                    s.write_all(b"\r\n").await?;
                }
                "garbage" => {
                    s.write_all(b"\x00\xff\xfeGARBAGE \x1b[31mNOT SMTP\r\n").await?;
                }
                "close-mid-reply" => {
                    s.write_all(b"220-close.example ESMTP\r\n220-and then").await?;
                    s.shutdown().await?;
                }
                _ => unreachable!(),
            }
            Ok::<_, std::io::Error>(())
        };
        let _ = tokio::time::timeout(Duration::from_secs(60), serve).await;
    });
    (ip, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_each_fail_alone_in_bounded_time_and_the_good_target_still_reports() {
    let good = PostfixPeer::start(Mode::Open).expect("open Postfix peer");
    let kinds = ["endless-multiline", "one-byte-per-second", "megabyte-banner", "garbage", "close-mid-reply"];
    let mut servers = Vec::new();
    for kind in kinds {
        servers.push((kind, hostile(kind).await));
    }
    let mut targets = vec![format!("{}:25", good.ip())];
    targets.extend(servers.iter().map(|(_, (ip, _))| format!("{ip}:25")));
    let grants: Vec<String> = targets.clone();
    let site = Site::new();
    let config = site.config(&section(&targets.join(","), &grants, "read_timeout_ms = 3000\nhost_budget_ms = 20000"));

    let started = Instant::now();
    let r = site.scan(&config).await;
    let took = started.elapsed();
    ok(&r);
    // Each hostile endpoint is cut by the 3 s reply timeout or sooner; the
    // good one (16 relay combinations) takes a second or two.
    assert!(took < Duration::from_secs(30), "the scan took {took:?}");

    let want = [
        ("endless-multiline", "reply to EHLO: a reply has more than 128 lines"),
        ("one-byte-per-second", "waiting for the greeting: the reply was not complete within 3000 ms"),
        ("megabyte-banner", "waiting for the greeting: a reply line is longer than 1024 bytes"),
        ("garbage", "waiting for the greeting: not an SMTP reply line: \"?"),
        ("close-mid-reply", "waiting for the greeting: the server closed the connection in the middle of a reply"),
    ];
    for ((kind, (ip, _)), (wkind, message)) in servers.iter().zip(want) {
        assert_eq!(*kind, wkind);
        let e = entry(&r, &format!("smtp:{ip}:25"));
        assert_eq!(attr(e, "status"), "error", "{kind}");
        assert!(attr(e, "error").starts_with(message), "{kind}: {}", attr(e, "error"));
        assert!(!attr(e, "error").contains('\u{1b}'), "{kind}: control characters kept");
    }
    let e = entry(&r, &format!("smtp:{}:25", good.ip()));
    assert_eq!((attr(e, "status"), attr(e, "open_relay")), ("ok", "yes"), "{}", attr(e, "error"));
    for (_, (_, task)) in servers {
        task.abort();
    }
}

/// A whole /24 swept in the real host: its addresses are dialled through
/// one `connect-all`, the two that answer keep their connection until their
/// session, and the 252 others are counted, not reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swept_slash_24_finds_its_two_peers_among_254_addresses() {
    let first = free_loopback(&[25]).expect("free loopback address");
    let [_, b, c, _] = first.octets();
    let block = Ipv4Addr::new(127, b, c, 0);
    let second = (1..=254)
        .map(|i| Ipv4Addr::new(127, b, c, i))
        .find(|ip| *ip != first && std::net::TcpListener::bind(SocketAddrV4::new(*ip, 25)).is_ok())
        .unwrap();
    let servers = [hostile_at(first, "garbage").await, hostile_at(second, "close-mid-reply").await];
    let site = Site::new();
    let config = site.config(&section(&format!("{block}/24"), &[format!("{block}/24:25")], "ports = '25'"));
    let r = site.scan(&config).await;
    ok(&r);
    let mut found: Vec<&str> = r.connectors.iter().map(|c| local(&c.key)).collect();
    found.sort();
    let mut want = [format!("smtp:{first}:25"), format!("smtp:{second}:25")];
    want.sort();
    assert_eq!(found, want, "the two peers, and nothing of the 252 silent addresses");
    assert!(attr(entry(&r, &want[0]), "error").starts_with("waiting for the greeting"), "{:?}", r.connectors);
    assert_eq!(attr(entry(&r, &format!("smtp:{first}:25")), "discovered_by"), "cidr-sweep");
    for (_, task) in servers {
        task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ungranted_target_is_denied_by_the_host_and_nothing_is_sent() {
    // A listener that counts connections: the denied target.
    let ip = free_loopback(&[25]).expect("free loopback address");
    let listener = TcpListener::bind(SocketAddrV4::new(ip, 25)).await.expect("bind port 25 (needs root)");
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = s.write_all(b"220 should-never-be-seen ESMTP\r\n").await;
        }
    });
    let good = PostfixPeer::start(Mode::Open).expect("open Postfix peer");

    // Alongside a granted target: an entry that says it was denied.
    let site = Site::new();
    let targets = format!("{}:25,{ip}:25", good.ip());
    let config = site.config(&section(&targets, &[format!("{}:25", good.ip())], ""));
    let r = site.scan(&config).await;
    ok(&r);
    let e = entry(&r, &format!("smtp:{ip}:25"));
    assert_eq!(attr(e, "status"), "denied");
    let err = attr(e, "error");
    assert!(err.contains("denied") && err.contains("not granted") && err.contains(&format!("{ip}:25")), "{err}");
    assert!(checks_on(&r, &e.key).is_empty());
    assert_eq!(attr(entry(&r, &format!("smtp:{}:25", good.ip())), "status"), "ok");

    // Alone: the plugin fails with the host's denial.
    let site = Site::new();
    let config = site.config(&section(&format!("{ip}:25"), &[format!("{}:25", good.ip())], ""));
    let r = site.scan(&config).await;
    let err = error_of(&r, PLUGIN);
    assert!(err.contains("every endpoint was denied by the host") && err.contains("not granted"), "{err}");

    assert_eq!(accepted.load(Ordering::SeqCst), 0, "the host let a connection through to an ungranted target");
    task.abort();
}

#[test]
fn nmap_output_is_parsed_per_port() {
    let text = "PORT    STATE SERVICE  VERSION\n25/tcp  open  smtp     Postfix smtpd\n|_smtp-open-relay: Server is an open relay (16/16 tests)\n\
                465/tcp open  ssl/smtp Postfix smtpd\n| smtp-open-relay: Server doesn't seem to be an open relay, all tests failed\n";
    let v = parse_nmap(text);
    assert_eq!(v[&25], "Server is an open relay (16/16 tests)");
    assert_eq!(v[&465], "Server doesn't seem to be an open relay, all tests failed");
}
