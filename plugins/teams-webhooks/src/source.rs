//! Fetching, through the host: Graph (live) or the export directory
//! (offline), then the optional audit exports and the tenant switch. The
//! only module that calls the host; the logic it drives is in [`crate::live`]
//! and [`crate::export`], which take their transport as an argument.

use crate::config::{Config, Mode};
use crate::export::{self, Entry, ExportFs};
use crate::live;
use crate::model::{OrgFlag, TeamsState};
use plumbline_plugin_sdk::files::{self, EntryKind};
use plumbline_plugin_sdk::{http, log, ScanError};

/// The granted directories, through the host.
pub struct HostFs;

impl ExportFs for HostFs {
    fn list(&self, dir: &str) -> Result<Vec<Entry>, ScanError> {
        Ok(files::list_dir(dir)?
            .into_iter()
            .map(|e| Entry {
                is_dir: e.kind == EntryKind::Directory,
                name: e.name,
            })
            .collect())
    }

    fn read_text(&self, path: &str) -> Result<String, ScanError> {
        files::read_text(path)
    }
}

/// Read everything the configuration names.
pub fn fetch(config: &Config) -> Result<TeamsState, ScanError> {
    let fs = HostFs;
    let mut state = TeamsState::default();
    let mut audit_dir = config.audit_dir.clone();
    match &config.mode {
        Mode::Offline { export_dir } => {
            let read = export::read_export(&fs, export_dir)?;
            for w in &read.warnings {
                log::warn(w);
            }
            state.source = "offline".into();
            state.teams = read.teams;
            if audit_dir.is_none() {
                audit_dir = export::audit_subdir(&fs, export_dir)?;
            }
            log::info(&format!("read {} teams from {export_dir}", state.teams.len()));
        }
        Mode::Live { credential } => {
            let (teams, stats) = live::fetch_live_with(credential, &mut http::Host)?;
            state.source = "graph".into();
            state.teams = teams;
            log::info(&format!(
                "read {} teams from Microsoft Graph in {} $batch request(s) over {} round(s); \
                 {} throttled item(s) re-sent (largest Retry-After {}), {} fetched alone, {} extra page(s)",
                state.teams.len(),
                stats.batches,
                stats.rounds,
                stats.throttled,
                stats.max_retry_after.map_or("none".to_string(), |s| format!("{s}s")),
                stats.fallback_gets,
                stats.extra_pages
            ));
        }
    }
    // A team whose installed apps cannot be read is no log line: assess
    // reports it as a finding (teams.installed-apps-unreadable) with the
    // reason and the fix, and a warning on every scan would say it again.
    if let Some(dir) = audit_dir {
        let audit = export::read_audit_dir(&fs, &dir)?;
        for w in &audit.warnings {
            log::warn(w);
        }
        log::info(&format!("read {} connector audit record(s) from {} file(s) in {dir}", audit.records.len(), audit.files));
        state.audit = audit.records;
        state.audit_read = true;
    }
    state.org = org_flag(&fs, config)?;
    Ok(state)
}

/// The tenant switch: the `connectors_enabled` setting, else the
/// `organization_config` file, else (offline) `Get-OrganizationConfig.json`
/// in the export directory. Unknown when none says.
fn org_flag(fs: &HostFs, config: &Config) -> Result<Option<OrgFlag>, ScanError> {
    if let Some(enabled) = config.connectors_enabled {
        return Ok(Some(OrgFlag {
            enabled,
            source: "setting `connectors_enabled`".into(),
            connectors_enabled: None,
            connectors_enabled_for_teams: None,
        }));
    }
    if let Some(path) = &config.organization_config {
        return export::read_org_config(fs, path).map_err(|e| e.context("organization_config"));
    }
    if let Mode::Offline { export_dir } = &config.mode {
        let entries = fs.list(export_dir)?;
        if let Some(e) = entries
            .iter()
            .find(|e| !e.is_dir && e.name.eq_ignore_ascii_case(export::ORG_FILE))
        {
            return export::read_org_config(fs, &export::join(export_dir, &e.name));
        }
    }
    Ok(None)
}
