//! The plugin's settings.

use crate::json::parse_bool;
use plumbline_plugin_sdk::settings::Settings;
use plumbline_plugin_sdk::{Permission, ScanError, SettingSpec};

/// Every setting, as `describe()` declares it.
pub fn declared() -> Vec<SettingSpec> {
    vec![
        SettingSpec::choice(
            "mode",
            &["offline", "live"],
            "offline: read export-teams.ps1's files from export_dir; live: call Microsoft Graph",
        )
        .default("offline"),
        SettingSpec::path("export_dir", "folder export-teams.ps1 wrote (offline mode; required there)"),
        SettingSpec::text("credential", "credential profile for graph.microsoft.com (live mode)")
            .default(DEFAULT_CREDENTIAL),
        SettingSpec::path(
            "audit_dir",
            "Purview audit exports for channel-level detail; offline default: export_dir/audit",
        ),
        SettingSpec::list("connector_app_ids", "further Teams app ids to treat as connectors"),
        SettingSpec::boolean(
            "match_connector_names",
            "also treat apps whose name says connector as connectors (a guess)",
        )
        .default(false),
        SettingSpec::boolean("connectors_enabled", "the tenant's connector switch, when you know it"),
        SettingSpec::path("organization_config", "a Get-OrganizationConfig export to read the tenant switch from"),
        SettingSpec::text("as_of", "judge \"after the retirement\" as of this RFC 3339 time instead of the scan start"),
    ]
}

/// What live mode's app registration needs.
pub fn permissions() -> Vec<Permission> {
    vec![
        Permission::graph("GroupMember.Read.All", "list the teams and read each team's owners (live mode)")
            .via("credential"),
        Permission::graph(
            "TeamsAppInstallation.ReadForTeam.All",
            "read each team's installed apps, where the Incoming Webhook shows (live mode)",
        )
        .via("credential"),
    ]
}

/// Default credential profile for live mode.
pub const DEFAULT_CREDENTIAL: &str = "graph";

/// Where the teams, apps and owners come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Saved Graph answers in a directory (see `export::LAYOUT`).
    Offline {
        /// The directory holding `teams.json`, `installedApps/`, `owners/`.
        export_dir: String,
    },
    /// Microsoft Graph.
    Live {
        /// Credential profile passed with every request.
        credential: String,
    },
}

/// The parsed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Offline or live.
    pub mode: Mode,
    /// Directory of Purview audit exports (CSV or JSON). Offline mode
    /// defaults to `{export_dir}/audit` when that exists.
    pub audit_dir: Option<String>,
    /// Further Teams app ids to treat as connectors (lower case).
    pub connector_app_ids: Vec<String>,
    /// Also treat installed apps whose display name says "connector" as
    /// connectors (a guess, so off by default).
    pub match_connector_names: bool,
    /// The tenant's connector switch, when the operator states it.
    pub connectors_enabled: Option<bool>,
    /// A Get-OrganizationConfig export to read the switch from.
    pub organization_config: Option<String>,
    /// Judge "after the retirement" as of this time instead of the scan start.
    pub as_of_ms: Option<i64>,
}

