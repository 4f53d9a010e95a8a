//! The checks, register entries and the report budget, through the public
//! native API: typed facts → assess.

use power_automate_flows::assess::{assess, REPORT_BUDGET_BYTES};
use power_automate_flows::checks::*;
use power_automate_flows::inventory::{EnvironmentFacts, FlowFacts, Inventory, Listing};
use power_automate_flows::model::{
    AccountStatus, AuthKnowledge, Definition, Environment, Flow, Permission, PrincipalType, Role, TriggerAuth, User,
};
use plumbline_plugin_sdk::{Category, Finding, Report, Severity};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const ENV: &str = "Default-5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa";

fn flow(trigger: Value, extra: Value) -> Flow {
    let mut v = json!({
        "name": "0b6e3a58-8d1c-4f2e-b7a9-3c5d1e0f9a21",
        "properties": {
            "displayName": "Nightly backup report",
            "state": "Started",
            "createdTime": "2025-01-10T08:00:00Z",
            "lastModifiedTime": "2026-06-01T08:00:00Z",
            "flowSuspensionReason": "None",
            "definitionSummary": {"triggers": [trigger], "actions": [{"type": "OpenApiConnection", "api": {"name": "shared_office365"}}]}
        }
    });
    for (k, val) in extra.as_object().cloned().unwrap_or_default() {
        v["properties"][k] = val;
    }
    Flow::from_value(&v, ENV).unwrap()
}

fn recurrence() -> Value {
    json!({"type": "Recurrence"})
}

fn perm(role: Role, id: &str, t: Option<PrincipalType>) -> Permission {
    Permission { role, principal_id: id.into(), principal_type: t }
}

fn owner(id: &str) -> Permission {
    perm(Role::Owner, id, Some(PrincipalType::User))
}

fn co_owner(id: &str) -> Permission {
    perm(Role::CanEdit, id, Some(PrincipalType::User))
}

fn user(id: &str, status: AccountStatus) -> (String, User) {
    (id.into(), User { id: id.into(), upn: Some(format!("{id}@northwind.example")), display_name: None, status })
}

fn users(list: &[(&str, AccountStatus)]) -> Option<BTreeMap<String, User>> {
    Some(list.iter().map(|(id, s)| user(id, *s)).collect())
}

struct Case {
    flow: Flow,
    perms: Option<Vec<Permission>>,
    auth: AuthKnowledge,
    users: Option<BTreeMap<String, User>>,
}

impl Case {
    fn new(flow: Flow) -> Case {
        Case {
            flow,
            perms: Some(vec![owner("alice"), co_owner("bob")]),
            auth: AuthKnowledge::NotRead,
            users: users(&[("alice", AccountStatus::Enabled), ("bob", AccountStatus::Enabled)]),
        }
    }

    fn report(self) -> Report {
        let mut f = FlowFacts::listed(self.flow);
        f.permissions = self.perms;
        f.auth = self.auth;
        let inv = Inventory {
            environments: vec![EnvironmentFacts {
                env: Environment { name: ENV.into(), display_name: Some("Northwind (default)".into()), ..Environment::default() },
                flows: vec![f],
                listing: Listing::Complete,
            }],
            users: self.users,
            ..Inventory::default()
        };
        assess(&inv, "power-automate-flows", REPORT_BUDGET_BYTES).0
    }
}

fn ids(r: &Report) -> Vec<&str> {
    r.findings.iter().map(|f| f.check_id.as_str()).collect()
}

fn find<'a>(r: &'a Report, id: &str) -> &'a Finding {
    r.findings.iter().find(|f| f.check_id == id).unwrap_or_else(|| panic!("no {id} in {:?}", ids(r)))
}

fn evidence<'a>(f: &'a Finding, name: &str) -> Option<&'a str> {
    f.evidence.iter().find(|a| a.name == name).map(|a| a.value.as_str())
}

