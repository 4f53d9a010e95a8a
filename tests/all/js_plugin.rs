//! A plugin written in JavaScript (examples/js-plugin, built with
//! componentize-js by the test kit) in the real host: the agent loads it
//! unchanged, it reports through the same contract, under the same grants and
//! limits, against the fixture server's Logic Apps and the public
//! azure-rest-api-specs examples.

use crate::azure_support::{self, findings, fingerprint};
use crate::support::{error_of, local, status, Site};
use plumbline_agent::register::ScanResult;
use plumbline_protocol::register::Severity;
use plumbline_tests::fixture::arm::{self, logic, ArmData, DEMO_SUBSCRIPTION, DEMO_SUBSCRIPTION_2};
use plumbline_tests::fixture::{Fault, FaultRule, FaultTarget, FaultWhen, FixtureServer, Scenario};
use plumbline_tests::plugins;

const PLUGIN: &str = "azure-logic-apps";
const RETIRED: &str = "azure-logic-apps.retired-teams-webhook";
const PLAIN_HTTP: &str = "azure-logic-apps.plain-http-action";
const SECRET: &str = "azure-logic-apps.secret-in-definition";
const OPEN: &str = "azure-logic-apps.open-request-trigger";
const UNREADABLE: &str = "azure-logic-apps.subscription-unreadable";

fn section(site: &Site, server: &FixtureServer, subscriptions: &[&str]) -> String {
    azure_support::section(site, server, PLUGIN, &plugins::js_plugin(PLUGIN), subscriptions)
}

async fn scan(scenario: Scenario, subscriptions: &[&str]) -> (ScanResult, FixtureServer) {
    azure_support::scan(scenario, PLUGIN, &plugins::js_plugin(PLUGIN), subscriptions).await
}

