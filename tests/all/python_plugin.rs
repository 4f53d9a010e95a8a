//! A plugin written in Python (examples/python-plugin, built with
//! componentize-py by the test kit) in the real host: the agent loads it
//! unchanged, with WASI linked deny-all, and it reports through the same
//! contract, under the same grants and limits, against the fixture server's
//! Azure Resource Manager and the public azure-rest-api-specs example.

use crate::azure_support::{self, findings, fingerprint};
use crate::support::{error_of, lit, local, status, Site};
use plumbline_agent::register::ScanResult;
use plumbline_protocol::register::Severity;
use plumbline_tests::fixture::arm::{self, ArmData, DEMO_SUBSCRIPTION, DEMO_SUBSCRIPTION_2};
use plumbline_tests::fixture::{Fault, FaultRule, FaultTarget, FaultWhen, FixtureServer, Scenario};
use plumbline_tests::plugins;
use std::path::PathBuf;

const PLUGIN: &str = "azure-action-groups";

fn section(site: &Site, server: &FixtureServer, subscriptions: &[&str]) -> String {
    azure_support::section(site, server, PLUGIN, &plugins::python_plugin(PLUGIN), subscriptions)
}

async fn scan(scenario: Scenario, subscriptions: &[&str]) -> (ScanResult, FixtureServer) {
    azure_support::scan(scenario, PLUGIN, &plugins::python_plugin(PLUGIN), subscriptions).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_plugin_reports_action_group_webhooks_and_keeps_their_urls_secret() {
    let (result, server) = scan(Scenario::demo(), &[DEMO_SUBSCRIPTION, DEMO_SUBSCRIPTION_2]).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", result.plugins);
    assert_eq!(
        findings(&result),
        vec![
            ("Backup alerts in action group ag-old-backup".into(), "azure-action-groups.retired-teams-webhook".into(), Severity::Low),
            ("Teams NOC channel in action group ag-critical-servers".into(), "azure-action-groups.retired-teams-webhook".into(), Severity::High),
            ("Ticketing in action group ag-migrated".into(), "azure-action-groups.plain-http-webhook".into(), Severity::Medium),
        ]
    );
    let receivers: Vec<_> = result.connectors.iter().filter(|c| !c.is_context()).collect();
    assert_eq!(receivers.len(), 5, "four webhooks and a Logic App: {receivers:#?}");
    let contexts: Vec<_> = result.connectors.iter().filter(|c| c.is_context()).collect();
    assert_eq!(contexts.len(), 2, "a context record per subscription");
    assert!(contexts.iter().all(|c| c.attributes["complete"] == "true"));

    let teams = receivers.iter().find(|c| c.name.starts_with("Teams NOC")).unwrap();
    assert_eq!(teams.migration_state.as_deref(), Some("legacy-retired"));
    assert_eq!(teams.attributes["target"], "teams-incoming-webhook");
    assert_eq!(teams.attributes["host"], "contoso.webhook.office.com");
    let url = arm::ArmData::demo().subscriptions[0].1[0]["properties"]["webhookReceivers"][0]["serviceUri"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(teams.attributes["url_fingerprint"], fingerprint(&url), "the SDK's fingerprint form, computed in Python");
    let workflow = receivers.iter().find(|c| c.name.starts_with("Teams via Workflows")).unwrap();
    assert_eq!(workflow.migration_state.as_deref(), Some("workflow"));
    let logic = receivers.iter().find(|c| c.name.starts_with("Enrich and route")).unwrap();
    assert_eq!(logic.attributes["receiver_kind"], "logic-app");

    // No URL, signature or path of a receiver reaches the register.
    let text = serde_json::to_string(&(&result.connectors, &result.findings)).unwrap();
    for secret in ["webhookb2", "IncomingWebhook", "fixturesig", "sig=", "/workflows/", "azure-alert"] {
        assert!(!text.contains(secret), "`{secret}` leaked into the register");
    }
    // One token for ARM, the plugin's requests carried it, nothing else was asked.
    let arm_calls: Vec<_> = server.requests().into_iter().filter(|r| r.path.starts_with("/subscriptions/")).collect();
    assert_eq!(arm_calls.len(), 2);
    assert!(arm_calls.iter().all(|r| r.bearer.is_some() && r.query.as_deref().unwrap().contains("api-version=2023-01-01")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_plugin_pages_retries_and_reports_an_unreadable_subscription() {
    let mut data = ArmData::demo();
    data.page_size = 1;
    data.forbidden.push(DEMO_SUBSCRIPTION_2.to_string());
    let scenario = Scenario::demo().with_arm(data).with_fault(FaultRule::new(
        FaultTarget::PathPrefix(arm::action_groups_path(DEMO_SUBSCRIPTION)),
        FaultWhen::Nth(2),
        Fault::Throttle { retry_after_secs: 1 },
    ));
    let (result, server) = scan(scenario, &[DEMO_SUBSCRIPTION, DEMO_SUBSCRIPTION_2]).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", result.plugins);
    assert_eq!(result.connectors.iter().filter(|c| !c.is_context()).count(), 5, "every page, once");
    let pages: Vec<u16> = server
        .requests()
        .iter()
        .filter(|r| r.path == arm::action_groups_path(DEMO_SUBSCRIPTION))
        .map(|r| r.status)
        .collect();
    assert_eq!(pages, [200, 429, 200, 200], "three pages, the throttled one asked again after Retry-After");
    let unreadable: Vec<_> = result.findings.iter().filter(|f| f.check_id == "azure-action-groups.subscription-unreadable").collect();
    assert_eq!(unreadable.len(), 1);
    assert_eq!(local(&unreadable[0].connector_key), format!("azure-action-groups:subscription:{DEMO_SUBSCRIPTION_2}"));
    assert!(unreadable[0].detail.contains("HTTP 403: AuthorizationFailed"), "{}", unreadable[0].detail);
    assert!(unreadable[0].remediation.contains("Monitoring Reader"));
    let ctx = result.connectors.iter().find(|c| c.key == unreadable[0].connector_key).unwrap();
    assert_eq!(ctx.attributes["complete"], "false");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_plugin_reads_the_public_azure_rest_api_example() {
    // azure-rest-api-specs' listActionGroups.json: two plain-HTTP webhooks
    // (one with Entra authentication) in SampleActionGroup, none in the
    // disabled SampleActionGroup2.
    let example: serde_json::Value =
        serde_json::from_slice(&std::fs::read(plugins::root().join("tests/data/azure/listActionGroups.json")).unwrap()).unwrap();
    let sub = example["parameters"]["subscriptionId"].as_str().unwrap().to_string();
    let (result, _server) = scan(Scenario::demo().with_arm(ArmData::from_spec_example(&example)), &[&sub]).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", result.plugins);
    let receivers: Vec<_> = result.connectors.iter().filter(|c| !c.is_context()).collect();
    let mut names: Vec<&str> = receivers.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Sample webhook 2 in action group SampleActionGroup", "Sample webhook in action group SampleActionGroup"]);
    let aad = receivers.iter().find(|c| c.name.starts_with("Sample webhook 2")).unwrap();
    assert_eq!(aad.auth_type.as_deref(), Some("entra-token"));
    assert_eq!(aad.attributes["resource_group"], "default-notificationrules");
    assert_eq!(aad.attributes["target"], "other");
    let checks: Vec<_> = findings(&result).into_iter().map(|(_, c, s)| (c, s)).collect();
    assert_eq!(checks, vec![("azure-action-groups.plain-http-webhook".to_string(), Severity::Medium); 2]);
    let ctx = result.connectors.iter().find(|c| c.is_context()).unwrap();
    assert_eq!(ctx.attributes["action_groups"], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_plugin_settings_and_grants_are_checked_like_any_plugin() {
    // A subscription that is not a GUID: the plugin's own config error.
    let (result, server) = scan(Scenario::demo(), &["prod-subscription"]).await;
    let e = error_of(&result, PLUGIN);
    assert!(e.contains("`prod-subscription` is not a subscription id"), "{e}");
    assert!(server.requests().iter().all(|r| !r.path.starts_with("/subscriptions/")));

    // No http grant: the host denies the request, whatever the Python code asks.
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let body = section(&site, &server, &[DEMO_SUBSCRIPTION]).replace(&format!("http = ['{}']\n", arm::HOST), "");
    let result = site.scan(&site.config(&body)).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "a denied subscription is reported, not fatal");
    let f = result.findings.iter().find(|f| f.check_id == "azure-action-groups.subscription-unreadable").unwrap();
    assert!(f.detail.contains("the request failed") && f.detail.contains("management.azure.com"), "{}", f.detail);
    assert!(server.requests().iter().all(|r| !r.path.starts_with("/subscriptions/")), "nothing reached ARM");

    // `plugins inspect` reads its declarations like a Rust plugin's.
    let out = site.run(&["plugins", "inspect", plugins::python_plugin(PLUGIN).to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("subscriptions") && text.contains("Monitoring Reader") && text.contains("0.2.0"), "{text}");
    // CPython expects WASI: inspect says so, and that it is linked deny-all.
    assert!(text.contains("WASI interfaces linked deny-all:") && text.contains("    wasi:cli@0.2") && text.contains(": environment, exit, "), "{text}");
}

/// A TCP listener that counts the connections it gets.
fn counting_listener() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for _ in listener.incoming().flatten() {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (addr, count)
}

#[test]
fn python_plugin_wasi_is_deny_all() {
    let site = Site::new();
    let secret_file: PathBuf = site.path("secret.txt");
    std::fs::write(&secret_file, "TOP-SECRET-FILE").unwrap();
    let (addr, connections) = counting_listener();
    let config = site.config(&format!(
        "[plugins.fixture-wasi-probe]\npath = {}\n[plugins.fixture-wasi-probe.grants]\nfiles = [{}]\n\
         [plugins.fixture-wasi-probe.settings]\nfile = {}\nconnect = '{addr}'\nsecret_env = 'PROBE_SECRET'\n",
        lit(&plugins::python_plugin("fixture-wasi-probe")),
        lit(site.dir.path()),
        lit(&secret_file),
    ));
    let out = site.run_with(
        &["scan", "--config", config.to_str().unwrap(), "--format", "json"],
        &[("PROBE_SECRET", "TOP-SECRET-ENV")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let probe = json["connectors"].as_array().unwrap().iter().find(|c| local(c["key"].as_str().unwrap()) == "wasi-probe").unwrap();
    let attr = |n: &str| probe["attributes"][n].as_str().unwrap_or_else(|| panic!("no {n}: {probe}")).to_string();
    // A WASI file grant does not follow the contract's: even a granted
    // folder is out of reach through WASI.
    for tried in ["read_file", "list_root", "list_cwd", "write_file", "env_secret", "connect", "resolve"] {
        assert!(attr(tried).starts_with("denied: "), "{tried}: {}", attr(tried));
    }
    assert_eq!(attr("env_count"), "0");
    assert!(!attr("argv").contains("plumbline") && !attr("argv").contains("--config"), "{}", attr("argv"));
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing connected to the listener");
    assert!(!std::path::Path::new("/tmp/plumbline-wasi-probe").exists());
    // print() is allowed to succeed, into nothing.
    for text in [&stdout, &stderr] {
        assert!(!text.contains("WASI-PROBE-STDOUT") && !text.contains("WASI-PROBE-STDERR"), "guest stdio reached the agent's");
        assert!(!text.contains("TOP-SECRET"));
    }
    assert_eq!(attr("clock_ok"), "true", "clocks work");
    assert_eq!(attr("random_bytes"), "16", "random works");
}