#[test]
fn a_healthy_flow_has_no_findings_and_a_full_entry() {
    let r = Case::new(flow(recurrence(), json!({}))).report();
    assert!(ids(&r).is_empty(), "{:?}", ids(&r));
    assert_eq!(r.connectors.len(), 2, "the flow and its environment");
    let c = r.connectors.iter().find(|c| c.key.starts_with("flow:")).unwrap();
    assert_eq!(c.key, format!("flow:{ENV}:0b6e3a58-8d1c-4f2e-b7a9-3c5d1e0f9a21"));
    assert_eq!(c.category, Category::PowerAutomateFlow);
    assert_eq!(c.name, "Nightly backup report");
    assert_eq!(c.scope, "Northwind (default)");
    assert_eq!(c.owner.as_deref(), Some("alice@northwind.example"));
    assert_eq!(c.co_owners, vec!["bob@northwind.example"]);
    assert_eq!(c.auth_type.as_deref(), Some("Recurrence"));
    assert_eq!(c.migration_state, None);
    assert_eq!(c.created.as_deref(), Some("2025-01-10T08:00:00Z"));
    assert_eq!(c.changed.as_deref(), Some("2026-06-01T08:00:00Z"));
    assert_eq!(c.get_attr("state"), Some("Started"));
    assert_eq!(c.get_attr("connectors"), Some("shared_office365"));
    assert_eq!(c.get_attr("environment"), Some(ENV));
    assert_eq!(c.get_attr("trigger_authentication"), None, "not a webhook flow");
    let e = r.connectors.iter().find(|c| c.key.starts_with("flow-environment:")).unwrap();
    assert_eq!(e.get_attr("flows_read"), Some("1"));
    assert_eq!(e.get_attr("register"), Some("complete"));
    assert_eq!(e.get_attr("listing"), Some("complete"));
}

#[test]
fn single_owner_fires_for_one_manager_only() {
    let mut c = Case::new(flow(recurrence(), json!({})));
    c.perms = Some(vec![owner("alice"), perm(Role::CanView, "carol", Some(PrincipalType::User))]);
    let r = c.report();
    let f = find(&r, SINGLE_OWNER);
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.detail.contains("alice@northwind.example alone"), "{}", f.detail);
    assert!(f.remediation.contains("Set-AdminFlowOwnerRole") && f.remediation.contains("CanEdit"), "{}", f.remediation);
    assert_eq!(evidence(f, "account_status"), Some("enabled"));
    assert_eq!(ids(&r), [SINGLE_OWNER], "run-only users do not count, and one enabled owner is not an orphan");

    // A co-owner, or a group as the only manager: no finding.
    assert!(ids(&Case::new(flow(recurrence(), json!({}))).report()).is_empty());
    let mut c = Case::new(flow(recurrence(), json!({})));
    c.perms = Some(vec![perm(Role::Owner, "g1", Some(PrincipalType::Group))]);
    assert!(ids(&c.report()).is_empty());
    // Permissions unknown: no owner check at all.
    let mut c = Case::new(flow(recurrence(), json!({})));
    c.perms = None;
    let r = c.report();
    assert!(ids(&r).is_empty());
    let entry = r.connectors.iter().find(|c| c.key.starts_with("flow:")).unwrap();
    assert_eq!((entry.owner.as_deref(), entry.get_attr("owners")), (None, Some("unknown")));
    // Single owner with unknown status: still a single owner.
    let mut c = Case::new(flow(recurrence(), json!({})));
    c.perms = Some(vec![owner("zed")]);
    c.users = None;
    assert_eq!(evidence(find(&c.report(), SINGLE_OWNER), "account_status"), Some("unknown"));
}

