//! The register entries and checks, through the public native API:
//! TeamsState → assess.

use plumbline_plugin_sdk::{ConnectorRecord, Finding, Report, Severity};
use serde_json::{json, Value};
use teams_webhooks::audit::parse_audit;
use teams_webhooks::checks::*;
use teams_webhooks::model::{Fetched, InstalledApp, Note, OrgFlag, Owner, Team, TeamData};
use teams_webhooks::{assess, Options, TeamsState, INCOMING_WEBHOOK_APP_ID, RETIREMENT_MS, TENANT_KEY};

const TENANT: &str = "6f1c2a4e-8b3d-4c5e-9a7f-0d2e4b6c8a10";
/// 2026-11-25T12:00:00Z: after the retirement.
const AFTER: i64 = 1_795_608_000_000;
/// 2026-01-15T00:00:00Z: before it.
const BEFORE: i64 = 1_768_435_200_000;
const T1: &str = "11111111-1111-4111-8111-111111111111";
const T2: &str = "22222222-2222-4222-8222-222222222222";

fn app(id: &str, name: &str) -> InstalledApp {
    InstalledApp::from_value(&json!({
        "id": format!("inst-{id}"),
        "teamsAppDefinition": {"teamsAppId": id, "displayName": name, "version": "1.0"}
    }))
}

fn webhook() -> InstalledApp {
    app(INCOMING_WEBHOOK_APP_ID, "Incoming Webhook")
}

fn owner(upn: &str, enabled: bool) -> Owner {
    Owner::from_value(&json!({"@odata.type": "#microsoft.graph.user", "userPrincipalName": upn, "accountEnabled": enabled}))
}

fn team(id: &str, name: &str, apps: Vec<InstalledApp>, owners: Vec<Owner>) -> TeamData {
    TeamData {
        team: Team { id: id.into(), display_name: Some(name.into()), ..Team::default() },
        apps: Fetched::Read(apps),
        owners: Fetched::Read(owners),
    }
}

fn state(teams: Vec<TeamData>) -> TeamsState {
    TeamsState { source: "graph".into(), teams, ..TeamsState::default() }
}

fn run(s: &TeamsState, now: i64) -> Report {
    assess(s, &Options::default(), TENANT, now)
}

fn ids(r: &Report) -> Vec<(&str, &str)> {
    r.findings.iter().map(|f| (f.connector_key.as_str(), f.check_id.as_str())).collect()
}

fn entry<'a>(r: &'a Report, key: &str) -> &'a ConnectorRecord {
    r.connectors
        .iter()
        .find(|c| c.key == key)
        .unwrap_or_else(|| panic!("no {key} in {:?}", r.connectors.iter().map(|c| &c.key).collect::<Vec<_>>()))
}

fn finding<'a>(r: &'a Report, key: &str, check: &str) -> &'a Finding {
    r.findings
        .iter()
        .find(|f| f.connector_key == key && f.check_id == check)
        .unwrap_or_else(|| panic!("no {check} on {key}: {:?}", ids(r)))
}

fn app_key(team: &str) -> String {
    format!("teams:{team}:app:{INCOMING_WEBHOOK_APP_ID}")
}

#[test]
fn incoming_webhook_after_the_retirement_with_a_single_owner() {
    let s = state(vec![team(T1, "Front Desk", vec![app("com.microsoft.teamspace.tab.planner", "Planner"), webhook()], vec![owner("maria@x.example", true)])]);
    let r = run(&s, AFTER);
    assert_eq!(
        ids(&r),
        vec![(app_key(T1).as_str(), CONNECTOR_SINGLE_OWNER), (app_key(T1).as_str(), LEGACY_CONNECTOR_CONFIGURED)]
    );
    let e = entry(&r, &app_key(T1));
    assert_eq!(e.name, "Incoming Webhook in Front Desk");
    assert_eq!(e.scope, "Front Desk");
    assert_eq!(e.owner.as_deref(), Some("maria@x.example"));
    assert!(e.co_owners.is_empty());
    assert_eq!(e.migration_state.as_deref(), Some("legacy-retired"));
    assert_eq!(e.get_attr("detected_by"), Some("incoming-webhook-app-id"));
    let f = finding(&r, &app_key(T1), LEGACY_CONNECTOR_CONFIGURED);
    assert_eq!(f.severity, Severity::High);
    assert!(f.title.contains("Incoming Webhook") && f.detail.contains("lost without a sound"), "{f:?}");
    assert!(f.remediation.contains("Workflows"), "{}", f.remediation);
    assert_eq!(finding(&r, &app_key(T1), CONNECTOR_SINGLE_OWNER).severity, Severity::Medium);
    // Only the connector app is an entry (plus the tenant entry).
    assert_eq!(r.connectors.len(), 2);
}

