//! What the tests of the Azure example plugins (Python and JavaScript) share:
//! a config section against the fixture server's ARM, a scan of it, and the
//! register read back by connector name.

use crate::support::{lit, Site};
use plumbline_agent::register::ScanResult;
use plumbline_protocol::register::Severity;
use plumbline_tests::fixture::arm;
use plumbline_tests::fixture::{FixtureServer, Scenario, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use std::collections::BTreeMap;
use std::path::Path;

/// `[plugins.NAME]` for `component`, granted ARM and an `arm` credential
/// profile with the fixture's client secret, reading `subscriptions`.
pub fn section(site: &Site, server: &FixtureServer, name: &str, component: &Path, subscriptions: &[&str]) -> String {
    let secret = site.path("arm.secret");
    std::fs::write(&secret, format!("{DEMO_CLIENT_SECRET}\n")).unwrap();
    let endpoints: BTreeMap<String, String> = server.endpoint_overrides().into_iter().collect();
    let endpoints: String = endpoints.iter().map(|(h, u)| format!("\"{h}\" = \"{u}\"\n")).collect();
    let subs: Vec<String> = subscriptions.iter().map(|s| format!("'{s}'")).collect();
    format!(
        "[plugins.{name}]\npath = {}\n[plugins.{name}.grants]\nhttp = ['{}']\ncredentials = ['arm']\n\
         [plugins.{name}.settings]\nsubscriptions = [{}]\n\
         [credentials.arm]\nclient_id = '{DEMO_CLIENT_ID}'\nscope = '{}'\naudience = ['{}']\nclient_secret_file = {}\n\
         [endpoints]\n{endpoints}",
        lit(component),
        arm::HOST,
        subs.join(", "),
        arm::SCOPE,
        arm::HOST,
        lit(&secret),
    )
}

/// A scan of that section against a fixture server playing `scenario`.
pub async fn scan(scenario: Scenario, name: &str, component: &Path, subscriptions: &[&str]) -> (ScanResult, FixtureServer) {
    let server = FixtureServer::start(scenario).await.unwrap();
    let site = Site::new();
    let config = site.config(&section(&site, &server, name, component, subscriptions));
    (site.scan(&config).await, server)
}

/// (connector name, check id, severity) of every finding, sorted.
pub fn findings(r: &ScanResult) -> Vec<(String, String, Severity)> {
    let mut out: Vec<_> = r
        .findings
        .iter()
        .map(|f| {
            let name = r.connectors.iter().find(|c| c.key == f.connector_key).map(|c| c.name.clone()).unwrap_or_default();
            (name, f.check_id.clone(), f.severity)
        })
        .collect();
    out.sort();
    out
}

/// The SDK's fingerprint of a secret, computed here with ring, to hold a
/// plugin's own (Python's hashlib, JavaScript's hand-written SHA-256) against.
pub fn fingerprint(text: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    format!("sha256:{}", d.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
}
