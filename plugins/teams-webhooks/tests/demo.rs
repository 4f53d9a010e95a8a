//! The Northwind Dental demo export in demo/teams/ reads through the
//! offline code (export layout, audit CSV, the exchange demo's
//! Get-OrganizationConfig) and gives the findings the demo is meant to show.

use plumbline_plugin_sdk::files::decode_text;
use plumbline_plugin_sdk::ScanError;
use std::path::PathBuf;
use teams_webhooks::checks::*;
use teams_webhooks::export::{self, Entry, ExportFs};
use teams_webhooks::{assess, Options, TeamsState};

const TENANT: &str = "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa";
/// 2026-11-25T09:00:00Z, when the demo export was taken.
const AS_OF: i64 = 1_795_597_200_000;

/// Plain files, as the host would serve them.
struct StdFs;

impl ExportFs for StdFs {
    fn list(&self, dir: &str) -> Result<Vec<Entry>, ScanError> {
        let rd = std::fs::read_dir(dir).map_err(|e| ScanError::Config(format!("{dir}: {e}")))?;
        Ok(rd
            .flatten()
            .map(|e| Entry {
                name: e.file_name().to_string_lossy().into_owned(),
                is_dir: e.path().is_dir(),
            })
            .collect())
    }

    fn read_text(&self, path: &str) -> Result<String, ScanError> {
        let bytes = std::fs::read(path).map_err(|e| ScanError::Config(format!("{path}: {e}")))?;
        decode_text(&bytes).map_err(ScanError::Malformed)
    }
}

fn demo(dir: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../demo")
        .join(dir)
        .display()
        .to_string()
}

fn demo_state() -> TeamsState {
    let dir = demo("teams");
    let read = export::read_export(&StdFs, &dir).expect("demo export reads");
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let audit_dir = export::audit_subdir(&StdFs, &dir).unwrap().expect("demo has audit/");
    let audit = export::read_audit_dir(&StdFs, &audit_dir).expect("demo audit reads");
    assert!(audit.warnings.is_empty(), "{:?}", audit.warnings);
    assert_eq!(audit.records.len(), 6, "7 rows, one repeated");
    let org = export::read_org_config(&StdFs, &format!("{}/Get-OrganizationConfig.json", demo("exchange")))
        .expect("the exchange demo's UTF-16 Get-OrganizationConfig reads");
    TeamsState {
        source: "offline".into(),
        teams: read.teams,
        audit: audit.records,
        audit_read: true,
        org,
    }
}

#[test]
fn demo_gives_the_expected_register_and_findings() {
    let r = assess(&demo_state(), &Options::default(), TENANT, AS_OF);
    let name_of = |key: &str| {
        r.connectors
            .iter()
            .find(|c| c.key == key)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| panic!("finding on a missing entry {key}"))
    };
    let mut got: Vec<(String, &str)> = r
        .findings
        .iter()
        .map(|f| (name_of(&f.connector_key), f.check_id.as_str()))
        .collect();
    got.sort();
    let want = vec![
        ("Billing (installed apps not readable)", INSTALLED_APPS_UNREADABLE),
        ("Incoming Webhook in Front Desk", CONNECTOR_SINGLE_OWNER),
        ("Incoming Webhook in Front Desk", LEGACY_CONNECTOR_CONFIGURED),
        ("Incoming Webhook in Front Desk / Appointments", LEGACY_CONNECTOR_CONFIGURED),
        ("Incoming Webhook in IT Operations", LEGACY_CONNECTOR_CONFIGURED),
        ("Incoming Webhook in IT Operations / Alerts", LEGACY_CONNECTOR_CONFIGURED),
        ("RSS in Practice Managers", CONNECTOR_SINGLE_OWNER),
        ("RSS in Practice Managers", LEGACY_CONNECTOR_CONFIGURED),
        ("RSS in Practice Managers / Industry News", LEGACY_CONNECTOR_CONFIGURED),
        ("Teams connectors (tenant)", CONNECTORS_ENABLED),
    ];
    let got_ref: Vec<(&str, &str)> = got.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    assert_eq!(got_ref, want);
    assert_eq!(r.connectors.len(), 8, "{:?}", r.connectors.iter().map(|c| &c.key).collect::<Vec<_>>());

    let front = r
        .connectors
        .iter()
        .find(|c| c.name == "Incoming Webhook in Front Desk / Appointments")
        .unwrap();
    assert_eq!(
        front.key,
        "teams:3f2a9c41-6b7d-4e1a-9c3b-1d5e7f9a2b01:channel:19:e5d4c3b2a1f0e9d8c7b6a5f4e3d2c104@thread.tacv2:connector:4a8d2e6f-3b1c-4f9e-8d72-1e5a9c3b7f22"
    );
    assert_eq!(front.owner.as_deref(), Some("maria.lopez@northwinddental.com"));
    assert_eq!(front.get_attr("added_by"), Some("it-admin@northwinddental.com"));
    assert_eq!(front.created.as_deref(), Some("2025-03-10T14:22:05Z"));
    assert_eq!(front.changed.as_deref(), Some("2026-02-02T08:31:27Z"));
    assert_eq!(front.migration_state.as_deref(), Some("legacy-retired"));

    let managers = r.connectors.iter().find(|c| c.name == "RSS in Practice Managers").unwrap();
    assert_eq!(managers.owner.as_deref(), Some("sam.patel@northwinddental.com"));
    assert_eq!(managers.co_owners, vec!["rachel.kim@northwinddental.com"]);
    assert_eq!(managers.get_attr("disabled_owners"), Some("rachel.kim@northwinddental.com"));

    let tenant = r.connectors.iter().find(|c| c.key == "teams:tenant").unwrap();
    assert_eq!(tenant.get_attr("teams"), Some("5"));
    assert_eq!(tenant.get_attr("teams_with_connectors"), Some("3"));
    assert_eq!(tenant.get_attr("channel_connectors"), Some("3"));
    assert_eq!(tenant.get_attr("channel_connectors_removed"), Some("1"), "IT Operations / Backups moved to Workflows");
    assert_eq!(tenant.get_attr("connectors_enabled"), Some("true"));
    // Clinical Staff has apps but no connectors: no entry of its own.
    assert!(!r.connectors.iter().any(|c| c.scope.contains("Clinical Staff")));
}

#[test]
fn demo_files_look_like_what_the_script_and_powershell_write() {
    let csv = std::fs::read(format!("{}/audit/ConnectorAudit.csv", demo("teams"))).unwrap();
    assert_eq!(&csv[..3], &[0xEF, 0xBB, 0xBF], "Export-Csv -Encoding UTF8 in 5.1: a BOM");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(text.starts_with("\"CreationDate\",\"UserIds\",\"Operations\",\"AuditData\"\r\n"));
    assert!(text.contains("\"{\"\"CreationTime\"\":"), "AuditData JSON with doubled quotes");
    let script = std::fs::read_to_string(format!("{}/export-teams.ps1", demo("teams"))).unwrap();
    for needle in [
        "Invoke-MgGraphRequest",
        "resourceProvisioningOptions/Any(x:x eq 'Team')",
        "installedApps?`$expand=teamsAppDefinition",
        "owners?`$select=id,displayName,userPrincipalName,accountEnabled",
        "Search-UnifiedAuditLog",
        "ConnectorAdded, ConnectorUpdated, ConnectorRemoved",
        "Get-OrganizationConfig",
    ] {
        assert!(script.contains(needle), "export-teams.ps1 lacks {needle}");
    }
}
