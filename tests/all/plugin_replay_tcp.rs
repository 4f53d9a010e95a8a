//! `plumbline plugin test --record / --replay` with TCP: smtp-relay recorded
//! against a real Postfix (restricted: STARTTLS on 25 and 587, implicit TLS
//! on 465), then replayed with Postfix stopped; a changed dialogue is a miss
//! naming its target and an error to the plugin, and a replay keeps the tcp
//! grants. A /24 sweep (one `connect-all`, connections answering in any
//! order, most refused) replays the same too.
#![cfg(unix)]

use crate::plugin_replay::run_json;
use crate::smtp_relay::section;
use crate::support::Site;
use plumbline_tests::plugins;
use plumbline_tests::postfix::{Mode, PostfixPeer};
use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The entry for `smtp:{ip}:{port}` in a JSON report.
fn entry(report: &Value, ip: Ipv4Addr, port: u16) -> &Value {
    let key = format!("smtp:{ip}:{port}");
    report["connectors"]
        .as_array()
        .and_then(|c| c.iter().find(|e| e["key"].as_str().is_some_and(|k| k == key || k.ends_with(&format!("/{key}")))))
        .unwrap_or_else(|| panic!("no entry {key} in {report}"))
}

/// The TCP files of a recording.
fn tcp_files(dir: &Path) -> Vec<PathBuf> {
    let files = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path());
    let mut v: Vec<PathBuf> = files.filter(|p| p.to_string_lossy().ends_with("-tcp.json")).collect();
    v.sort();
    v
}

