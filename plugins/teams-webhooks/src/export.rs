//! Offline mode: saved Graph answers in a directory, as
//! `demo/teams/export-teams.ps1` writes them ([`LAYOUT`]), plus the optional
//! audit exports and Get-OrganizationConfig.
//!
//! Reading goes through [`ExportFs`], so the same code reads the host's
//! granted directories in a scan and plain files in native tests.

use crate::audit::{self, AuditRecord};
use crate::json::{collection_of, parse_collection, Collection};
use crate::model::{Fetched, InstalledApp, Note, OrgFlag, Owner, Team, TeamData};
use plumbline_plugin_sdk::ScanError;
use serde_json::Value;

/// The export layout, for messages and documentation.
pub const LAYOUT: &str = "teams.json (GET /groups?$filter=resourceProvisioningOptions/Any(x:x eq 'Team')), \
     installedApps/{teamId}.json (GET /teams/{id}/installedApps?$expand=teamsAppDefinition), \
     owners/{teamId}.json (GET /groups/{id}/owners), optional audit/*.csv|*.json \
     (Search-UnifiedAuditLog -Operations ConnectorAdded,ConnectorUpdated,ConnectorRemoved) and \
     optional Get-OrganizationConfig.json";
/// The team list.
pub const TEAMS_FILE: &str = "teams.json";
/// Per-team installed apps.
pub const APPS_DIR: &str = "installedApps";
/// Per-team owners.
pub const OWNERS_DIR: &str = "owners";
/// Audit exports (optional).
pub const AUDIT_DIR: &str = "audit";
/// The tenant switch (optional).
pub const ORG_FILE: &str = "Get-OrganizationConfig.json";

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File name.
    pub name: String,
    /// A directory.
    pub is_dir: bool,
}

/// Read-only access to the export.
pub trait ExportFs {
    /// The entries of `dir`.
    fn list(&self, dir: &str) -> Result<Vec<Entry>, ScanError>;
    /// A text file, decoded (UTF-8 or UTF-16 with BOM).
    fn read_text(&self, path: &str) -> Result<String, ScanError>;
}

/// Join with `/`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') || dir.ends_with('\\') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn find<'a>(entries: &'a [Entry], name: &str, dir: bool) -> Option<&'a Entry> {
    entries
        .iter()
        .find(|e| e.is_dir == dir && e.name.eq_ignore_ascii_case(name))
}

/// What the export gave besides the teams.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfflineRead {
    /// Teams with their apps and owners.
    pub teams: Vec<TeamData>,
    /// Things the operator should know (missing files, incomplete pages).
    pub warnings: Vec<String>,
}

/// Read `teams.json` and each team's `installedApps/` and `owners/` files.
pub fn read_export(fs: &impl ExportFs, dir: &str) -> Result<OfflineRead, ScanError> {
    let entries = fs.list(dir).map_err(|e| e.context("export_dir"))?;
    let Some(teams_entry) = find(&entries, TEAMS_FILE, false) else {
        return Err(ScanError::Config(format!(
            "export_dir {dir} has no {TEAMS_FILE}; run export-teams.ps1 there. Expected layout: {LAYOUT}"
        )));
    };
    let mut out = OfflineRead::default();
    let path = join(dir, &teams_entry.name);
    let teams = match parse_collection(&fs.read_text(&path)?, &path)? {
        Collection::Items { items, next_link } => {
            if next_link.is_some() {
                out.warnings.push(format!(
                    "{path} holds only the first page of teams (it has an @odata.nextLink); teams on later pages are not in this scan"
                ));
            }
            items
        }
        Collection::Error(e) => {
            return Err(ScanError::Upstream(format!(
                "{path}: the saved team listing is a Graph error: {}",
                e.describe()
            )))
        }
    };
    let sub = |name: &str| -> Result<Option<(String, Vec<Entry>)>, ScanError> {
        match find(&entries, name, true) {
            None => Ok(None),
            Some(e) => {
                let d = join(dir, &e.name);
                let list = fs.list(&d)?;
                Ok(Some((d, list)))
            }
        }
    };
    let apps_dir = sub(APPS_DIR)?;
    let owners_dir = sub(OWNERS_DIR)?;
    for name in [(APPS_DIR, &apps_dir), (OWNERS_DIR, &owners_dir)] {
        if name.1.is_none() {
            out.warnings.push(format!("{dir} has no {}/ directory: that part of every team is unknown", name.0));
        }
    }
    for (i, v) in teams.iter().enumerate() {
        let team = Team::from_value(v)
            .ok_or_else(|| ScanError::Malformed(format!("{path}: item {i} has no `id`")))?;
        let apps = per_team(fs, apps_dir.as_ref(), &team.id, APPS_DIR, &mut out.warnings)?;
        let owners = per_team(fs, owners_dir.as_ref(), &team.id, OWNERS_DIR, &mut out.warnings)?;
        out.teams.push(TeamData {
            apps: map(apps, InstalledApp::from_value),
            owners: map(owners, Owner::from_value),
            team,
        });
    }
    Ok(out)
}

