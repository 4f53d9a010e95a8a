//! The example under tests/example-plugins/servicenow-rest: a connector
//! source in under 60 lines of Rust with the SDK, run from the recording
//! committed beside it.

use crate::support::Site;
use plumbline_tests::plugins;
use serde_json::Value;

const EXAMPLE: &str = "tests/example-plugins/servicenow-rest";
/// The claim in docs/plugins.md.
const MAX_LINES: usize = 60;

#[test]
fn the_example_plugin_stays_under_sixty_lines() {
    let src = std::fs::read_to_string(plugins::root().join(EXAMPLE).join("src/lib.rs")).unwrap();
    let lines = src.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(lines <= MAX_LINES, "the example has {lines} non-blank lines; the docs promise at most {MAX_LINES}");
    assert!(src.contains("impl Plugin for") && src.contains("register_plugin!"), "it uses the SDK's trait and macro");
}

#[test]
fn the_example_plugin_replays_its_committed_recording() {
    let site = Site::new();
    let wasm = plugins::fixture_plugin("example-servicenow-rest").display().to_string();
    let replay = plugins::root().join(EXAMPLE).join("replay").display().to_string();
    let out = site.run(&["plugin", "test", &wasm, "--replay", &replay, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let connectors = report["connectors"].as_array().unwrap();
    assert_eq!(connectors.len(), 2, "{report}");
    assert!(connectors.iter().all(|c| c["category"] == "webhook-reference"), "{report}");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    assert_eq!(findings[0]["check_id"], "servicenow.retired-webhook");
    assert!(findings[0]["connector_key"].as_str().unwrap().ends_with("rest-message:6a1f0c2e1b"), "{report}");

    let table = site.run(&["plugin", "test", &wasm, "--replay", &replay]);
    let shown = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success() && shown.contains("Major incident to Teams"), "{shown}");
}
