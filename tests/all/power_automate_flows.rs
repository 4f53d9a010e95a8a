//! power-automate-flows as the real component in the real host: live mode
//! against the fixture server (Power Platform admin, Power Automate admin,
//! Graph users and the token endpoint, routed there by endpoint overrides,
//! with one credential profile per API), and offline mode against the
//! demo answers in demo/flows.

use crate::support::{error_of, lit, status, Site, local};
use plumbline_agent::register::ScanResult;
use plumbline_tests::fixture::flow_data::{default_environment, LEE, OPS_ENVIRONMENT};
use plumbline_tests::fixture::{
    flow, Fault, FaultRule, FaultTarget, FaultWhen, FixtureServer, FlowData, Scenario, DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
};
use plumbline_tests::plugins;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const PLUGIN: &str = "power-automate-flows";

/// (profile, scope, audience host)
const PROFILES: [(&str, &str, &str); 3] = [
    ("flow", "https://service.flow.microsoft.com/.default", "api.flow.microsoft.com"),
    ("bap", "https://api.bap.microsoft.com/.default", "api.bap.microsoft.com"),
    ("graph", "https://graph.microsoft.com/.default", "graph.microsoft.com"),
];

fn live_config(site: &Site, server: &FixtureServer, settings: &str) -> PathBuf {
    site.config(&live_section(site, server, settings, &plugins::plugin(PLUGIN)))
}

/// The plugin's section in live mode against `server`, loading `component`,
/// with its credential profiles and the endpoint overrides.
pub fn live_section(site: &Site, server: &FixtureServer, settings: &str, component: &Path) -> String {
    let secret = site.path("app.secret");
    std::fs::write(&secret, format!("{DEMO_CLIENT_SECRET}\n")).unwrap();
    let credentials: String = PROFILES
        .iter()
        .map(|(name, scope, host)| {
            format!(
                "[credentials.{name}]\nclient_id = '{DEMO_CLIENT_ID}'\nscope = '{scope}'\naudience = ['{host}']\nclient_secret_file = {}\n",
                lit(&secret)
            )
        })
        .collect();
    // One line per host, even if another service module lists a host too.
    let endpoints: BTreeMap<String, String> = server.endpoint_overrides().into_iter().collect();
    let endpoints: String = endpoints.iter().map(|(h, u)| format!("\"{h}\" = \"{u}\"\n")).collect();
    format!(
        "[plugins.{PLUGIN}]\npath = {}\n\
         [plugins.{PLUGIN}.grants]\nhttp = ['api.bap.microsoft.com', 'api.flow.microsoft.com', 'graph.microsoft.com']\n\
         credentials = ['flow', 'bap', 'graph']\n\
         [plugins.{PLUGIN}.settings]\nmode = 'live'\n{settings}\n\
         {credentials}\n[endpoints]\n{endpoints}",
        lit(component),
    )
}