#[test]
fn before_the_retirement_it_needs_migration_and_is_not_yet_lost() {
    let s = state(vec![team(T1, "Front Desk", vec![webhook()], vec![owner("a@x", true), owner("b@x", true)])]);
    let r = run(&s, BEFORE);
    const { assert!(BEFORE < RETIREMENT_MS) };
    assert!(r.findings.is_empty(), "{:?}", ids(&r));
    assert_eq!(entry(&r, &app_key(T1)).migration_state.as_deref(), Some("needs-migration"));
    assert_eq!(entry(&r, &app_key(T1)).co_owners, vec!["b@x"]);
}

#[test]
fn owners_two_active_or_unknown_do_not_fire() {
    let mut unknown = team(T2, "Ops", vec![webhook()], vec![]);
    unknown.owners = Fetched::Failed(Note { status: Some(403), reason: "HTTP 403 Forbidden: no".into() });
    let s = state(vec![team(T1, "A", vec![webhook()], vec![owner("a@x", true), owner("b@x", true)]), unknown]);
    let r = run(&s, AFTER);
    assert!(!ids(&r).iter().any(|(_, c)| *c == CONNECTOR_SINGLE_OWNER), "{:?}", ids(&r));
    let e = entry(&r, &app_key(T2));
    assert_eq!(e.owner, None);
    assert_eq!(e.get_attr("owners"), Some("unknown (HTTP 403 Forbidden: no)"));
    // A disabled second owner does not count: the active one is listed first.
    let s = state(vec![team(T1, "A", vec![webhook()], vec![owner("gone@x", false), owner("a@x", true)])]);
    let r = run(&s, AFTER);
    finding(&r, &app_key(T1), CONNECTOR_SINGLE_OWNER);
    assert_eq!(entry(&r, &app_key(T1)).owner.as_deref(), Some("a@x"));
    assert_eq!(entry(&r, &app_key(T1)).get_attr("disabled_owners"), Some("gone@x"));
}

#[test]
fn unreadable_apps_are_a_note_not_no_connectors() {
    let mut t = team(T1, "Billing", vec![], vec![owner("j@x", true)]);
    t.apps = Fetched::Failed(Note { status: Some(403), reason: "HTTP 403 Forbidden: Missing role permissions".into() });
    let r = run(&state(vec![t]), AFTER);
    let key = format!("teams:{T1}");
    assert_eq!(ids(&r), vec![(key.as_str(), INSTALLED_APPS_UNREADABLE)]);
    assert_eq!(finding(&r, &key, INSTALLED_APPS_UNREADABLE).severity, Severity::Info);
    let e = entry(&r, &key);
    assert_eq!(e.migration_state.as_deref(), Some("unknown"));
    assert!(e.get_attr("note").unwrap().contains("403"));
    assert_eq!(entry(&r, TENANT_KEY).get_attr("unreadable_teams"), Some("Billing"));
}

#[test]
fn other_connector_apps_by_setting_by_audit_and_by_name() {
    let jira = "aaaaaaaa-0000-4000-8000-000000000001";
    let s = state(vec![team(
        T1,
        "Eng",
        vec![app(jira, "Jira Cloud"), app("bbbbbbbb-0000-4000-8000-000000000002", "Acme Connector"), app("cccccccc-0000-4000-8000-000000000003", "Planner")],
        vec![owner("a@x", true), owner("b@x", true)],
    )]);
    let r = run(&s, AFTER);
    assert!(r.findings.is_empty(), "nothing recognisable by default: {:?}", ids(&r));
    let opts = Options { connector_app_ids: vec![jira.into()], match_connector_names: true };
    let r = assess(&s, &opts, TENANT, AFTER);
    assert_eq!(entry(&r, &format!("teams:{T1}:app:{jira}")).get_attr("detected_by"), Some("connector_app_ids"));
    let named = entry(&r, &format!("teams:{T1}:app:bbbbbbbb-0000-4000-8000-000000000002"));
    assert_eq!(named.get_attr("detected_by"), Some("display-name"));
    assert_eq!(named.category, plumbline_plugin_sdk::Category::TeamsConnector);
    assert_eq!(r.findings.len(), 2);
}

