//! What contract 0.2.0 added, through the test plugin `fixture-contract-probe`
//! in the real host: `send-all` checked per request, `connect-all` and
//! `peer-address`, `limits()`, progress, and the declared settings.

use crate::support::{error_of, status, Site};
use plumbline_agent::register::ScanResult;
use plumbline_tests::fixture::{Fault, FaultRule, FaultTarget, FaultWhen, FixtureServer, Scenario};

const PROBE: &str = "fixture-contract-probe";

fn probe_config(site: &Site, server: &FixtureServer, grants: &str, settings: &str) -> std::path::PathBuf {
    let endpoints: String =
        server.endpoint_overrides().into_iter().map(|(h, u)| format!("\"{h}\" = \"{u}\"\n")).collect();
    site.config(&format!(
        "{}[plugins.{PROBE}.grants]\n{grants}\n[plugins.{PROBE}.settings]\n{settings}\n[endpoints]\n{endpoints}",
        Site::fixture_section(PROBE, ""),
    ))
}

fn outcome(r: &ScanResult, key: &str) -> String {
    let c = r
        .connectors
        .iter()
        .find(|c| crate::support::local(&c.key) == key)
        .unwrap_or_else(|| panic!("no entry {key}: {:?}", r.connectors.iter().map(|c| &c.key).collect::<Vec<_>>()));
    c.attributes.get("outcome").or_else(|| c.attributes.get("max_batch")).cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_all_checks_each_request_and_one_denied_host_fails_alone() {
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let environments = "https://api.bap.microsoft.com/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2023-06-01";
    let config = probe_config(
        &site,
        &server,
        "http = ['api.bap.microsoft.com', 'graph.microsoft.com']",
        // The middle one is declared but not granted; the last one neither.
        &format!("urls = ['{environments}', 'https://exfil.example.net/collect', 'https://graph.microsoft.com/v1.0/users', 'https://elsewhere.example.org/', 'http://graph.microsoft.com/v1.0/users']"),
    );
    let result = site.scan(&config).await;
    assert_eq!(status(&result, PROBE).status, "ok", "{:?}", result.plugins);
    // No credential: the fixture answers 401, which is an answer, not an error.
    assert_eq!(outcome(&result, "http:0"), "status 401");
    assert!(outcome(&result, "http:1").contains("exfil.example.net"), "{}", outcome(&result, "http:1"));
    assert!(outcome(&result, "http:1").contains("Denied(\"HTTP to `exfil.example.net` denied: not granted"), "{}", outcome(&result, "http:1"));
    assert!(outcome(&result, "http:2").starts_with("status "), "{}", outcome(&result, "http:2"));
    assert!(outcome(&result, "http:3").contains("Denied("), "{}", outcome(&result, "http:3"));
    assert!(outcome(&result, "http:4").contains("only https://"), "{}", outcome(&result, "http:4"));
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths.len(), 2, "only the two granted requests went out: {paths:?}");
    assert!(!paths.iter().any(|p| p.contains("collect")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_all_waits_out_retry_after_for_the_throttled_request_alone() {
    let rule = FaultRule::new(FaultTarget::PathPrefix("/v1.0/users".into()), FaultWhen::Nth(1), Fault::Throttle { retry_after_secs: 1 });
    let server = FixtureServer::start(Scenario::demo().with_fault(rule)).await.unwrap();
    let site = Site::new();
    let environments = "https://api.bap.microsoft.com/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2023-06-01";
    let config = probe_config(
        &site,
        &server,
        "http = ['api.bap.microsoft.com', 'graph.microsoft.com']",
        &format!("urls = ['https://graph.microsoft.com/v1.0/users', '{environments}']"),
    );
    let result = site.scan(&config).await;
    assert_eq!(status(&result, PROBE).status, "ok", "{:?}", result.plugins);
    let users: Vec<u16> = server.requests().iter().filter(|r| r.path == "/v1.0/users").map(|r| r.status).collect();
    assert_eq!(users.len(), 2, "{users:?}");
    assert_eq!(users[0], 429);
    assert_eq!(outcome(&result, "http:0"), format!("status {}", users[1]), "retried after its 429");
    assert_eq!(outcome(&result, "http:1"), "status 401");
    let bap = server.requests().iter().filter(|r| r.path.contains("BusinessAppPlatform")).count();
    assert_eq!(bap, 1, "the other request was not sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_all_tells_the_address_a_granted_name_reached() {
    // One of the ports the probe declares; whichever is free.
    let mut listener = None;
    for port in 40125..=40132 {
        if let Ok(l) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            listener = Some(l);
            break;
        }
    }
    let listener = listener.expect("a free port among the probe's");
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            drop(s);
        }
    });
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let config = probe_config(
        &site,
        &server,
        &format!("tcp = ['localhost:{port}', '127.0.0.1:{port}']"),
        &format!("tcp = ['localhost:{port}', '10.9.8.7:25', '127.0.0.1:{port}']"),
    );
    let result = site.scan(&config).await;
    assert_eq!(status(&result, PROBE).status, "ok", "{:?}", result.plugins);
    assert_eq!(outcome(&result, "tcp:0"), format!("peer 127.0.0.1:{port}"), "the name's address, after the grant check");
    assert!(outcome(&result, "tcp:1").contains("Denied(\"TCP to 10.9.8.7 port 25"), "{}", outcome(&result, "tcp:1"));
    assert_eq!(outcome(&result, "tcp:2"), format!("peer 127.0.0.1:{port}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_the_hosts_own_budgets() {
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let config = probe_config(&site, &server, "", "");
    let result = site.scan(&config).await;
    let limits = result.connectors.iter().find(|c| crate::support::local(&c.key) == "limits").expect("limits entry");
    let get = |k: &str| limits.attributes[k].parse::<u64>().unwrap();
    use plumbline_agent::runtime::limits as host;
    assert_eq!(get("max_report_bytes"), host::MAX_REPORT_BYTES as u64);
    assert_eq!(get("max_report_items"), host::MAX_REPORT_ITEMS as u64);
    assert_eq!(get("max_batch"), host::MAX_BATCH as u64);
    assert_eq!(get("max_open_connections"), host::MAX_TCP_CONNECTIONS as u64);
    let left = get("time_left_ms");
    assert!(left > 0 && left <= host::DEFAULT_SCAN_TIMEOUT.as_millis() as u64, "{left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_setting_keys_are_refused_with_did_you_mean() {
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let result = site.scan(&probe_config(&site, &server, "", "urlz = ['https://graph.microsoft.com/']\ncredential = 'grpah'")).await;
    let e = error_of(&result, PROBE);
    assert_eq!(crate::support::status(&result, PROBE).status, plumbline_agent::scan::CONFIG_STATUS, "the config's to fix");
    assert!(e.contains("unknown setting `urlz`; did you mean `urls`?"), "{e}");
    assert!(e.contains("setting `credential` must be one of `none`, `graph` (did you mean `graph`?)"), "{e}");
    assert!(server.requests().is_empty(), "the scan did not start");
}

#[test]
fn progress_is_a_line_when_piped() {
    let site = Site::new();
    let config = site.config(&format!(
        "{}[plugins.{PROBE}.grants]\nhttp = ['graph.microsoft.com']\n[plugins.{PROBE}.settings]\nurls = ['https://graph.microsoft.com/a', 'https://graph.microsoft.com/b', 'https://graph.microsoft.com/c']\n\
         [endpoints]\n'graph.microsoft.com' = 'http://127.0.0.1:9'\n",
        Site::fixture_section(PROBE, ""),
    ));
    let out = site.run(&["scan", "--config", &config.to_string_lossy()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().any(|l| l.contains(PROBE) && l.contains("3 of 3 probe requests")), "{err}");
    assert!(!err.contains('\r') && !err.contains('\x1b'), "no bar when piped: {err:?}");
}
