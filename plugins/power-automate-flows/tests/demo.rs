//! The Northwind Dental demo answers in demo/flows/ read through the offline
//! source (on std::fs here, the host's files capability in a scan) and give
//! the register and findings the demo is meant to show.

mod common;

use plumbline_plugin_sdk::{Category, Report};
use power_automate_flows::checks::*;

fn demo_dir() -> String {
    common::crate_dir("../../demo/flows")
}

fn demo_report() -> Report {
    let (inv, report) = common::scan(&demo_dir());
    assert!(inv.notes.is_empty(), "{:?}", inv.notes);
    report
}

fn name_of<'a>(r: &'a Report, key: &str) -> &'a str {
    r.connectors.iter().find(|c| c.key == key).map(|c| c.name.as_str()).unwrap_or("?")
}

#[test]
fn demo_files_use_both_powershell_formats() {
    let ops = format!("{}/b6a1d3f5-7c9e-4b2d-8f4a-6c8e0a2b4d6f/flows.json", demo_dir());
    let bytes = std::fs::read(ops).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xFE], "PS 5.1: UTF-16LE with BOM");
    let users = std::fs::read(format!("{}/users.json", demo_dir())).unwrap();
    assert_eq!(&users[..2], &[0xFF, 0xFE]);
    let envs = std::fs::read(format!("{}/environments.json", demo_dir())).unwrap();
    assert_eq!(envs[0], b'{', "PS 7: UTF-8");
}

#[test]
fn demo_gives_the_expected_register_and_findings() {
    let r = demo_report();
    let mut got: Vec<(String, String)> = r
        .findings
        .iter()
        .map(|f| (name_of(&r, &f.connector_key).to_string(), f.check_id.clone()))
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = [
        ("RMM alerts to #it-alerts", TEAMS_WEBHOOK_ANYONE),
        ("Appointment reminders (HTTP)", HTTP_TRIGGER),
        ("Imaging archive backup report", ORPHANED),
        ("New patient forms to SharePoint", ORPHANED),
        ("Supplier invoice approvals", SUSPENDED),
        ("Daily schedule email", SINGLE_OWNER),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(r.connectors.len(), 12, "10 flows and 2 environments");

    let rmm = r.connectors.iter().find(|c| c.name == "RMM alerts to #it-alerts").unwrap();
    assert_eq!(rmm.key, "flow:Default-5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa:3f5b7d9e-1a2c-4e4f-8b6d-8f0a2c4e6b17");
    assert_eq!(rmm.category, Category::Workflow);
    assert_eq!(rmm.scope, "Northwind Dental (default)");
    assert_eq!(rmm.owner.as_deref(), Some("priya@northwinddental.onmicrosoft.com"));
    assert_eq!(rmm.co_owners, ["tom@northwinddental.onmicrosoft.com"]);
    assert_eq!(rmm.auth_type.as_deref(), Some("TeamsIncomingWebhookTrigger"));
    assert_eq!(rmm.migration_state.as_deref(), Some("workflow"));
    assert_eq!(rmm.created.as_deref(), Some("2025-04-07T08:12:55Z"));

    let imaging = r.connectors.iter().find(|c| c.name == "Imaging archive backup report").unwrap();
    assert!(imaging.owner.as_deref().unwrap().ends_with("(deleted)"), "{:?}", imaging.owner);
    let onboarding = r.connectors.iter().find(|c| c.name == "Staff onboarding checklist").unwrap();
    assert_eq!(onboarding.owner.as_deref(), Some("sara@northwinddental.onmicrosoft.com (disabled)"));
    assert_eq!(onboarding.co_owners, ["it-admin@northwinddental.onmicrosoft.com"], "an enabled co-owner: not orphaned");
    // The UTF-16 environment reads like the UTF-8 one.
    let lab = r.connectors.iter().find(|c| c.name == "Lab results intake").unwrap();
    assert_eq!(lab.scope, "Northwind Clinics Ops");
    assert_eq!(lab.get_attr("trigger_authentication"), Some("Tenant"));
    assert_eq!(lab.migration_state.as_deref(), Some("workflow"));
    let backup = r.connectors.iter().find(|c| c.name == "Backup status to Teams").unwrap();
    assert_eq!((backup.category, backup.get_attr("trigger_authentication")), (Category::Workflow, Some("Tenant")));
    let forms = r.connectors.iter().find(|c| c.name == "New patient forms to SharePoint").unwrap();
    assert!(forms.co_owners.is_empty(), "run-only users are not co-owners");
    assert_eq!(forms.get_attr("connectors"), Some("shared_microsoftforms, shared_sharepointonline"));
    // Its saved definition holds only the trigger: the summary's connectors stand.
    let reminders = r.connectors.iter().find(|c| c.name == "Appointment reminders (HTTP)").unwrap();
    assert_eq!(reminders.get_attr("connectors"), Some("shared_office365, shared_twilio"));
    assert_eq!(reminders.auth_type.as_deref(), Some("Request (Http)"));
    let env = r.connectors.iter().find(|c| c.key == "flow-environment:b6a1d3f5-7c9e-4b2d-8f4a-6c8e0a2b4d6f").unwrap();
    assert_eq!(env.get_attr("flows_read"), Some("4"));
    assert_eq!(env.get_attr("register"), Some("complete"));
}
