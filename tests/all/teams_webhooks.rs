//! teams-webhooks, the real component in the real host: live against the
//! fixture server (Graph and Entra ID behind endpoint overrides, a `graph`
//! credential profile), and offline against the demo export in demo/teams.

use crate::support::{error_of, lit, status, Site, local};
use plumbline_agent::register::ScanResult;
use plumbline_tests::fixture::graph_data::{
    many_team_id, FINANCE, HELP_DESK, JIRA_APP_ID, NETWORK_OPS, PROJECT_FALCON, SALES,
};
use plumbline_tests::fixture::{
    Fault, FaultRule, FaultTarget, FaultWhen, FixtureServer, GraphCall, GraphData, Scenario,
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
};
use plumbline_tests::plugins;
use std::collections::BTreeMap;

const PLUGIN: &str = "teams-webhooks";
const IW: &str = "203a1e2c-26cc-47ca-83ae-be98f960b6b2";
/// The plugin's `live::MAX_BATCH_ROUNDS`.
const BATCH_ROUNDS: usize = 4;

/// A live config: Graph and the token endpoint routed to the fixture, the
/// `graph` profile with the demo secret, `extra` settings appended.
pub(crate) fn live_config(site: &Site, server: &FixtureServer, extra: &str) -> std::path::PathBuf {
    let secret = site.path("graph.secret");
    std::fs::write(&secret, format!("{DEMO_CLIENT_SECRET}\n")).unwrap();
    let endpoints: String = server
        .endpoint_overrides()
        .into_iter()
        .map(|(host, url)| format!("\"{host}\" = \"{url}\"\n"))
        .collect();
    site.config(&format!(
        "[plugins.{PLUGIN}]\npath = {}\n\
         [plugins.{PLUGIN}.grants]\nhttp = ['graph.microsoft.com']\ncredentials = ['graph']\n\
         [plugins.{PLUGIN}.settings]\nmode = 'live'\nas_of = '2026-11-25T09:00:00Z'\n{extra}\n\
         [credentials.graph]\nclient_id = '{DEMO_CLIENT_ID}'\nscope = 'https://graph.microsoft.com/.default'\n\
         audience = ['graph.microsoft.com']\nclient_secret_file = {}\n\
         [endpoints]\n{endpoints}",
        lit(&plugins::plugin(PLUGIN)),
        lit(&secret),
    ))
}

fn ok(result: &ScanResult) {
    let s = status(result, PLUGIN);
    assert_eq!(s.status, "ok", "{s:?}");
}

/// `(connector key, check id)` of every finding, sorted.
fn findings(result: &ScanResult) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = result
        .findings
        .iter()
        .map(|f| (local(&f.connector_key).to_string(), f.check_id.clone()))
        .collect();
    v.sort();
    v
}

fn entry<'a>(result: &'a ScanResult, key: &str) -> &'a plumbline_agent::register::ConnectorEntry {
    result
        .connectors
        .iter()
        .find(|c| c.key == key || local(&c.key) == key)
        .unwrap_or_else(|| panic!("no {key}: {:?}", result.connectors.iter().map(|c| &c.key).collect::<Vec<_>>()))
}

fn app_key(team: &str, app: &str) -> String {
    format!("teams:{team}:app:{app}")
}

