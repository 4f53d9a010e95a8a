//! Real public answers and definitions (tests/fixtures/real-samples, whose
//! README names each source) read offline and judged: none of our own
//! fixtures came from them.

mod common;

use plumbline_plugin_sdk::{ConnectorRecord, Report};
use power_automate_flows::checks::HTTP_TRIGGER;

fn samples() -> (Vec<String>, Report) {
    let (inv, report) = common::scan(&common::crate_dir("tests/fixtures/real-samples"));
    (inv.notes, report)
}

fn entry<'a>(r: &'a Report, name: &str) -> &'a ConnectorRecord {
    r.connectors.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no entry {name}"))
}

fn findings_of<'a>(r: &'a Report, name: &str) -> Vec<&'a str> {
    let key = &entry(r, name).key;
    r.findings.iter().filter(|f| &f.connector_key == key).map(|f| f.check_id.as_str()).collect()
}

/// pnp/cli-microsoft365's admin answer lists "Invoicing flow" with
/// `"triggers": []`; its definition (trigger from FgjReodor/walwil-frontoffice
/// docs/API_Get_Email_Thread_Spec.md) is an HTTP trigger open to anyone. The
/// empty summary was read as "no HTTP trigger" and the flow passed.
#[test]
fn an_empty_summary_does_not_hide_an_anonymous_http_trigger() {
    let (_, r) = samples();
    let flow = entry(&r, "Invoicing flow");
    assert_eq!(findings_of(&r, "Invoicing flow"), [HTTP_TRIGGER]);
    assert_eq!(flow.auth_type.as_deref(), Some("Request (Http)"));
    assert_eq!(flow.get_attr("trigger_authentication"), Some("Anyone"));
    assert_eq!(flow.migration_state.as_deref(), Some("workflow"));
    let f = r.findings.iter().find(|f| f.connector_key == flow.key).unwrap();
    assert!(f.detail.contains("'Who can trigger the flow' is Anyone"), "{}", f.detail);
    assert_eq!(flow.get_attr("connectors"), Some("unknown"), "its Dataverse step's host names no connector");
}

/// "Invoicing flow 2" (same answer) with the posetek/posetek_website
/// definition: `"triggerAuthenticationType": "User"` is "Specific users in my
/// tenant". It was an unknown value, and an HTTP trigger with an unknown
/// setting was called a bearer-secret URL.
#[test]
fn specific_users_are_not_called_anonymous() {
    let (_, r) = samples();
    let flow = entry(&r, "Invoicing flow 2");
    assert!(findings_of(&r, "Invoicing flow 2").is_empty(), "{:?}", findings_of(&r, "Invoicing flow 2"));
    assert_eq!(flow.get_attr("trigger_authentication"), Some("SpecificUsers"));
    assert_eq!(flow.auth_type.as_deref(), Some("Request (Http)"));
    assert_eq!(flow.get_attr("connectors"), Some("shared_office365"), "read from the step inside the condition");
}

/// pnp/cli-microsoft365's `regularFlowResponse`: a button flow and a
/// recurrence whose `ApiConnection` steps carry no `api`.
#[test]
fn buttons_and_unnamed_connectors_read_as_they_are() {
    let (notes, r) = samples();
    let button = entry(&r, "Send myself a reminder in 10 minutes");
    assert_eq!(button.auth_type.as_deref(), Some("Request (Button)"));
    assert_eq!(button.get_attr("connectors"), Some("unknown"));
    assert_eq!(button.get_attr("trigger_authentication"), None, "a button has no URL");
    let cnn = entry(&r, "Get a daily digest of the top CNN news");
    assert_eq!((cnn.auth_type.as_deref(), cnn.get_attr("connectors")), (Some("Recurrence"), Some("unknown")));
    assert!(findings_of(&r, "Send myself a reminder in 10 minutes").is_empty());
    assert!(!notes.iter().any(|n| n.contains("empty trigger summary")), "every empty summary had its definition: {notes:?}");
}

/// Without the definitions (an export made by the old script, which chose
/// them from the summary), the empty summaries stay unknown and say so.
#[test]
fn missing_definitions_for_empty_summaries_are_noted() {
    let dir = tempfile_dir();
    let (notes, report) = {
        let (inv, report) = common::scan(&dir);
        (inv.notes, report)
    };
    let flow = entry(&report, "Invoicing flow");
    assert_eq!((flow.auth_type.as_deref(), flow.get_attr("trigger_authentication")), (Some("unknown"), Some("unknown")));
    assert!(notes.iter().any(|n| n.contains("2 flows have an empty trigger summary") && n.contains("export-flows.ps1")), "{notes:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The samples without definitions.json, in a folder of their own.
fn tempfile_dir() -> String {
    let from = std::path::PathBuf::from(common::crate_dir("tests/fixtures/real-samples"));
    let to = std::env::temp_dir().join(format!("pa-real-samples-{}", std::process::id()));
    for e in walk(&from) {
        let rel = e.strip_prefix(&from).unwrap();
        if rel.file_name().is_some_and(|n| n == "definitions.json") {
            continue;
        }
        std::fs::create_dir_all(to.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(&e, to.join(rel)).unwrap();
    }
    to.to_string_lossy().into_owned()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
