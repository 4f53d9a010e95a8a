//! Installed apps are matched against the published connector list
//! (github.com/svarukala/MSTeamsIncomingWebhooksUtil,
//! List-TeamsWithConnectors.ps1, shipped as data/connector-apps.tsv).

use std::collections::HashSet;
use teams_webhooks::assess::{detect, DetectedBy, Options};
use teams_webhooks::model::InstalledApp;
use serde_json::json;

/// A `teamsAppInstallation` in the shape Graph returns for
/// `GET /teams/{id}/installedApps?$expand=teamsAppDefinition`, for the
/// connector ids that script lists as Jenkins (first-party), RSS
/// (first-party) and Zabbix Webhook (third-party).
fn installed(app_id: &str, name: &str) -> InstalledApp {
    InstalledApp::from_value(&json!({
        "id": "NDM2OGI0ZDYtZWZiYi00ZmNiLWI0NDMtNjA1NjRmZjY3OTg4IyMxMzY2YWFhYi1jMDVkLTRkNTAtYTk0ZC0yY2NiMzIzN2E0OWE=",
        "teamsAppDefinition": {"id": "def", "teamsAppId": app_id, "displayName": name, "version": "1.0"}
    }))
}

#[test]
fn connectors_on_the_published_list_are_found_without_settings() {
    let none = HashSet::new();
    let opts = Options::default();
    for (id, name) in [
        ("8fd5dfb8-2fea-4741-bec6-2c7947cbccb2", "Jenkins"),
        ("C18F658E-C34A-4EE8-AD19-A2CD51E59B71", "RSS"),
        ("ad306cd4-1e98-4c46-8833-611a714fddba", "Zabbix Webhook"),
    ] {
        assert_eq!(detect(&installed(id, name), &opts, &none), Some(DetectedBy::KnownList), "{name}");
    }
    // The Incoming Webhook keeps its own, more specific reason.
    assert_eq!(
        detect(&installed("203a1e2c-26cc-47ca-83ae-be98f960b6b2", "Incoming Webhook"), &opts, &none),
        Some(DetectedBy::IncomingWebhook)
    );
    // An ordinary app is not a connector.
    assert_eq!(detect(&installed("com.microsoft.teamspace.tab.planner", "Tasks by Planner"), &opts, &none), None);
}