fn findings(r: &ScanResult) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = r
        .findings
        .iter()
        .map(|f| {
            let name = r.connectors.iter().find(|c| c.key == f.connector_key).map(|c| c.name.clone()).unwrap_or_default();
            (name, f.check_id.clone())
        })
        .collect();
    out.sort();
    out
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_demo_tenant_gives_every_finding_with_three_tokens() {
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let result = site.scan(&live_config(&site, &server, "")).await;
    let s = status(&result, PLUGIN);
    assert_eq!(s.status, "ok", "{s:?}");
    assert_eq!(
        findings(&result),
        pairs(&[
            ("Post monitoring alerts to IT channel", "flow.teams-webhook-anyone"),
            ("Invoice intake (HTTP)", "flow.http-trigger"),
            ("Weekly licence report", "flow.orphaned"),
            ("New starter checklist", "flow.orphaned"),
            ("Expense approvals", "flow.suspended"),
            ("Daily sales digest", "flow.single-owner"),
        ])
    );
    assert_eq!(result.connectors.len(), 11 + 2, "11 flows and 2 environment entries");

    // The deleted owner: left out by getByIds, then a 404 from /users/{id}.
    let requests = server.requests();
    let lee: Vec<u16> = requests.iter().filter(|r| r.path == format!("/v1.0/users/{LEE}")).map(|r| r.status).collect();
    assert_eq!(lee, [404]);
    let licence = result.connectors.iter().find(|c| c.name == "Weekly licence report").unwrap();
    assert_eq!(licence.owner.as_deref(), Some(&*format!("{LEE} (deleted)")));
    let orphan = result.findings.iter().find(|f| f.connector_key == licence.key).unwrap();
    assert_eq!(orphan.severity, plumbline_agent::register::Severity::High);

    let webhook = result.connectors.iter().find(|c| c.name == "Post monitoring alerts to IT channel").unwrap();
    assert_eq!(webhook.category, "workflow");
    assert_eq!(webhook.auth_type.as_deref(), Some("TeamsIncomingWebhookTrigger"));
    assert_eq!(webhook.owner.as_deref(), Some("AdeleV@contoso.onmicrosoft.com"));
    assert_eq!(webhook.co_owners, ["MeganB@contoso.onmicrosoft.com"]);
    assert_eq!(webhook.scope, "Contoso (default)");
    assert_eq!(webhook.attributes.get("connectors").map(String::as_str), Some("shared_teams"));

    // Definitions only for the 4 Teams webhook and 2 HTTP flows of 11.
    let definitions = requests.iter().filter(|r| r.query.as_deref().is_some_and(|q| q.contains("$expand=properties.definition"))).count();
    assert_eq!(definitions, 6);
    let permissions = requests.iter().filter(|r| r.path.ends_with("/permissions")).count();
    assert_eq!(permissions, 11);
    assert_eq!(server.token_requests(), 3, "one token per profile, cached");
    // Each API got a token for its own resource (the fixture refuses others),
    // and no token reached the register.
    let json = serde_json::to_string(&result).unwrap();
    for r in requests.iter().filter(|r| r.bearer.is_some()) {
        assert!(!json.contains(r.bearer.as_deref().unwrap()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_pages_through_flows_and_retries_a_throttled_page() {
    let env = default_environment();
    let scenario = Scenario::demo().with_flows(FlowData::with_many_flows(620)).with_fault(FaultRule::new(
        FaultTarget::PathPrefix(flow::flows_path(&env)),
        FaultWhen::Nth(2),
        Fault::Throttle { retry_after_secs: 1 },
    ));
    let server = FixtureServer::start(scenario).await.unwrap();
    let site = Site::new();
    let result = site.scan(&live_config(&site, &server, "")).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", result.plugins);
    let flows = result.connectors.iter().filter(|c| local(&c.key).starts_with("flow:")).count();
    assert_eq!(flows, 620, "every page, every flow, once");
    let pages: Vec<(u16, Option<String>)> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == flow::flows_path(&env))
        .map(|r| (r.status, r.query))
        .collect();
    let statuses: Vec<u16> = pages.iter().map(|p| p.0).collect();
    assert_eq!(statuses, [200, 429, 200, 200], "the host waited out Retry-After and asked again");
    assert!(pages[0].1.as_deref().unwrap().contains("$top=250"));
    assert!(pages[2].1.as_deref().unwrap().contains("$skiptoken="));
    // 620 flows: every 50th a Teams webhook (half open to anyone), every 50th an HTTP trigger.
    let count = |id: &str| result.findings.iter().filter(|f| f.check_id == id).count();
    assert_eq!(count("flow.teams-webhook-anyone"), 7);
    assert_eq!(count("flow.http-trigger"), 12);
    assert!(count("flow.single-owner") > 0 && count("flow.orphaned") > 0);
    let env_entry = result.connectors.iter().find(|c| local(&c.key) == format!("flow-environment:{env}")).unwrap();
    assert_eq!(env_entry.attributes.get("flows_read").map(String::as_str), Some("620"));
    assert_eq!(env_entry.attributes.get("listing").map(String::as_str), Some("complete"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_max_flows_cuts_and_says_so() {
    let server = FixtureServer::start(Scenario::demo().with_flows(FlowData::with_many_flows(300))).await.unwrap();
    let site = Site::new();
    let result = site.scan(&live_config(&site, &server, "max_flows = 100\nenvironments = 'Default-6f1c2a4e-8b3d-4c5e-9a7f-0d2e4b6c8a10'")).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", result.plugins);
    assert_eq!(result.connectors.iter().filter(|c| local(&c.key).starts_with("flow:")).count(), 100);
    let env_entry = result.connectors.iter().find(|c| local(&c.key).starts_with("flow-environment:")).unwrap();
    assert_eq!(env_entry.attributes.get("listing").map(String::as_str), Some("cut at max_flows"));
    let pages = server.requests().iter().filter(|r| r.path.ends_with("/v2/flows")).count();
    assert_eq!(pages, 1, "no page beyond max_flows is fetched");
    let permissions = server.requests().iter().filter(|r| r.path.ends_with("/permissions")).count();
    assert_eq!(permissions, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_errors_are_clear_and_tokens_stay_with_their_audience() {
    // The flows of one environment answer 500 every time.
    let scenario = Scenario::demo().with_fault(FaultRule::new(
        FaultTarget::PathPrefix(flow::flows_path(OPS_ENVIRONMENT)),
        FaultWhen::Every,
        Fault::ServerError,
    ));
    let server = FixtureServer::start(scenario).await.unwrap();
    let site = Site::new();
    let result = site.scan(&live_config(&site, &server, "")).await;
    let e = error_of(&result, PLUGIN);
    assert!(e.contains(&format!("flows of environment {OPS_ENVIRONMENT}")) && e.contains("HTTP 500"), "{e}");

    // The BAP profile pointed at the Flow profile's resource: the fixture
    // refuses a token for the wrong audience, and the error says so.
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let result = site.scan(&live_config(&site, &server, "bap_credential = 'flow'")).await;
    let e = error_of(&result, PLUGIN);
    assert!(e.contains("not meant for `api.bap.microsoft.com`"), "{e}");
    assert!(server.requests().iter().all(|r| !r.path.contains("BusinessAppPlatform")), "no token was sent");
}

/// Copy the JSON answers under `from` (relative to the repository) into the site.
fn copy_answers(from: &str, to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                copy(&p, &to.join(e.file_name()));
            } else if p.extension().is_some_and(|x| x == "json") {
                std::fs::copy(&p, to.join(e.file_name())).unwrap();
            }
        }
    }
    copy(&plugins::root().join(from), to);
}

/// Copy demo/flows into the site.
fn copy_demo(to: &Path) {
    copy_answers("demo/flows", to);
}

fn offline_config(site: &Site, dir: &Path, grant: &Path) -> PathBuf {
    site.config(&format!(
        "[plugins.{PLUGIN}]\npath = {}\n[plugins.{PLUGIN}.grants]\nfiles = [{}]\n\
         [plugins.{PLUGIN}.settings]\nmode = 'offline'\nexport_dir = {}\n",
        lit(&plugins::plugin(PLUGIN)),
        lit(grant),
        lit(dir)
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_demo_answers_give_the_demo_findings() {
    let site = Site::new();
    let dir = site.path("flows");
    copy_demo(&dir);
    let result = site.scan(&offline_config(&site, &dir, &dir)).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", result.plugins);
    assert_eq!(
        findings(&result),
        pairs(&[
            ("RMM alerts to #it-alerts", "flow.teams-webhook-anyone"),
            ("Appointment reminders (HTTP)", "flow.http-trigger"),
            ("Imaging archive backup report", "flow.orphaned"),
            ("New patient forms to SharePoint", "flow.orphaned"),
            ("Supplier invoice approvals", "flow.suspended"),
            ("Daily schedule email", "flow.single-owner"),
        ])
    );
    assert_eq!(result.connectors.len(), 12);
    let lab = result.connectors.iter().find(|c| c.name == "Lab results intake").unwrap();
    assert_eq!(lab.attributes.get("trigger_authentication").map(String::as_str), Some("Tenant"), "read from UTF-16 files");
    assert!(result.connectors.iter().all(|c| c.plugin == PLUGIN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_answers_outside_the_grant_or_broken_are_refused() {
    let site = Site::new();
    let dir = site.path("flows");
    copy_demo(&dir);
    let elsewhere = site.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let e = error_of(&site.scan(&offline_config(&site, &dir, &elsewhere)).await, PLUGIN);
    assert!(e.contains("denied"), "{e}");

    let perms = dir.join("Default-5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa/permissions.json");
    let text = std::fs::read_to_string(&perms).unwrap();
    std::fs::write(&perms, &text[..text.len() / 2]).unwrap();
    let e = error_of(&site.scan(&offline_config(&site, &dir, &dir)).await, PLUGIN);
    assert!(e.contains("malformed") && e.contains("permissions.json"), "{e}");
}

/// Real public samples (plugins/power-automate-flows/tests/fixtures/real-samples;
/// its README names each source): the admin list's `"triggers": []` hid an
/// HTTP trigger open to anyone, and a trigger for specific users (`User`)
/// was an unknown value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_real_samples_read_the_definition_behind_an_empty_summary() {
    let site = Site::new();
    let dir = site.path("flows");
    copy_answers("plugins/power-automate-flows/tests/fixtures/real-samples", &dir);
    let result = site.scan(&offline_config(&site, &dir, &dir)).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", result.plugins);
    assert_eq!(findings(&result), pairs(&[("Invoicing flow", "flow.http-trigger")]));
    let attr = |name: &str, key: &str| {
        let c = result.connectors.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name}"));
        c.attributes.get(key).cloned()
    };
    assert_eq!(attr("Invoicing flow", "trigger_authentication").as_deref(), Some("Anyone"));
    assert_eq!(attr("Invoicing flow 2", "trigger_authentication").as_deref(), Some("SpecificUsers"));
    assert_eq!(attr("Get a daily digest of the top CNN news", "connectors").as_deref(), Some("unknown"));
    let button = result.connectors.iter().find(|c| c.name == "Send myself a reminder in 10 minutes").unwrap();
    assert_eq!(button.auth_type.as_deref(), Some("Request (Button)"));
}
