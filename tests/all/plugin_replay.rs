//! `plumbline plugin test --record / --replay`: exchange-connectors in live
//! mode recorded against the fixture server, then replayed with the server
//! gone; the recording holds no secret, a changed request is named with
//! its closest recorded one, and a replay keeps the grants.

use crate::exchange_live::{live_config, Cred};
use crate::support::Site;
use plumbline_tests::fixture::{FixtureServer, Scenario, DEMO_CLIENT_SECRET};
use plumbline_tests::plugins;
use serde_json::Value;
use std::path::Path;

/// Run the agent with `--format json`: its exit code, report and stderr.
pub(crate) fn run_json(site: &Site, args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = site.run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), report, stderr)
}

/// Everything in the recording, as text.
fn recording_text(dir: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        all.push_str(&std::fs::read_to_string(e.path()).unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_live_scan_replays_without_the_tenant() {
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let config = live_config(&site, &server, Cred::Secret(DEMO_CLIENT_SECRET), "outlook.office365.com", "'exchange'");
    let wasm = plugins::plugin("exchange-connectors").display().to_string();
    let tape = site.path("tape");
    let tape_arg = tape.display().to_string();
    let config_arg = config.display().to_string();
    let (code, live, err) = run_json(&site, &["plugin", "test", &wasm, "--config", &config_arg, "--record", &tape_arg]);
    assert_eq!(code, Some(0), "{err}");
    assert!(live["connectors"].as_array().is_some_and(|c| c.len() > 3), "{live}");
    let calls: usize = err.split("recorded ").nth(1).and_then(|r| r.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(calls >= 4, "at least one InvokeCommand per cmdlet: {err}");
    assert_eq!(std::fs::read_dir(&tape).unwrap().count(), calls + 1, "a file per call and the header");

    let bearer = server.requests().iter().find_map(|r| r.bearer.clone()).expect("the fixture saw the token");
    server.stop().await;
    let recorded = recording_text(&tape);
    assert!(recorded.contains("\"version\": 2") && recorded.contains("Get-InboundConnector"), "{recorded}");
    for secret in [DEMO_CLIENT_SECRET, bearer.as_str()] {
        assert!(!recorded.contains(secret), "a secret reached the recording: {secret}");
    }

    let (code, replayed, err) = run_json(&site, &["plugin", "test", &wasm, "--replay", &tape_arg]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(replayed["connectors"], live["connectors"]);
    assert_eq!(replayed["findings"], live["findings"]);
    assert_eq!(replayed["plugins"][0]["status"], "ok");

    // The author changed the plugin: its first request is not the recorded one.
    let first = tape.join("0001-http.json");
    let text = std::fs::read_to_string(&first).unwrap();
    let cmdlet = ["Get-InboundConnector", "Get-OutboundConnector", "Get-OrganizationConfig", "Get-TransportConfig"]
        .into_iter()
        .find(|c| text.contains(c))
        .unwrap();
    std::fs::write(&first, text.replace(cmdlet, "Get-SomethingElse")).unwrap();
    let (code, _, err) = run_json(&site, &["plugin", "test", &wasm, "--replay", &tape_arg]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("no recorded answer for POST https://outlook.office365.com/adminapi/beta/"), "{err}");
    assert!(err.contains(cmdlet) && err.contains("the closest recorded call is POST https://outlook.office365.com/"), "{err}");
    assert!(err.contains("record again: plumbline plugin test"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_keeps_the_grants() {
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let config = live_config(&site, &server, Cred::Secret(DEMO_CLIENT_SECRET), "outlook.office365.com", "'exchange'");
    let wasm = plugins::plugin("exchange-connectors").display().to_string();
    let tape = site.path("tape").display().to_string();
    let (code, _, err) = run_json(&site, &["plugin", "test", &wasm, "--config", &config.display().to_string(), "--record", &tape]);
    assert_eq!(code, Some(0), "{err}");
    server.stop().await;

    // The same section without the http grant: the recording cannot stand in for it.
    let text = std::fs::read_to_string(&config).unwrap().replace("http = ['outlook.office365.com']", "http = []");
    let denied = site.path("denied.toml");
    std::fs::write(&denied, text).unwrap();
    let (code, report, err) = run_json(&site, &["plugin", "test", &wasm, "--config", &denied.display().to_string(), "--replay", &tape]);
    assert_eq!(code, Some(3), "{err}");
    let error = report["plugins"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("outlook.office365.com") && error.contains("denied"), "{report}");
    assert!(!err.contains("no recorded answer"), "denied before the recording is asked: {err}");
}

#[test]
fn plugin_test_needs_a_config_to_record_and_a_recording_to_replay() {
    let site = Site::new();
    let wasm = plugins::plugin("exchange-connectors").display().to_string();
    let out = site.run(&["plugin", "test", &wasm, "--record", &site.path("t").display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --config"));
    let out = site.run(&["plugin", "test", &wasm, "--replay", &site.path("nothing").display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("record one first"), "{}", String::from_utf8_lossy(&out.stderr));
}
