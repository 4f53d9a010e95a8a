//! Old contracts keep working: the committed contract-0.1.0 builds of two
//! first-party plugins (tests/data/contract-v0.1.0) run beside the current
//! builds in one scan, and report what the current builds report.

use crate::power_automate_flows::live_section;
use crate::support::{lit, status, Site};
use plumbline_agent::register::ScanResult;
use plumbline_tests::fixture::{FixtureServer, Scenario};
use plumbline_tests::plugins;
use std::path::Path;

fn exchange_section(exports: &Path, component: &Path) -> String {
    Site::exchange_offline_section(exports)
        .replace(&lit(&plugins::plugin("exchange-connectors")), &lit(component))
}

/// The committed 0.1.0 builds predate signing: each config pins the one
/// it runs by its sha256 and allows it unsigned, as an operator keeping an
/// old build would.
fn pinned(body: &str, component: &Path) -> String {
    let path = format!("path = {}\n", lit(component));
    body.replace(&path, &format!("{path}sha256 = '{}'\nallow_unsigned = true\n", sha256_of(component)))
}

/// The context records of one plugin's part of a scan.
fn context_of(r: &ScanResult, plugin: &str) -> Vec<String> {
    r.connectors.iter().filter(|c| c.plugin == plugin && c.is_context()).map(|c| c.key.clone()).collect()
}

/// One plugin's part of a scan, as JSON: what the register would keep,
/// without the context marker that builds after 0.1.0 add.
fn register_of(r: &ScanResult, plugin: &str) -> (serde_json::Value, serde_json::Value) {
    let mut connectors: Vec<_> = r.connectors.iter().filter(|c| c.plugin == plugin).cloned().collect();
    for c in &mut connectors {
        c.attributes.remove(plumbline_protocol::register::RECORD_ATTRIBUTE);
    }
    let findings: Vec<_> = r.findings.iter().filter(|f| f.plugin == plugin).collect();
    (serde_json::to_value(connectors).unwrap(), serde_json::to_value(findings).unwrap())
}

fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_and_new_builds_run_in_one_scan_and_report_alike() {
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let exports = site.demo_exports();
    let (old_exchange, old_flows) = (plugins::v0_1_plugin("exchange-connectors"), plugins::v0_1_plugin("power-automate-flows"));
    let (new_exchange, new_flows) = (plugins::plugin("exchange-connectors"), plugins::plugin("power-automate-flows"));
    let mut scans = Vec::new();
    // Each scan mixes an old and a new component; together they cover both plugins in both versions.
    for (exchange, flows) in [(&old_exchange, &new_flows), (&new_exchange, &old_flows)] {
        let body = format!("{}\n{}", exchange_section(&exports, exchange), live_section(&site, &server, "", flows));
        let body = pinned(&pinned(&body, &old_exchange), &old_flows);
        let config = site.config(&body);
        let resolved = plumbline_agent::config::Config::load(&config).unwrap();
        let runtime = plumbline_agent::scan::runtime_for(&resolved).unwrap();
        for (plugin, file, old) in [("exchange-connectors", exchange, &old_exchange), ("power-automate-flows", flows, &old_flows)] {
            let contract = if file == old { "0.1.0" } else { "0.2.0" };
            assert_eq!(runtime.load(file, &resolved.trust(plugin)).unwrap().contract(), contract, "{}", file.display());
        }
        let result = site.scan(&config).await;
        for (plugin, file) in [("exchange-connectors", exchange), ("power-automate-flows", flows)] {
            let s = status(&result, plugin);
            assert_eq!(s.status, "ok", "{s:?}");
            assert_eq!(s.sha256.as_deref(), Some(&*sha256_of(file)), "{plugin} ran from {}", file.display());
            assert!(s.warnings.is_empty(), "{plugin}: {:?}", s.warnings);
        }
        scans.push(result);
    }
    // The current builds mark their context records; the 0.1.0 builds
    // predate the marker, so theirs count as connectors.
    assert_eq!(context_of(&scans[1], "exchange-connectors"), ["exchange-connectors/exchange:organization"]);
    assert!(context_of(&scans[0], "power-automate-flows").iter().all(|k| k.starts_with("power-automate-flows/flow-environment:")));
    assert!(!context_of(&scans[0], "power-automate-flows").is_empty());
    assert!(context_of(&scans[0], "exchange-connectors").is_empty() && context_of(&scans[1], "power-automate-flows").is_empty());
    for plugin in plugins::V0_1_PLUGINS {
        let (first, second) = (register_of(&scans[0], plugin), register_of(&scans[1], plugin));
        assert!(first.0.as_array().is_some_and(|a| a.len() > 2), "{plugin} reported connectors: {}", first.0);
        assert_eq!(first, second, "{plugin}: the 0.1.0 build and the current build report differently");
    }
}