#[test]
fn orphaned_when_every_manager_is_disabled_or_deleted() {
    let mut c = Case::new(flow(recurrence(), json!({})));
    c.users = users(&[("alice", AccountStatus::Deleted), ("bob", AccountStatus::Disabled)]);
    let r = c.report();
    let f = find(&r, ORPHANED);
    assert_eq!(f.severity, Severity::High);
    assert!(f.detail.contains("alice@northwind.example (deleted)") && f.detail.contains("bob@northwind.example (disabled)"), "{}", f.detail);
    assert_eq!(ids(&r), [ORPHANED], "orphaned replaces single-owner");
    let entry = r.connectors.iter().find(|c| c.key.starts_with("flow:")).unwrap();
    assert_eq!(entry.owner.as_deref(), Some("alice@northwind.example (deleted)"));

    // One owner deleted (a 404 from Graph) and nobody else: orphaned, not single-owner.
    let mut c = Case::new(flow(recurrence(), json!({})));
    c.perms = Some(vec![owner("alice")]);
    c.users = Some([("alice".to_string(), User::deleted("alice"))].into_iter().collect());
    let r = c.report();
    assert_eq!(ids(&r), [ORPHANED]);
    assert!(find(&r, ORPHANED).detail.contains("alice (deleted)"));

    // No manager at all.
    let mut c = Case::new(flow(recurrence(), json!({})));
    c.perms = Some(vec![perm(Role::CanView, "carol", Some(PrincipalType::User))]);
    assert!(find(&c.report(), ORPHANED).detail.contains("no owner or co-owner at all"));

    // One manager still enabled, or unknown, or a group: not orphaned.
    let mut c = Case::new(flow(recurrence(), json!({})));
    c.users = users(&[("alice", AccountStatus::Deleted), ("bob", AccountStatus::Enabled)]);
    assert!(ids(&c.report()).is_empty());
    let mut c = Case::new(flow(recurrence(), json!({})));
    c.users = users(&[("alice", AccountStatus::Deleted)]);
    assert!(ids(&c.report()).is_empty(), "bob's status is unknown");
    let mut c = Case::new(flow(recurrence(), json!({})));
    c.users = None;
    assert!(ids(&c.report()).is_empty(), "no Graph at all: unknown");
    let mut c = Case::new(flow(recurrence(), json!({})));
    c.perms = Some(vec![owner("alice"), perm(Role::CanEdit, "g1", Some(PrincipalType::Group))]);
    c.users = users(&[("alice", AccountStatus::Disabled)]);
    assert!(ids(&c.report()).is_empty(), "a group co-owner still manages the flow");
}

fn teams_trigger() -> Value {
    json!({"type": "OpenApiConnectionWebhook", "swaggerOperationId": "TeamsIncomingWebhookTrigger", "api": {"name": "shared_teams"}})
}

#[test]
fn teams_webhook_anyone_needs_the_setting_read_as_anyone() {
    let mut c = Case::new(flow(teams_trigger(), json!({})));
    c.auth = AuthKnowledge::Set(TriggerAuth::Anyone);
    let r = c.report();
    let f = find(&r, TEAMS_WEBHOOK_ANYONE);
    assert_eq!(f.severity, Severity::High);
    assert!(f.remediation.contains("Any user in my tenant"), "{}", f.remediation);
    assert_eq!(evidence(f, "trigger_authentication"), Some("Anyone"));
    assert!(!ids(&r).contains(&HTTP_TRIGGER), "a Teams webhook is not also reported as an HTTP trigger");
    let entry = r.connectors.iter().find(|c| c.key.starts_with("flow:")).unwrap();
    assert_eq!(entry.category, Category::Workflow);
    assert_eq!(entry.auth_type.as_deref(), Some("TeamsIncomingWebhookTrigger"));
    assert_eq!(entry.migration_state.as_deref(), Some("workflow"));
    assert_eq!(entry.get_attr("trigger_authentication"), Some("Anyone"));
    assert_eq!(entry.get_attr("connectors"), Some("shared_office365, shared_teams"));

    for auth in [
        AuthKnowledge::Set(TriggerAuth::Tenant),
        AuthKnowledge::Set(TriggerAuth::SpecificUsers),
        AuthKnowledge::NotSet,
        AuthKnowledge::NotRead,
    ] {
        let mut c = Case::new(flow(teams_trigger(), json!({})));
        c.auth = auth.clone();
        let r = c.report();
        assert!(ids(&r).is_empty(), "{auth:?}: {:?}", ids(&r));
        let entry = r.connectors.iter().find(|c| c.key.starts_with("flow:")).unwrap();
        assert_eq!(entry.category, Category::Workflow, "still a Workflow");
        assert_eq!(entry.get_attr("trigger_authentication"), Some(auth.describe()));
    }
}

