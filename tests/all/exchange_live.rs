//! exchange-connectors in live mode, unchanged, against the fixture server
//! that answers as Exchange Online and Entra ID do: tokens, paging,
//! throttling and errors. The real hosts are routed to it by endpoint
//! overrides; grants are still checked on the real host names.

use crate::support::{error_of, lit, status, Site, local};
use plumbline_tests::fixture::{
    ExchangeData, Fault, FaultRule, FaultTarget, FaultWhen, FixtureServer, Scenario, DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
};
use plumbline_tests::plugins;

/// How the credential profile proves itself.
pub(crate) enum Cred {
    Secret(&'static str),
    Certificate,
}

pub(crate) fn live_config(site: &Site, server: &FixtureServer, cred: Cred, audience: &str, granted_creds: &str) -> std::path::PathBuf {
    let cred_lines = match cred {
        Cred::Secret(s) => {
            let f = site.path("exchange.secret");
            std::fs::write(&f, format!("{s}\n")).unwrap();
            format!("client_secret_file = {}", lit(&f))
        }
        Cred::Certificate => {
            let data = plugins::root().join("tests/data");
            format!(
                "certificate_file = {}\nprivate_key_file = {}",
                lit(&data.join("test-app.crt")),
                lit(&data.join("test-app.key"))
            )
        }
    };
    let endpoints: String = server
        .endpoint_overrides()
        .into_iter()
        .map(|(host, url)| format!("\"{host}\" = \"{url}\"\n"))
        .collect();
    site.config(&format!(
        "[plugins.exchange-connectors]\npath = {}\n\
         [plugins.exchange-connectors.grants]\nhttp = ['outlook.office365.com']\ncredentials = [{granted_creds}]\n\
         [plugins.exchange-connectors.settings]\nmode = 'live'\ncredential = 'exchange'\n\
         [credentials.exchange]\nclient_id = '{DEMO_CLIENT_ID}'\nscope = 'https://outlook.office365.com/.default'\n\
         audience = ['{audience}']\n{cred_lines}\n[credentials.other]\nclient_id = 'x'\nscope = 's'\naudience = ['a.example']\nclient_secret_env = 'UNSET_FOR_TEST'\n\
         [endpoints]\n{endpoints}",
        lit(&plugins::plugin("exchange-connectors")),
    ))
}

fn invoke_requests(server: &FixtureServer, cmdlet: &str) -> Vec<plumbline_tests::fixture::RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.cmdlet.as_deref() == Some(cmdlet))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_through_every_connector_with_one_cached_token() {
    let scenario = Scenario::demo()
        .with_exchange(ExchangeData::with_many_inbound(2500))
        .with_page_size(1000);
    let server = FixtureServer::start(scenario).await.unwrap();
    let site = Site::new();
    let config = live_config(&site, &server, Cred::Secret(DEMO_CLIENT_SECRET), "outlook.office365.com", "'exchange'");
    let result = site.scan(&config).await;

    let s = status(&result, "exchange-connectors");
    assert_eq!(s.status, "ok", "{s:?}");
    let inbound = result.connectors.iter().filter(|c| local(&c.key).starts_with("exchange:inbound:")).count();
    assert_eq!(inbound, 2500, "every page, every connector, once");
    let pages = invoke_requests(&server, "Get-InboundConnector");
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages.iter().all(|r| r.status == 200 && r.bearer.is_some()));
    assert_eq!(server.token_requests(), 1, "the token is cached across cmdlets and pages");
    // The token never reaches the plugin's output.
    let bearer = pages[0].bearer.clone().unwrap();
    assert!(!serde_json::to_string(&result).unwrap().contains(&bearer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_credentials_sign_a_client_assertion() {
    let spki = std::fs::read(plugins::root().join("tests/data/test-app.spki.der")).unwrap();
    let mut scenario = Scenario::demo();
    scenario.client_secret = None;
    scenario.assertion_key_spki_der = Some(spki);
    let server = FixtureServer::start(scenario).await.unwrap();
    let site = Site::new();
    let config = live_config(&site, &server, Cred::Certificate, "outlook.office365.com", "'exchange'");
    let result = site.scan(&config).await;
    assert_eq!(status(&result, "exchange-connectors").status, "ok", "{:?}", result.plugins);
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_after_the_servers_delay() {
    let scenario = Scenario::demo().with_fault(FaultRule::on_cmdlet(
        "Get-OutboundConnector",
        FaultWhen::Nth(1),
        Fault::Throttle { retry_after_secs: 1 },
    ));
    let server = FixtureServer::start(scenario).await.unwrap();
    let site = Site::new();
    let result = site
        .scan(&live_config(&site, &server, Cred::Secret(DEMO_CLIENT_SECRET), "outlook.office365.com", "'exchange'"))
        .await;
    assert_eq!(status(&result, "exchange-connectors").status, "ok", "{:?}", result.plugins);
    let statuses: Vec<u16> = invoke_requests(&server, "Get-OutboundConnector").iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 200]);
}

/// Run one faulted scan and return the plugin's error.
async fn failing_scan(fault: Fault, every: bool) -> String {
    let when = if every { FaultWhen::Every } else { FaultWhen::Nth(1) };
    let scenario = Scenario::demo().with_fault(FaultRule::new(FaultTarget::AnyCmdlet, when, fault));
    let server = FixtureServer::start(scenario).await.unwrap();
    let site = Site::new();
    let result = site
        .scan(&live_config(&site, &server, Cred::Secret(DEMO_CLIENT_SECRET), "outlook.office365.com", "'exchange'"))
        .await;
    error_of(&result, "exchange-connectors")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_become_clear_errors() {
    let e = failing_scan(Fault::Unauthorized, false).await;
    assert!(e.contains("HTTP 401") && e.contains("credential"), "{e}");
    let e = failing_scan(Fault::HtmlErrorPage { status: 200 }, false).await;
    assert!(e.contains("malformed") && e.contains("HTML"), "{e}");
    let e = failing_scan(Fault::TruncatedJson, false).await;
    assert!(e.contains("malformed") && e.contains("invalid JSON"), "{e}");
    let e = failing_scan(Fault::ServerError, false).await;
    assert!(e.contains("HTTP 500"), "{e}");
    let e = failing_scan(Fault::Throttle { retry_after_secs: 0 }, true).await;
    assert!(e.contains("HTTP 429") && e.contains("throttled"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_secret_is_reported_without_the_secret() {
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let wrong = "wrong~secret~value~1234567890";
    let result = site
        .scan(&live_config(&site, &server, Cred::Secret(wrong), "outlook.office365.com", "'exchange'"))
        .await;
    let e = error_of(&result, "exchange-connectors");
    assert!(e.contains("AADSTS7000215") && e.contains("credential profile `exchange`"), "{e}");
    assert!(!serde_json::to_string(&result).unwrap().contains(wrong));
    assert!(invoke_requests(&server, "Get-InboundConnector").is_empty(), "no call without a token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_go_only_to_their_audience_and_only_with_a_grant() {
    let server = FixtureServer::start(Scenario::demo()).await.unwrap();
    let site = Site::new();
    let result = site
        .scan(&live_config(&site, &server, Cred::Secret(DEMO_CLIENT_SECRET), "graph.microsoft.com", "'exchange'"))
        .await;
    let e = error_of(&result, "exchange-connectors");
    assert!(e.contains("not meant for `outlook.office365.com`"), "{e}");
    assert_eq!(server.token_requests(), 0);
    assert!(server.requests().is_empty(), "nothing was sent: {:?}", server.requests());

    let site = Site::new();
    let result = site
        .scan(&live_config(&site, &server, Cred::Secret(DEMO_CLIENT_SECRET), "outlook.office365.com", "'other'"))
        .await;
    let e = error_of(&result, "exchange-connectors");
    assert!(e.contains("credential profile `exchange` denied") && e.contains("grants] credentials"), "{e}");
    assert!(server.requests().is_empty());
}