fn with_workflows(workflows: Vec<(String, Vec<serde_json::Value>)>) -> Scenario {
    Scenario::demo().with_arm(ArmData { workflows, ..ArmData::default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_plugin_reports_retired_webhooks_typed_passwords_and_open_triggers_in_logic_apps() {
    let (result, server) = scan(Scenario::demo(), &[DEMO_SUBSCRIPTION, DEMO_SUBSCRIPTION_2]).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", result.plugins);
    let s = |n: &str, c: &str, v: Severity| (n.to_string(), c.to_string(), v);
    assert_eq!(
        findings(&result),
        vec![
            s("Logic App la-backup-report", OPEN, Severity::Info),
            s("Logic App la-backup-report", SECRET, Severity::High),
            s("Notify/Post_to_NOC_channel in Logic App la-noc-alerts", RETIRED, Severity::High),
            s("Open_ticket in Logic App la-backup-report", PLAIN_HTTP, Severity::Medium),
            s("Post_backup_summary in Logic App la-backup-report", RETIRED, Severity::Low),
        ]
    );
    let by_name = |n: &str| result.connectors.iter().find(|c| c.name == n).unwrap_or_else(|| panic!("no {n}"));
    let workflows: Vec<_> = result.connectors.iter().filter(|c| c.category == "workflow" && !c.is_context()).collect();
    assert_eq!(workflows.len(), 3);
    let refs: Vec<&str> =
        result.connectors.iter().filter(|c| c.category == "webhook-reference").map(|c| c.name.as_str()).collect();
    assert_eq!(refs.len(), 5, "every HTTP action with a URL it could resolve, nested ones included: {refs:?}");
    assert!(refs.contains(&"For_each_approver/Route/Relay/Forward in Logic App la-teams-approvals"), "{refs:?}");

    // The NOC alert's URL: the fingerprint computed in JavaScript is the SDK's.
    let noc = by_name("Notify/Post_to_NOC_channel in Logic App la-noc-alerts");
    assert_eq!(noc.attributes["url_fingerprint"], fingerprint(logic::NOC_WEBHOOK));
    assert_eq!(noc.attributes["target"], "teams-incoming-webhook");
    assert_eq!(noc.migration_state.as_deref(), Some("legacy-retired"));
    assert_eq!(noc.owner.as_deref(), Some("j.doe@contoso.com"), "the owner tag");
    // A URL from a parameter is resolved from the workflow's parameter values.
    let pager = by_name("Check_severity/else/Page_on_call in Logic App la-noc-alerts");
    assert_eq!((pager.attributes["url_from"].as_str(), pager.attributes["host"].as_str()), ("parameter", "events.pagerduty.com"));
    let noc_app = by_name("Logic App la-noc-alerts");
    assert_eq!(noc_app.migration_state.as_deref(), Some("needs-migration"));
    assert_eq!(noc_app.attributes["triggers"], "Every_hour:recurrence");
    assert_eq!(noc_app.attributes["actions"], "4", "two containers and two HTTP actions");
    let approvals = by_name("Logic App la-teams-approvals");
    assert_eq!(approvals.attributes["managed_connectors"], "teams");
    assert_eq!(approvals.auth_type.as_deref(), Some("entra-oauth"));
    assert_eq!(approvals.migration_state, None);
    let secret = result.findings.iter().find(|f| f.check_id == SECRET).unwrap();
    assert!(secret.detail.contains("authentication.password") && secret.remediation.contains("Key Vault"), "{}", secret.detail);

    // No URL path, signature, header or password reaches the register.
    let text = serde_json::to_string(&(&result.connectors, &result.findings)).unwrap();
    for leaked in [logic::TYPED_PASSWORD, "webhookb2", "IncomingWebhook", "sig=", "fixturesig", "0123456789abcdef0123456789abcdef", "relayToken"] {
        assert!(!text.contains(leaked), "`{leaked}` leaked into the register");
    }
    let contexts: Vec<_> = result.connectors.iter().filter(|c| c.is_context()).collect();
    assert_eq!(contexts.len(), 2, "a context record per subscription");
    assert!(contexts.iter().all(|c| c.attributes["complete"] == "true"));
    let calls: Vec<_> = server.requests().into_iter().filter(|r| r.path.starts_with("/subscriptions/")).collect();
    assert_eq!(calls.len(), 2, "one list per subscription");
    assert!(calls.iter().all(|r| r.bearer.is_some() && r.query.as_deref().unwrap().contains(&format!("api-version={}", logic::API_VERSION))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_plugin_pages_retries_and_reports_an_unreadable_subscription() {
    let mut data = ArmData { workflows: logic::demo(), page_size: 1, ..ArmData::default() };
    data.forbidden.push(DEMO_SUBSCRIPTION_2.to_string());
    let scenario = Scenario::demo().with_arm(data).with_fault(FaultRule::new(
        FaultTarget::PathPrefix(logic::workflows_path(DEMO_SUBSCRIPTION)),
        FaultWhen::Nth(2),
        Fault::Throttle { retry_after_secs: 1 },
    ));
    let (result, server) = scan(scenario, &[DEMO_SUBSCRIPTION, DEMO_SUBSCRIPTION_2]).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", result.plugins);
    assert_eq!(result.connectors.iter().filter(|c| c.category == "workflow" && !c.is_context()).count(), 3, "every page, once");
    let pages: Vec<u16> =
        server.requests().iter().filter(|r| r.path == logic::workflows_path(DEMO_SUBSCRIPTION)).map(|r| r.status).collect();
    assert_eq!(pages, [200, 429, 200, 200], "three pages, the throttled one asked again after Retry-After");
    let unreadable: Vec<_> = result.findings.iter().filter(|f| f.check_id == UNREADABLE).collect();
    assert_eq!(unreadable.len(), 1);
    assert_eq!(local(&unreadable[0].connector_key), format!("azure-logic-apps:subscription:{DEMO_SUBSCRIPTION_2}"));
    assert!(unreadable[0].detail.contains("HTTP 403: AuthorizationFailed"), "{}", unreadable[0].detail);
    assert!(unreadable[0].remediation.contains("Logic App Operator"));
    let ctx = result.connectors.iter().find(|c| c.key == unreadable[0].connector_key).unwrap();
    assert_eq!(ctx.attributes["complete"], "false");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_plugin_reads_the_public_azure_rest_api_examples() {
    let example = |file: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(plugins::root().join("tests/data/azure").join(file)).unwrap()).unwrap()
    };
    // Workflows_CreateOrUpdate.json: an HTTP request trigger with no access
    // control, and an action through a custom managed connector.
    let created = example("Workflows_CreateOrUpdate.json");
    let sub = created["parameters"]["subscriptionId"].as_str().unwrap().to_string();
    let (result, _server) = scan(with_workflows(logic::from_spec_example(&created)), &[&sub]).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", result.plugins);
    let app = result.connectors.iter().find(|c| c.name == "Logic App test-workflow").expect("the example's workflow");
    assert_eq!(app.attributes["managed_connectors"], "test-custom-connector");
    assert_eq!(app.attributes["triggers"], "manual:request");
    assert_eq!(app.attributes["resource_group"], "test-resource-group");
    assert_eq!(app.auth_type.as_deref(), Some("sas-url"));
    assert_eq!(findings(&result), vec![("Logic App test-workflow".into(), OPEN.into(), Severity::Low)]);

    // Workflows_ListBySubscription.json: an empty definition, nothing to say.
    let listed = example("Workflows_ListBySubscription.json");
    let (result, _server) = scan(with_workflows(logic::from_spec_example(&listed)), &[&sub]).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", result.plugins);
    let app = result.connectors.iter().find(|c| c.name == "Logic App test-workflow").expect("the listed workflow");
    assert_eq!(app.attributes["created_time"], "2018-04-25T01:39:21.4365247Z");
    assert_eq!(app.attributes["location"], "brazilsouth");
    assert!(result.findings.is_empty(), "{:?}", result.findings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_plugin_refuses_bad_settings_and_hostile_definitions_with_clear_errors() {
    let (result, server) = scan(Scenario::demo(), &["prod-subscription"]).await;
    let e = error_of(&result, PLUGIN);
    assert!(e.contains("`prod-subscription` is not a subscription id"), "{e}");
    assert!(server.requests().iter().all(|r| !r.path.starts_with("/subscriptions/")));

    // A definition nested deeper than any designer makes: the plugin's own
    // error, not a trap and not a stack overflow.
    let mut nested = serde_json::json!({"type": "Http", "inputs": {"uri": "https://example.com/"}});
    for i in 0..40 {
        nested = serde_json::json!({"type": "Scope", "actions": {format!("Scope_{i}"): nested}});
    }
    let mut workflows = logic::demo();
    workflows[0].1[0]["properties"]["definition"]["actions"] = serde_json::json!({"Deep": nested});
    let (result, _server) = scan(with_workflows(workflows), &[DEMO_SUBSCRIPTION]).await;
    let e = error_of(&result, PLUGIN);
    assert!(e.contains("nested deeper than 32 levels"), "{e}");

    // A list that is not JSON is the plugin's upstream error too.
    let scenario = Scenario::demo().with_fault(FaultRule::new(
        FaultTarget::PathPrefix(logic::workflows_path(DEMO_SUBSCRIPTION)),
        FaultWhen::Every,
        Fault::HtmlErrorPage { status: 200 },
    ));
    let (result, _server) = scan(scenario, &[DEMO_SUBSCRIPTION]).await;
    let e = error_of(&result, PLUGIN);
    assert!(e.contains("the Logic Apps list is not JSON"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_plugin_grants_and_declarations_are_checked_like_any_plugin() {
    // No http grant: the host denies the request, whatever the JavaScript asks.
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let body = section(&site, &server, &[DEMO_SUBSCRIPTION]).replace(&format!("http = ['{}']\n", arm::HOST), "");
    let result = site.scan(&site.config(&body)).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "a denied subscription is reported, not fatal");
    let f = result.findings.iter().find(|f| f.check_id == UNREADABLE).unwrap();
    assert!(f.detail.contains("the request failed") && f.detail.contains("management.azure.com"), "{}", f.detail);
    assert!(server.requests().iter().all(|r| !r.path.starts_with("/subscriptions/")), "nothing reached ARM");

    // `plugins inspect` reads its declarations like a Rust plugin's, and the
    // build signed it like every other component.
    let out = site.run(&["plugins", "inspect", plugins::js_plugin(PLUGIN).to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    // Built with every WASI feature off, it needs nothing but the contract.
    let expected = ["azure-logic-apps", "subscriptions", "Logic App Operator", "plumbline:plugin@0.2.0", "management.azure.com", "signed by"];
    for expected in expected.into_iter().chain(["imports:     the contract only"]) {
        assert!(text.contains(expected), "`{expected}` missing from:\n{text}");
    }
}