#[test]
fn http_trigger_fires_unless_sign_in_is_required() {
    let http = json!({"type": "Request", "kind": "Http"});
    for (auth, fires) in [
        (AuthKnowledge::NotRead, true),
        (AuthKnowledge::NotSet, true),
        (AuthKnowledge::Set(TriggerAuth::Anyone), true),
        (AuthKnowledge::Set(TriggerAuth::Tenant), false),
        (AuthKnowledge::Set(TriggerAuth::SpecificUsers), false),
    ] {
        let mut c = Case::new(flow(http.clone(), json!({})));
        c.auth = auth.clone();
        let r = c.report();
        assert_eq!(ids(&r).contains(&HTTP_TRIGGER), fires, "{auth:?}");
        let entry = r.connectors.iter().find(|c| c.key.starts_with("flow:")).unwrap();
        assert_eq!(entry.auth_type.as_deref(), Some("Request (Http)"));
        assert_eq!(entry.get_attr("trigger_kind"), Some("Http"));
        assert_eq!(entry.migration_state.as_deref(), Some("workflow"));
        assert_eq!(entry.category, Category::PowerAutomateFlow);
        if fires {
            let f = find(&r, HTTP_TRIGGER);
            assert_eq!(f.severity, Severity::Medium);
            assert_eq!(evidence(f, "trigger_authentication"), Some(auth.describe()));
        }
    }
    // A button (Request kind Button) or a Request without a kind: no finding.
    for t in [json!({"type": "Request", "kind": "Button"}), json!({"type": "Request"})] {
        let r = Case::new(flow(t.clone(), json!({}))).report();
        assert!(ids(&r).is_empty(), "{t}");
    }
    let r = Case::new(flow(json!({"type": "Request", "kind": "Button"}), json!({}))).report();
    let button = r.connectors.iter().find(|c| c.key.starts_with("flow:")).unwrap();
    assert_eq!((button.auth_type.as_deref(), button.get_attr("trigger_authentication")), (Some("Request (Button)"), None));
    // A Request without a kind that the definition shows to be HTTP: fires.
    let mut f = FlowFacts::listed(flow(json!({"type": "Request"}), json!({})));
    f.definition = Definition::from_flow_value(&json!({"properties": {"definition": {"triggers": {"manual": {"type": "Request", "kind": "Http"}}}}}));
    assert_eq!(f.has_http_trigger(), Some(true));
}

#[test]
fn suspended_by_state_or_reason_but_not_none() {
    let r = Case::new(flow(recurrence(), json!({"state": "Suspended", "flowSuspensionReason": "CompanyDlpViolation"}))).report();
    let f = find(&r, SUSPENDED);
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(evidence(f, "suspension_reason"), Some("CompanyDlpViolation"));
    let entry = r.connectors.iter().find(|c| c.key.starts_with("flow:")).unwrap();
    assert_eq!(entry.get_attr("suspension_reason"), Some("CompanyDlpViolation"));
    assert_eq!(entry.get_attr("state"), Some("Suspended"));
    let r = Case::new(flow(recurrence(), json!({"state": "Suspended", "flowSuspensionReason": null}))).report();
    assert_eq!(evidence(find(&r, SUSPENDED), "suspension_reason"), Some("not given"));
    let r = Case::new(flow(recurrence(), json!({"state": "Stopped", "flowSuspensionReason": "OwnerInactive"}))).report();
    assert!(ids(&r).contains(&SUSPENDED), "a reason alone is enough");
    for quiet in [json!({"state": "Stopped"}), json!({"flowSuspensionReason": "none"}), json!({"state": null, "flowSuspensionReason": null})] {
        assert!(ids(&Case::new(flow(recurrence(), quiet.clone())).report()).is_empty(), "{quiet}");
    }
}

#[test]
fn absent_summary_is_unknown_not_healthy_or_risky() {
    let f = Flow::from_value(&json!({"name": "f1"}), ENV).unwrap();
    let mut c = Case::new(f);
    c.perms = None;
    let r = c.report();
    assert!(ids(&r).is_empty());
    let entry = r.connectors.iter().find(|c| c.key.starts_with("flow:")).unwrap();
    assert_eq!(entry.name, "f1");
    assert_eq!(entry.auth_type.as_deref(), Some("unknown"));
    assert_eq!(entry.get_attr("state"), Some("unknown"));
    assert_eq!(entry.get_attr("connectors"), Some("unknown"));
    assert_eq!((entry.created.as_deref(), entry.migration_state.as_deref()), (None, None));
}

#[test]
fn every_check_id_is_listed_once_with_its_severity() {
    let ids: Vec<&str> = CHECKS.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [SINGLE_OWNER, ORPHANED, TEAMS_WEBHOOK_ANYONE, HTTP_TRIGGER, SUSPENDED]);
    assert!(ids.iter().all(|id| id.starts_with("flow.")));
}