/// The calls about one team, in order.
fn calls_about(calls: &[GraphCall], team: &str) -> Vec<GraphCall> {
    calls.iter().filter(|c| c.url.contains(team)).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_pages_batches_retries_throttled_items_and_notes_403() {
    let throttled = many_team_id(9); // has the Incoming Webhook, two owners
    let forbidden = many_team_id(12); // has the Incoming Webhook too
    let graph = GraphData::with_many_teams(45)
        .with_max_page_size(20)
        .with_throttle(&throttled, 1, 1)
        .with_apps_forbidden(&forbidden);
    let server = FixtureServer::start(Scenario::demo().with_graph(graph)).await.unwrap();
    let site = Site::new();
    let result = site.scan(&live_config(&site, &server, "")).await;
    ok(&result);

    // Paging: 45 teams (and no other group) in pages of at most 20.
    let listing: Vec<_> = server.requests().into_iter().filter(|r| r.path == "/v1.0/groups").collect();
    assert_eq!(listing.len(), 3, "{listing:?}");
    assert!(listing.iter().all(|r| r.status == 200 && r.bearer.is_some()));
    assert!(listing[1].query.as_deref().unwrap().contains("$skiptoken="), "{listing:?}");
    let tenant = entry(&result, "teams:tenant");
    assert_eq!(tenant.attributes["teams"], "45");
    assert_eq!(tenant.attributes["source"], "graph");

    // Batches of at most 20, 90 requests (apps and owners of 45 teams) in at least 5.
    let all_calls = server.state().scenario.graph.calls();
    let (calls, alone): (Vec<GraphCall>, Vec<GraphCall>) = all_calls.into_iter().partition(|c| c.batch.is_some());
    assert!(alone.iter().all(|c| c.url.starts_with("/groups?")), "only the listing goes alone: {alone:?}");
    let mut per_batch: BTreeMap<usize, usize> = BTreeMap::new();
    for c in &calls {
        *per_batch.entry(c.batch.unwrap()).or_default() += 1;
    }
    assert!(per_batch.values().all(|n| *n <= 20), "{per_batch:?}");
    assert!(per_batch.len() >= 5, "{per_batch:?}");
    assert_eq!(calls.iter().filter(|c| c.status == 200).count(), 89, "all but the forbidden one, eventually");
    let batch_posts = server.requests().iter().filter(|r| r.path == "/v1.0/$batch").count();
    assert_eq!(batch_posts, per_batch.len());

    // The throttled request went again in a later batch and was answered.
    let t = calls_about(&calls, &throttled);
    let statuses: Vec<(u16, usize)> = t.iter().map(|c| (c.status, c.batch.unwrap())).collect();
    assert_eq!(statuses.len(), 3, "{t:?}");
    assert_eq!(statuses[0].0, 429);
    assert!(t[0].url.contains("/installedApps"), "{t:?}");
    let retry = t.iter().rposition(|c| c.url.contains("/installedApps")).unwrap();
    assert_eq!(t[retry].status, 200);
    assert!(t[retry].batch > t[0].batch, "retried in a later batch: {t:?}");
    let e = entry(&result, &app_key(&throttled, IW));
    assert_eq!(e.owner.as_deref(), Some("owner9a@contoso.onmicrosoft.com"));
    assert_eq!(e.co_owners, ["owner9b@contoso.onmicrosoft.com"]);

    // The 403 is a note on its team, not a failed scan.
    let note = entry(&result, &format!("teams:{forbidden}"));
    assert!(note.attributes["note"].contains("HTTP 403"), "{note:?}");
    assert!(!result.connectors.iter().any(|c| local(&c.key) == app_key(&forbidden, IW)));

    // Every third team has the webhook (15), less the forbidden one; even ones have one owner.
    let f = findings(&result);
    let count = |check: &str| f.iter().filter(|(_, c)| c == check).count();
    assert_eq!(count("teams.legacy-connector-configured"), 14, "{f:?}");
    assert_eq!(count("teams.connector-single-owner"), 7, "{f:?}");
    assert_eq!(count("teams.installed-apps-unreadable"), 1, "{f:?}");
    assert_eq!(count("teams.connectors-enabled"), 0, "unknown switch: no finding");
    assert_eq!(server.token_requests(), 1, "one token for every page and batch");
    let bearer = listing[0].bearer.clone().unwrap();
    assert!(!serde_json::to_string(&result).unwrap().contains(&bearer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_demo_tenant_maps_batch_answers_to_their_teams() {
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let extra = format!("connector_app_ids = '{JIRA_APP_ID}'\nconnectors_enabled = 'true'");
    let result = site.scan(&live_config(&site, &server, &extra)).await;
    ok(&result);
    let want = vec![
        (app_key(HELP_DESK, IW), "teams.connector-single-owner"),
        (app_key(HELP_DESK, IW), "teams.legacy-connector-configured"),
        (app_key(NETWORK_OPS, IW), "teams.legacy-connector-configured"),
        (app_key(PROJECT_FALCON, JIRA_APP_ID), "teams.legacy-connector-configured"),
        (format!("teams:{FINANCE}"), "teams.installed-apps-unreadable"),
        ("teams:tenant".to_string(), "teams.connectors-enabled"),
    ];
    let mut want: Vec<(String, String)> = want.into_iter().map(|(k, c)| (k, c.to_string())).collect();
    want.sort();
    assert_eq!(findings(&result), want);
    // Answers came back in another order than asked; each went to its own team.
    assert_eq!(entry(&result, &app_key(HELP_DESK, IW)).owner.as_deref(), Some("alexw@contoso.onmicrosoft.com"));
    let ops = entry(&result, &app_key(NETWORK_OPS, IW));
    assert_eq!(ops.owner.as_deref(), Some("meganb@contoso.onmicrosoft.com"));
    assert_eq!(ops.co_owners, ["leeg@contoso.onmicrosoft.com"]);
    assert_eq!(ops.category, "incoming-webhook");
    assert_eq!(ops.migration_state.as_deref(), Some("legacy-retired"));
    let falcon = entry(&result, &app_key(PROJECT_FALCON, JIRA_APP_ID));
    assert_eq!(falcon.category, "teams-connector");
    assert_eq!(falcon.attributes["detected_by"], "connector_app_ids");
    assert_eq!(falcon.attributes["disabled_owners"], "diegos@contoso.onmicrosoft.com");
    assert_eq!(falcon.co_owners, ["Contoso Teams provisioning", "diegos@contoso.onmicrosoft.com"], "active owners first");
    assert!(!result.connectors.iter().any(|c| c.key.contains(SALES)), "Sales has no connector");
    let enabled = result.findings.iter().find(|f| f.check_id == "teams.connectors-enabled").unwrap();
    assert_eq!(enabled.evidence["related_check"], "exo.tenant.legacy-connectors-enabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_still_throttled_after_the_last_round_is_fetched_alone_after_the_wait() {
    // Help Desk's two requests are throttled in every batch round (2 x rounds),
    // then its first plain GET once more: the host waits out Retry-After.
    let graph = GraphData::demo().with_throttle(HELP_DESK, 2 * BATCH_ROUNDS + 1, 1);
    let server = FixtureServer::start(Scenario::demo().with_graph(graph)).await.unwrap();
    let site = Site::new();
    let started = std::time::Instant::now();
    let result = site.scan(&live_config(&site, &server, "")).await;
    ok(&result);
    let calls = calls_about(&server.state().scenario.graph.calls(), HELP_DESK);
    let batched: Vec<u16> = calls.iter().filter(|c| c.batch.is_some()).map(|c| c.status).collect();
    assert_eq!(batched, vec![429; 2 * BATCH_ROUNDS], "{calls:?}");
    let alone: Vec<u16> = calls.iter().filter(|c| c.batch.is_none()).map(|c| c.status).collect();
    assert_eq!(alone, vec![429, 200, 200], "{calls:?}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "the host waited Retry-After");
    let e = entry(&result, &app_key(HELP_DESK, IW));
    assert_eq!(e.owner.as_deref(), Some("alexw@contoso.onmicrosoft.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_failures_of_the_whole_batch_or_listing_fail_the_scan_clearly() {
    let scenario = Scenario::demo().with_fault(FaultRule::new(
        FaultTarget::PathPrefix("/v1.0/$batch".into()),
        FaultWhen::Every,
        Fault::ServerError,
    ));
    let server = FixtureServer::start(scenario).await.unwrap();
    let site = Site::new();
    let e = error_of(&site.scan(&live_config(&site, &server, "")).await, PLUGIN);
    assert!(e.contains("reading installed apps") && e.contains("HTTP 500"), "{e}");

    let scenario = Scenario::demo().with_fault(FaultRule::once(
        FaultTarget::PathPrefix("/v1.0/groups".into()),
        Fault::TruncatedJson,
    ));
    let server = FixtureServer::start(scenario).await.unwrap();
    let site = Site::new();
    let e = error_of(&site.scan(&live_config(&site, &server, "")).await, PLUGIN);
    assert!(e.contains("listing teams") && e.contains("invalid JSON"), "{e}");
}

/// Copy demo/teams (and the exchange demo's Get-OrganizationConfig.json) into the site.
fn demo_export(site: &Site) -> (std::path::PathBuf, std::path::PathBuf) {
    fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                copy_dir(&p, &to.join(e.file_name()));
            } else if p.extension().is_some_and(|x| x == "json" || x == "csv") {
                std::fs::copy(&p, to.join(e.file_name())).unwrap();
            }
        }
    }
    let teams = site.path("teams");
    copy_dir(&plugins::root().join("demo/teams"), &teams);
    let exchange = site.path("exchange");
    std::fs::create_dir_all(&exchange).unwrap();
    std::fs::copy(
        plugins::root().join("demo/exchange/Get-OrganizationConfig.json"),
        exchange.join("Get-OrganizationConfig.json"),
    )
    .unwrap();
    (teams, exchange)
}

/// The demo export, offline, as demo/plumbline.toml scans it.
fn offline_demo_config(site: &Site) -> std::path::PathBuf {
    let (teams, exchange) = demo_export(site);
    site.config(&format!(
        "[plugins.{PLUGIN}]\npath = {}\n[plugins.{PLUGIN}.grants]\nfiles = [{}, {}]\n\
         [plugins.{PLUGIN}.settings]\nmode = 'offline'\nexport_dir = {}\n\
         organization_config = {}\nas_of = '2026-11-25T09:00:00Z'\n",
        lit(&plugins::plugin(PLUGIN)),
        lit(&teams),
        lit(&exchange),
        lit(&teams),
        lit(&exchange.join("Get-OrganizationConfig.json")),
    ))
}

#[test]
fn a_team_whose_apps_cannot_be_read_is_a_finding_not_also_a_warning() {
    let site = Site::new();
    let config = offline_demo_config(&site);
    let out = site.run(&["scan", "--config", &config.to_string_lossy(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the scan's JSON");
    let findings = doc["findings"].as_array().unwrap();
    let unreadable: Vec<_> = findings.iter().filter(|f| f["check_id"] == "teams.installed-apps-unreadable").collect();
    assert_eq!(unreadable.len(), 1, "the demo's Billing team answered 403: {doc}");
    assert_eq!(unreadable[0]["severity"], "info");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains(" WARN ") && !err.contains("403"), "the finding says it; stderr need not: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_reads_the_demo_export_with_audit_and_the_tenant_switch() {
    let site = Site::new();
    let config = offline_demo_config(&site);
    let result = site.scan(&config).await;
    ok(&result);
    assert_eq!(result.connectors.len(), 8, "{:?}", result.connectors.iter().map(|c| &c.key).collect::<Vec<_>>());
    let context: Vec<&str> = result.connectors.iter().filter(|c| c.is_context()).map(|c| c.key.as_str()).collect();
    assert_eq!(context, [format!("{PLUGIN}/teams:tenant")], "only the tenant entry is context");
    assert_eq!((result.connector_count(), result.context_count()), (7, 1));
    let by_check = |check: &str| {
        let mut names: Vec<String> = result
            .findings
            .iter()
            .filter(|f| f.check_id == check)
            .map(|f| entry(&result, &f.connector_key).name.clone())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        by_check("teams.legacy-connector-configured"),
        [
            "Incoming Webhook in Front Desk",
            "Incoming Webhook in Front Desk / Appointments",
            "Incoming Webhook in IT Operations",
            "Incoming Webhook in IT Operations / Alerts",
            "RSS in Practice Managers",
            "RSS in Practice Managers / Industry News",
        ]
    );
    assert_eq!(by_check("teams.connector-single-owner"), ["Incoming Webhook in Front Desk", "RSS in Practice Managers"]);
    assert_eq!(by_check("teams.installed-apps-unreadable"), ["Billing (installed apps not readable)"]);
    assert_eq!(by_check("teams.connectors-enabled"), ["Teams connectors (tenant)"]);
    let channel = result
        .connectors
        .iter()
        .find(|c| c.name == "Incoming Webhook in IT Operations / Alerts")
        .unwrap();
    assert_eq!(channel.attributes["added_by"], "tom.nguyen@northwinddental.com");
    assert_eq!(channel.created.as_deref(), Some("2024-10-07T09:14:52Z"));
    assert_eq!(channel.owner.as_deref(), Some("tom.nguyen@northwinddental.com"));
    assert_eq!(channel.co_owners, ["it-admin@northwinddental.com"]);
    assert!(!result.connectors.iter().any(|c| c.name.contains("Backups")), "removed connectors are not in the register");
    let s = status(&result, PLUGIN);
    assert_eq!((s.connectors, s.findings), (8, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_without_the_teams_file_says_what_to_export() {
    let site = Site::new();
    let dir = site.path("empty-export");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "nothing here").unwrap();
    let config = site.config(&format!(
        "[plugins.{PLUGIN}]\npath = {}\n[plugins.{PLUGIN}.grants]\nfiles = [{}]\n\
         [plugins.{PLUGIN}.settings]\nexport_dir = {}\n",
        lit(&plugins::plugin(PLUGIN)),
        lit(&dir),
        lit(&dir),
    ));
    let e = error_of(&site.scan(&config).await, PLUGIN);
    assert!(e.contains("teams.json") && e.contains("export-teams.ps1"), "{e}");
}
