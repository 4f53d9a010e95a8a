//! Permissions a token lacks, named before and during a scan: `plumbline
//! doctor --credentials` against the fixture's token endpoint, and the
//! warning a Graph 403 adds to teams-webhooks' report, both for an app
//! registration missing `TeamsAppInstallation.ReadForTeam.All`.

use crate::support::{status, Site};
use crate::teams_webhooks::live_config;
use plumbline_tests::fixture::{FixtureServer, Scenario};

const GRAPH: &str = "https://graph.microsoft.com";

/// The demo app with only `GroupMember.Read.All` on Graph.
fn without_installed_apps() -> Scenario {
    Scenario::demo().with_app_roles(GRAPH, &["GroupMember.Read.All"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_each_permission_a_token_lacks() {
    let server = FixtureServer::start(without_installed_apps()).await.unwrap();
    let site = Site::new();
    let config = live_config(&site, &server, "");
    let config = config.to_string_lossy().to_string();
    let out = site.run(&["doctor", "--credentials", "--config", &config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a missing permission is flagged: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("profile `graph`: its token carries GroupMember.Read.All"), "{stdout}");
    let line = |mark: &str, name: &str| stdout.lines().any(|l| l.trim_start().starts_with(mark) && l.contains(name) && l.contains("teams-webhooks"));
    assert!(line("granted", "GroupMember.Read.All"), "{stdout}");
    assert!(line("MISSING", "TeamsAppInstallation.ReadForTeam.All"), "{stdout}");
    assert!(stdout.contains("grant admin consent"), "says what to do: {stdout}");
    assert_eq!(server.token_requests(), 1, "one token, read not used");

    // Granted everything (the demo app): nothing missing, exit 0.
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let config = live_config(&site, &server, "");
    let out = site.run(&["doctor", "--credentials", "--config", &config.to_string_lossy()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains("MISSING") && stdout.contains("granted"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_403_names_the_permission_the_token_lacks() {
    let server = FixtureServer::start(without_installed_apps()).await.unwrap();
    let site = Site::new();
    let result = site.scan(&live_config(&site, &server, "")).await;
    let s = status(&result, "teams-webhooks");
    let named: Vec<&String> = s.warnings.iter().filter(|w| w.contains("HTTP 403 from graph.microsoft.com")).collect();
    assert_eq!(named.len(), 1, "one warning for the profile and host, however many teams: {:?}", s.warnings);
    assert!(
        named[0].contains("lacks `TeamsAppInstallation.ReadForTeam.All`") && !named[0].contains("GroupMember.Read.All"),
        "names only what is missing: {}",
        named[0]
    );
    let forbidden = server.state().scenario.graph.calls().iter().filter(|c| c.status == 403).count();
    assert!(forbidden > 0, "Graph refused the installed apps inside its batches");

    // With the permission granted, the same scan warns of nothing.
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let result = site.scan(&live_config(&site, &server, "")).await;
    let s = status(&result, "teams-webhooks");
    assert!(!s.warnings.iter().any(|w| w.contains("HTTP 403")), "{:?}", s.warnings);
}