fn per_team(
    fs: &impl ExportFs,
    dir: Option<&(String, Vec<Entry>)>,
    team_id: &str,
    what: &str,
    warnings: &mut Vec<String>,
) -> Result<Fetched<Vec<Value>>, ScanError> {
    let Some((dir, entries)) = dir else {
        return Ok(Fetched::Missing(format!("no {what}/ directory in the export")));
    };
    let file = format!("{team_id}.json");
    let Some(entry) = find(entries, &file, false) else {
        return Ok(Fetched::Missing(format!("no {what}/{file} in the export")));
    };
    let path = join(dir, &entry.name);
    Ok(match parse_collection(&fs.read_text(&path)?, &path)? {
        Collection::Items { items, next_link } => {
            if next_link.is_some() {
                warnings.push(format!("{path} holds only the first page (it has an @odata.nextLink)"));
            }
            Fetched::Read(items)
        }
        Collection::Error(e) => Fetched::Failed(Note {
            status: e.status,
            reason: format!("{} (saved by the export)", e.describe()),
        }),
    })
}

fn map<T>(f: Fetched<Vec<Value>>, read: impl Fn(&Value) -> T) -> Fetched<Vec<T>> {
    match f {
        Fetched::Read(vs) => Fetched::Read(vs.iter().map(read).collect()),
        Fetched::Failed(n) => Fetched::Failed(n),
        Fetched::Missing(m) => Fetched::Missing(m),
    }
}

/// Whether `dir` has an `audit/` subdirectory (offline mode's default audit place).
pub fn audit_subdir(fs: &impl ExportFs, dir: &str) -> Result<Option<String>, ScanError> {
    let entries = fs.list(dir)?;
    Ok(find(&entries, AUDIT_DIR, true).map(|e| join(dir, &e.name)))
}

/// What the audit directory gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditRead {
    /// Connector records, de-duplicated.
    pub records: Vec<AuditRecord>,
    /// Files read.
    pub files: usize,
    /// Things the operator should know (skipped rows).
    pub warnings: Vec<String>,
}

/// Read every `*.csv` and `*.json` file in `dir`.
pub fn read_audit_dir(fs: &impl ExportFs, dir: &str) -> Result<AuditRead, ScanError> {
    let mut entries = fs.list(dir).map_err(|e| e.context("audit_dir"))?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = AuditRead::default();
    for e in entries.iter().filter(|e| !e.is_dir) {
        let lower = e.name.to_ascii_lowercase();
        if !(lower.ends_with(".csv") || lower.ends_with(".json")) {
            continue;
        }
        let path = join(dir, &e.name);
        let parsed = audit::parse_audit(&fs.read_text(&path)?, &path)?;
        out.files += 1;
        if parsed.skipped > 0 {
            out.warnings.push(format!(
                "{path}: skipped {} unreadable row(s); first: {}",
                parsed.skipped,
                parsed.first_problem.unwrap_or_default()
            ));
        }
        out.records.extend(parsed.records);
    }
    audit::dedupe(&mut out.records);
    Ok(out)
}