/// Record smtp-relay against a restricted Postfix on all three ports and
/// stop Postfix: the site, the peer's address, the recording, the live report.
fn recorded() -> (Site, Ipv4Addr, String, Value) {
    let peer = PostfixPeer::start(Mode::Restricted).expect("restricted Postfix peer");
    let ip = peer.ip();
    let site = Site::new();
    let config = site.config(&section(&ip.to_string(), &[format!("{ip}:25,587,465")], ""));
    let wasm = plugins::plugin("smtp-relay").display().to_string();
    let tape = site.path("tape").display().to_string();
    let config = config.display().to_string();
    let started = std::time::Instant::now();
    let (code, live, err) = run_json(&site, &["plugin", "test", &wasm, "--config", &config, "--record", &tape]);
    eprintln!("recorded in {:?}: {}", started.elapsed(), err.trim());
    assert_eq!(code, Some(0), "{err}");
    for port in [25, 587, 465] {
        assert_eq!(entry(&live, ip, port)["attributes"]["status"], "ok", "{live}");
    }
    drop(peer);
    assert!(std::net::TcpStream::connect((ip, 25)).is_err(), "Postfix is stopped");
    (site, ip, tape, live)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_relay_recorded_against_postfix_replays_the_same_report_without_it() {
    let (site, ip, tape, live) = recorded();
    let files = tcp_files(Path::new(&tape));
    assert!(files.len() >= 3, "a connection per port at least: {files:?}");
    let header = std::fs::read_to_string(Path::new(&tape).join("plumbline-tape.json")).unwrap();
    assert!(header.contains("\"version\": 2"), "{header}");
    let all: String = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    for call in ["\"call\": \"write\"", "\"call\": \"read\"", "\"call\": \"start-tls\"", "\"call\": \"close\""] {
        assert!(all.contains(call), "no {call} in the recording");
    }
    assert!(all.contains(&format!("\"ok\": \"{ip}:465\"")), "the peer address is kept");
    assert!(all.contains("CN=relay-restricted.plumbline.test"), "the TLS facts are kept");

    let wasm = plugins::plugin("smtp-relay").display().to_string();
    let started = std::time::Instant::now();
    let (code, replayed, err) = run_json(&site, &["plugin", "test", &wasm, "--replay", &tape]);
    eprintln!("replayed {} dialogues in {:?}", files.len(), started.elapsed());
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("no recorded answer"), "{err}");
    assert_eq!(replayed["connectors"], live["connectors"]);
    assert_eq!(replayed["findings"], live["findings"]);
    assert_eq!(replayed["plugins"][0]["status"], "ok");
    assert_eq!(entry(&replayed, ip, 587)["attributes"]["starttls"], "working");
    assert_eq!(entry(&replayed, ip, 465)["attributes"]["tls_self_signed"], "true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_where_the_plugin_writes_other_bytes_is_a_miss_and_an_error_to_the_plugin() {
    let (site, ip, tape, _) = recorded();
    // The recording of port 25 now says another EHLO was written: the plugin's is not it.
    let port_25 = tcp_files(Path::new(&tape))
        .into_iter()
        .find(|f| std::fs::read_to_string(f).unwrap().contains(&format!("\"target\": \"{ip}:25\"")))
        .expect("a dialogue with port 25");
    let text = std::fs::read_to_string(&port_25).unwrap();
    assert!(text.contains("EHLO "), "{text}");
    std::fs::write(&port_25, text.replace("EHLO ", "EHLO changed.")).unwrap();

    let wasm = plugins::plugin("smtp-relay").display().to_string();
    let started = std::time::Instant::now();
    let (code, replayed, err) = run_json(&site, &["plugin", "test", &wasm, "--replay", &tape]);
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "no hang: {:?}", started.elapsed());
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("no recorded answer for write \"EHLO ") && err.contains(&format!("to {ip}:25")), "{err}");
    assert!(err.contains("write \"EHLO changed."), "the recorded call is named: {err}");
    assert!(err.contains("record again: plumbline plugin test"), "{err}");
    let e = entry(&replayed, ip, 25);
    assert_eq!(e["attributes"]["status"], "error", "{e}");
    assert!(e["attributes"]["error"].as_str().unwrap_or_default().contains("no recorded answer"), "{e}");
    assert_eq!(entry(&replayed, ip, 587)["attributes"]["status"], "ok", "the other dialogues replay alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_keeps_the_tcp_grants() {
    let (site, ip, tape, _) = recorded();
    // Port 25 no longer granted: its recorded dialogue cannot stand in for the grant.
    let denied = site.config(&section(&ip.to_string(), &[format!("{ip}:587,465")], ""));
    let wasm = plugins::plugin("smtp-relay").display().to_string();
    let denied = denied.display().to_string();
    let (_, replayed, err) = run_json(&site, &["plugin", "test", &wasm, "--config", &denied, "--replay", &tape]);
    let e = entry(&replayed, ip, 25);
    assert_eq!(e["attributes"]["status"], "denied", "{e}");
    let why = e["attributes"]["error"].as_str().unwrap_or_default();
    assert!(why.contains("not granted") && why.contains(&format!("{ip}:25")), "{why}");
    assert!(!err.contains("no recorded answer"), "denied before the recording is asked: {err}");
    assert_eq!(entry(&replayed, ip, 587)["attributes"]["status"], "ok", "{replayed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_slash_24_sweep_replays_the_same_report() {
    let peer = PostfixPeer::start(Mode::Open).expect("open Postfix peer");
    let ip = peer.ip();
    let [_, b, c, _] = ip.octets();
    let block = Ipv4Addr::new(127, b, c, 0);
    let site = Site::new();
    let config = site.config(&section(&format!("{block}/24"), &[format!("{block}/24:25")], "ports = '25'"));
    let wasm = plugins::plugin("smtp-relay").display().to_string();
    let tape = site.path("tape").display().to_string();
    let config = config.display().to_string();
    let (code, live, err) = run_json(&site, &["plugin", "test", &wasm, "--config", &config, "--record", &tape]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(entry(&live, ip, 25)["attributes"]["open_relay"], "yes", "{live}");
    drop(peer);
    let files = tcp_files(Path::new(&tape));
    assert!(files.len() >= 254, "every address of the sweep is a connection: {}", files.len());
    let refused = files.iter().filter(|f| std::fs::read_to_string(f).unwrap().contains("\"error\"")).count();
    assert!(refused >= 200, "the silent addresses' connect errors are kept: {refused}");

    let (code, replayed, err) = run_json(&site, &["plugin", "test", &wasm, "--replay", &tape]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("no recorded answer"), "{err}");
    assert_eq!(replayed["connectors"], live["connectors"]);
    assert_eq!(replayed["findings"], live["findings"]);
}