fn audit_csv(rows: &[(&str, &str, &str, Value)]) -> String {
    let mut out = String::from("\"CreationDate\",\"UserIds\",\"Operations\",\"AuditData\"\r\n");
    for (i, (when, op, who, extra)) in rows.iter().enumerate() {
        let mut data = json!({"CreationTime": when, "Id": format!("rec-{i}"), "Operation": op, "RecordType": 25, "UserId": who, "Workload": "MicrosoftTeams"});
        for (k, v) in extra.as_object().unwrap() {
            data[k] = v.clone();
        }
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        out.push_str(&[q(when), q(who), q(op), q(&data.to_string())].join(","));
        out.push_str("\r\n");
    }
    out
}

#[test]
fn channel_connectors_from_audit_records() {
    let chan = |channel: &str, name: &str, guid: &str| {
        json!({"AADGroupId": T1, "TeamName": "Front Desk", "TeamGuid": "19:t@thread.tacv2", "ChannelGuid": format!("19:{channel}@thread.tacv2"), "ChannelName": channel, "ChannelType": "Standard", "AddOnName": name, "AddOnGuid": guid, "AddOnType": 2})
    };
    let csv = audit_csv(&[
        ("2025-03-10T14:22:05", "ConnectorAdded", "it@x", chan("alerts", "Incoming Webhook", "G1")),
        ("2026-02-02T08:31:27", "ConnectorUpdated", "tom@x", chan("alerts", "Incoming Webhook", "G1")),
        ("2025-06-12T11:05:40", "ConnectorAdded", "tom@x", chan("backups", "Incoming Webhook", "G2")),
        ("2026-06-03T17:02:44", "ConnectorRemoved", "tom@x", chan("backups", "Incoming Webhook", "G2")),
        // No AADGroupId: matched by the team's name.
        ("2025-09-01T15:48:19", "ConnectorAdded", "sam@x", json!({"TeamName": "front desk", "ChannelGuid": "19:news@thread.tacv2", "ChannelName": "News", "AddOnName": "RSS"})),
        // A team that is no longer there.
        ("2024-01-01T00:00:00", "ConnectorAdded", "old@x", json!({"AADGroupId": T2, "TeamName": "Gone", "ChannelGuid": "19:c@thread.tacv2", "ChannelName": "General", "AddOnName": "Incoming Webhook", "AddOnGuid": "G9"})),
    ]);
    let audit = parse_audit(&csv, "audit.csv").unwrap();
    assert_eq!(audit.records.len(), 6);
    let mut s = state(vec![team(T1, "Front Desk", vec![webhook(), app("dddddddd-0000-4000-8000-000000000004", "RSS")], vec![owner("maria@x", true)])]);
    s.audit = audit.records;
    s.audit_read = true;
    let r = run(&s, AFTER);

    let alerts = format!("teams:{T1}:channel:19:alerts@thread.tacv2:connector:g1");
    let e = entry(&r, &alerts);
    assert_eq!(e.name, "Incoming Webhook in Front Desk / alerts");
    assert_eq!(e.scope, "Front Desk / alerts");
    assert_eq!(e.created.as_deref(), Some("2025-03-10T14:22:05Z"));
    assert_eq!(e.changed.as_deref(), Some("2026-02-02T08:31:27Z"));
    assert_eq!(e.get_attr("added_by"), Some("it@x"));
    assert_eq!(e.get_attr("last_changed_by"), Some("tom@x"));
    assert_eq!(e.owner.as_deref(), Some("maria@x"));
    assert_eq!(e.category, plumbline_plugin_sdk::Category::IncomingWebhook);
    let f = finding(&r, &alerts, LEGACY_CONNECTOR_CONFIGURED);
    assert!(f.evidence.iter().any(|a| a.name == "added_by" && a.value == "it@x"), "{f:?}");

    // Removed last: not configured any more.
    assert!(!r.connectors.iter().any(|c| c.key.contains("backups")));
    assert_eq!(entry(&r, TENANT_KEY).get_attr("channel_connectors_removed"), Some("1"));
    // Matched by name, keyed by the connector's name when it has no GUID.
    let news = format!("teams:{T1}:channel:19:news@thread.tacv2:connector:rss");
    finding(&r, &news, LEGACY_CONNECTOR_CONFIGURED);
    // The RSS app is a connector because the audit says so; its changed time is its channel's.
    let rss = entry(&r, &format!("teams:{T1}:app:dddddddd-0000-4000-8000-000000000004"));
    assert_eq!(rss.get_attr("detected_by"), Some("audit-connector-name"));
    assert_eq!(rss.changed.as_deref(), Some("2025-09-01T15:48:19Z"));
    // The webhook app's last change is the latest webhook event in the team, the removal included.
    assert_eq!(entry(&r, &app_key(T1)).changed.as_deref(), Some("2026-06-03T17:02:44Z"));
    assert_eq!(entry(&r, &app_key(T1)).get_attr("channel_connectors"), Some("1"));
    // Single owner goes on the app entries, not again on every channel.
    let single: Vec<&str> = r.findings.iter().filter(|f| f.check_id == CONNECTOR_SINGLE_OWNER).map(|f| f.connector_key.as_str()).collect();
    assert_eq!(single.len(), 2, "{single:?}");
    assert!(single.iter().all(|k| k.contains(":app:")), "{single:?}");
    // The team that is gone: listed, but no finding.
    let gone = format!("teams:{T2}:channel:19:c@thread.tacv2:connector:g9");
    assert_eq!(entry(&r, &gone).migration_state.as_deref(), Some("unknown"));
    assert!(!r.findings.iter().any(|f| f.connector_key == gone));
}