/// The tenant switch from a Get-OrganizationConfig export (`ConvertTo-Json`
/// of the cmdlet, PowerShell 5.1 or 7, or a saved REST answer).
pub fn read_org_config(fs: &impl ExportFs, path: &str) -> Result<Option<OrgFlag>, ScanError> {
    let text = fs.read_text(path)?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ScanError::Malformed(format!("{path}: not valid JSON: {e}")))?;
    match collection_of(value, path)? {
        Collection::Items { items, .. } => Ok(items
            .first()
            .and_then(|o| OrgFlag::from_organization_config(o, path))),
        Collection::Error(_) => Ok(None),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// An in-memory export: path → contents; directories are implied.
    #[derive(Default)]
    pub(crate) struct MemFs(pub BTreeMap<String, String>);

    impl MemFs {
        pub(crate) fn with(mut self, path: &str, text: &str) -> Self {
            self.0.insert(path.to_string(), text.to_string());
            self
        }
    }

    impl ExportFs for MemFs {
        fn list(&self, dir: &str) -> Result<Vec<Entry>, ScanError> {
            let prefix = format!("{}/", dir.trim_end_matches('/'));
            let mut out: Vec<Entry> = Vec::new();
            for path in self.0.keys() {
                if let Some(rest) = path.strip_prefix(&prefix) {
                    let (name, is_dir) = match rest.split_once('/') {
                        Some((d, _)) => (d.to_string(), true),
                        None => (rest.to_string(), false),
                    };
                    if !out.iter().any(|e| e.name == name) {
                        out.push(Entry { name, is_dir });
                    }
                }
            }
            if out.is_empty() {
                return Err(ScanError::Config(format!("{dir}: not found")));
            }
            Ok(out)
        }

        fn read_text(&self, path: &str) -> Result<String, ScanError> {
            self.0
                .get(path)
                .cloned()
                .ok_or_else(|| ScanError::Config(format!("{path}: not found")))
        }
    }

    const T1: &str = "11111111-1111-4111-8111-111111111111";
    const T2: &str = "22222222-2222-4222-8222-222222222222";

    #[test]
    fn reads_the_layout_with_missing_and_refused_parts() {
        let fs = MemFs::default()
            .with("/x/Teams.JSON", &format!(r#"{{"value":[{{"id":"{T1}","displayName":"A"}},{{"id":"{T2}"}}]}}"#))
            .with(&format!("/x/installedApps/{T1}.json"), r#"[{"id":"i","teamsAppDefinition":{"teamsAppId":"203a1e2c-26cc-47ca-83ae-be98f960b6b2"}}]"#)
            .with(&format!("/x/installedApps/{T2}.json"), r#"{"status":403,"error":{"code":"Forbidden","message":"nope"}}"#)
            .with(&format!("/x/owners/{}.json", T1.to_uppercase()), r#"{"userPrincipalName":"a@x.example"}"#);
        let r = read_export(&fs, "/x").unwrap();
        assert_eq!(r.teams.len(), 2);
        assert!(r.teams[0].apps.read().unwrap()[0].is_incoming_webhook());
        assert_eq!(r.teams[0].owners.read().unwrap()[0].label(), "a@x.example", "file names match without case; a bare object is one owner");
        assert!(matches!(&r.teams[1].apps, Fetched::Failed(n) if n.status == Some(403)));
        assert!(matches!(&r.teams[1].owners, Fetched::Missing(m) if m.contains("owners/")));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn no_teams_file_is_a_config_error_naming_the_layout() {
        let fs = MemFs::default().with("/x/other.json", "[]");
        let e = read_export(&fs, "/x").unwrap_err();
        assert!(matches!(&e, ScanError::Config(m) if m.contains("teams.json") && m.contains("installedApps/")), "{e:?}");
        let fs = MemFs::default().with("/x/teams.json", r#"{"value":[],"@odata.nextLink":"https://graph.microsoft.com/v1.0/groups?$skiptoken=1"}"#);
        let r = read_export(&fs, "/x").unwrap();
        assert!(r.warnings.iter().any(|w| w.contains("first page")), "{:?}", r.warnings);
        assert!(r.warnings.iter().any(|w| w.contains("no installedApps/")), "{:?}", r.warnings);
    }

    #[test]
    fn audit_dir_and_org_config() {
        let fs = MemFs::default()
            .with("/a/audit/one.csv", "\"CreationDate\",\"AuditData\"\n\"x\",\"{\"\"Id\"\":\"\"1\"\",\"\"Operation\"\":\"\"ConnectorAdded\"\"}\"\n\"y\",\"{bad\"\n")
            .with("/a/audit/two.json", r#"[{"Id":"1","Operation":"ConnectorAdded"},{"Id":"2","Operation":"ConnectorRemoved"}]"#)
            .with("/a/audit/notes.txt", "ignored")
            .with("/a/Get-OrganizationConfig.json", "{\"ConnectorsEnabled\": true, \"ConnectorsEnabledForTeams\": \"True\"}");
        assert_eq!(audit_subdir(&fs, "/a").unwrap().as_deref(), Some("/a/audit"));
        let a = read_audit_dir(&fs, "/a/audit").unwrap();
        assert_eq!(a.files, 2);
        assert_eq!(a.records.len(), 2, "record 1 appears in both files");
        assert_eq!(a.warnings.len(), 1);
        let flag = read_org_config(&fs, "/a/Get-OrganizationConfig.json").unwrap().unwrap();
        assert!(flag.enabled);
        assert_eq!(flag.connectors_enabled_for_teams, Some(true));
    }
}