/// Many flows, a small budget: flows with findings are kept first and the
/// environment entry says the register was cut.
#[test]
fn the_budget_keeps_flows_with_findings_first() {
    let mut flows = Vec::new();
    for i in 0..200 {
        let mut f = FlowFacts::listed(
            Flow::from_value(
                &json!({"name": format!("f{i:04}"), "properties": {"displayName": format!("Flow {i}"), "state": "Started",
                        "definitionSummary": {"triggers": [{"type": "Recurrence"}]}}}),
                ENV,
            )
            .unwrap(),
        );
        // Every tenth flow has a single owner; the rest two.
        f.permissions = Some(if i % 10 == 0 { vec![owner("alice")] } else { vec![owner("alice"), co_owner("bob")] });
        flows.push(f);
    }
    let inv = Inventory {
        environments: vec![EnvironmentFacts {
            env: Environment { name: ENV.into(), ..Environment::default() },
            flows,
            listing: Listing::Complete,
        }],
        users: users(&[("alice", AccountStatus::Enabled), ("bob", AccountStatus::Enabled)]),
        ..Inventory::default()
    };
    let (full, all) = assess(&inv, "power-automate-flows", REPORT_BUDGET_BYTES);
    assert_eq!((all.flows, all.kept), (200, 200));
    assert_eq!(full.findings.len(), 20);
    let budget = all.bytes / 3;
    let (cut, outcome) = assess(&inv, "power-automate-flows", budget);
    assert!(outcome.kept < 200 && outcome.kept >= 20, "{outcome:?}");
    assert!(outcome.bytes <= budget);
    assert_eq!(cut.findings.len(), 20, "every flow with a finding is kept");
    let env = cut.connectors.iter().find(|c| c.key.starts_with("flow-environment:")).unwrap();
    assert!(env.get_attr("register").unwrap().starts_with(&format!("cut: {} of 200", outcome.kept)), "{:?}", env.get_attr("register"));
    let keys: Vec<&str> = cut.connectors.iter().map(|c| c.key.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by key");
    // The estimate is not below what the host will count.
    let host_like = serde_json::to_vec(&full.connectors.iter().map(|c| {
        json!({"key": c.key, "category": "power-automate-flow", "name": c.name, "scope": c.scope, "owner": c.owner,
               "co_owners": c.co_owners, "purpose": c.purpose, "auth_type": c.auth_type, "migration_state": c.migration_state,
               "created": c.created, "last_change": c.changed,
               "attributes": c.attributes.iter().map(|a| (a.name.clone(), Value::String(a.value.clone()))).collect::<serde_json::Map<_, _>>(),
               "plugin": "power-automate-flows"})
    }).collect::<Vec<_>>()).unwrap().len();
    assert!(all.bytes >= host_like, "estimate {} < {host_like}", all.bytes);
}

/// `User` is how a saved definition writes "Specific users in my tenant"
/// (posetek/posetek_website deployments/microsoft-email/flow-definition.json,
/// `"triggerAuthenticationType": "User"` with `triggerAllowedUsers`; the value
/// set `All`/`Tenant`/`User` is the one tihanajk/HttpFlowFinder filters on).
/// It was an unknown value, and the HTTP finding called the URL a bearer secret.
#[test]
fn an_http_trigger_for_specific_users_is_not_reported_open() {
    let mut c = Case::new(flow(json!({"type": "Request", "kind": "Http"}), json!({})));
    c.auth = AuthKnowledge::Set(TriggerAuth::parse("User"));
    let r = c.report();
    assert!(ids(&r).is_empty(), "{:?}", ids(&r));
    let entry = r.connectors.iter().find(|c| c.key.starts_with("flow:")).unwrap();
    assert_eq!(entry.get_attr("trigger_authentication"), Some("SpecificUsers"));

    // A value nobody documents is not known to be open either: the finding
    // stays (the URL may be open) but does not say it is.
    let mut c = Case::new(flow(json!({"type": "Request", "kind": "Http"}), json!({})));
    c.auth = AuthKnowledge::Set(TriggerAuth::parse("Robots"));
    let r = c.report();
    let f = find(&r, HTTP_TRIGGER);
    assert!(f.detail.contains("\"Robots\", which this plugin does not know; unless it requires sign-in"), "{}", f.detail);
}