impl Config {
    /// Read the settings.
    pub fn from_settings(settings: &Settings) -> Result<Config, ScanError> {
        let non_empty = |name: &str| {
            settings
                .get(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let mode = settings.get("mode").map(str::trim).unwrap_or("offline");
        let mode = if mode.eq_ignore_ascii_case("offline") {
            let dir = non_empty("export_dir").ok_or_else(|| {
                ScanError::Config(
                    "setting `export_dir` is missing or empty; set it to the directory that \
                     export-teams.ps1 wrote (teams.json, installedApps/, owners/)"
                        .into(),
                )
            })?;
            Mode::Offline { export_dir: dir }
        } else if mode.eq_ignore_ascii_case("live") {
            let credential = match settings.get("credential") {
                None => DEFAULT_CREDENTIAL.to_string(),
                Some(c) if c.trim().is_empty() => {
                    return Err(ScanError::Config(
                        "setting `credential` is empty; name a credential profile (default `graph`)"
                            .into(),
                    ))
                }
                Some(c) => c.trim().to_string(),
            };
            Mode::Live { credential }
        } else {
            return Err(ScanError::Config(format!(
                "setting `mode` must be `offline` (read saved Graph answers from `export_dir`) or \
                 `live` (call Microsoft Graph), got {mode:?}"
            )));
        };
        let flag = |name: &str| -> Result<Option<bool>, ScanError> {
            match non_empty(name) {
                None => Ok(None),
                Some(v) => parse_bool(&v).map(Some).ok_or_else(|| {
                    ScanError::Config(format!("setting `{name}` must be true or false, got {v:?}"))
                }),
            }
        };
        let connector_app_ids = settings
            .list("connector_app_ids")
            .into_iter()
            .map(|id| id.to_ascii_lowercase())
            .collect();
        let as_of_ms = match non_empty("as_of") {
            None => None,
            Some(v) => Some(plumbline_plugin_sdk::time::parse_ms(&v).ok_or_else(|| {
                ScanError::Config(format!(
                    "setting `as_of` must be a date such as 2026-11-25T09:00:00Z (when the export was taken), got {v:?}"
                ))
            })?),
        };
        Ok(Config {
            mode,
            audit_dir: non_empty("audit_dir"),
            connector_app_ids,
            match_connector_names: flag("match_connector_names")?.unwrap_or(false),
            connectors_enabled: flag("connectors_enabled")?,
            organization_config: non_empty("organization_config"),
            as_of_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ScanError> {
        Config::from_settings(&Settings::from_pairs(pairs))
    }

    fn config_error(r: Result<Config, ScanError>) -> String {
        match r {
            Err(ScanError::Config(m)) => m,
            other => panic!("expected a Config error, got {other:?}"),
        }
    }

    #[test]
    fn offline_is_the_default_and_needs_export_dir() {
        let c = cfg(&[("export_dir", "teams")]).unwrap();
        assert_eq!(c.mode, Mode::Offline { export_dir: "teams".into() });
        assert!(!c.match_connector_names);
        assert_eq!(c.connectors_enabled, None);
        assert!(config_error(cfg(&[])).contains("export_dir"));
        assert!(config_error(cfg(&[("export_dir", "  ")])).contains("export_dir"));
    }

    #[test]
    fn live_defaults_to_the_graph_profile() {
        let c = cfg(&[("mode", "live")]).unwrap();
        assert_eq!(c.mode, Mode::Live { credential: "graph".into() });
        let c = cfg(&[("mode", "LIVE"), ("credential", "g2"), ("audit_dir", "/audit")]).unwrap();
        assert_eq!(c.mode, Mode::Live { credential: "g2".into() });
        assert_eq!(c.audit_dir.as_deref(), Some("/audit"));
        assert!(config_error(cfg(&[("mode", "live"), ("credential", " ")])).contains("credential"));
        let m = config_error(cfg(&[("mode", "online")]));
        assert!(m.contains("`offline`") && m.contains("`live`") && m.contains("online"), "{m}");
    }

    #[test]
    fn lists_flags_and_dates() {
        let c = cfg(&[
            ("export_dir", "x"),
            ("connector_app_ids", "AAAA-1, bbbb-2,,"),
            ("match_connector_names", "yes"),
            ("connectors_enabled", "True"),
            ("as_of", "2026-11-25T09:00:00Z"),
        ])
        .unwrap();
        assert_eq!(c.connector_app_ids, vec!["aaaa-1", "bbbb-2"]);
        assert!(c.match_connector_names);
        assert_eq!(c.connectors_enabled, Some(true));
        assert_eq!(c.as_of_ms, Some(1_795_597_200_000));
        assert!(config_error(cfg(&[("export_dir", "x"), ("connectors_enabled", "maybe")])).contains("`connectors_enabled`"));
        assert!(config_error(cfg(&[("export_dir", "x"), ("as_of", "soon")])).contains("`as_of`"));
    }
}