#[test]
fn the_tenant_switch_only_when_known_on() {
    let s0 = state(vec![team(T1, "A", vec![webhook()], vec![owner("a@x", true), owner("b@x", true)])]);
    let r = run(&s0, AFTER);
    assert!(!ids(&r).iter().any(|(_, c)| *c == CONNECTORS_ENABLED));
    assert_eq!(entry(&r, TENANT_KEY).get_attr("connectors_enabled"), Some("unknown"));
    let mut s = s0.clone();
    s.org = Some(OrgFlag { enabled: false, source: "Get-OrganizationConfig.json".into(), connectors_enabled: Some(false), connectors_enabled_for_teams: None });
    assert!(!ids(&run(&s, AFTER)).iter().any(|(_, c)| *c == CONNECTORS_ENABLED));
    s.org = Some(OrgFlag { enabled: true, source: "Get-OrganizationConfig.json".into(), connectors_enabled: Some(true), connectors_enabled_for_teams: Some(true) });
    let r = run(&s, AFTER);
    let f = finding(&r, TENANT_KEY, CONNECTORS_ENABLED);
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.evidence.iter().any(|e| e.name == "related_check" && e.value == EXO_LEGACY_CONNECTORS_ENABLED));
    assert!(f.evidence.iter().any(|e| e.name == "teams_with_connectors" && e.value == "1"));
}

#[test]
fn every_check_id_is_listed_once_and_findings_name_entries() {
    let mut seen = std::collections::HashSet::new();
    for (id, _) in CHECKS {
        assert!(id.starts_with("teams.") && seen.insert(id), "{id}");
    }
    let mut t = team(T2, "B", vec![], vec![]);
    t.apps = Fetched::Missing("no installedApps/x.json in the export".into());
    let mut s = state(vec![team(T1, "A", vec![webhook()], vec![owner("a@x", true)]), t]);
    s.org = Some(OrgFlag { enabled: true, source: "s".into(), connectors_enabled: None, connectors_enabled_for_teams: None });
    let r = run(&s, AFTER);
    for f in &r.findings {
        assert!(r.connectors.iter().any(|c| c.key == f.connector_key), "{f:?}");
        let (_, sev) = CHECKS.iter().find(|(id, _)| *id == f.check_id).expect("listed check");
        assert_eq!(*sev, f.severity, "{}", f.check_id);
    }
    let keys: Vec<&str> = r.connectors.iter().map(|c| c.key.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "entries are sorted by key");
}
