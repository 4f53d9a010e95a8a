//! The plugin's settings.
//!
//! | setting | default | meaning |
//! | --- | --- | --- |
//! | `mode` | `offline` | `offline` (read saved answers from `export_dir`) or `live` |
//! | `export_dir` | (offline: required) | folder laid out as [`crate::offline`] describes |
//! | `flow_credential` | `flow` | credential profile for `api.flow.microsoft.com` (scope `https://service.flow.microsoft.com/.default`) |
//! | `bap_credential` | `bap` | credential profile for `api.bap.microsoft.com` (scope `https://api.bap.microsoft.com/.default`) |
//! | `graph_credential` | `graph` | credential profile for `graph.microsoft.com` (scope `https://graph.microsoft.com/.default`, app permission User.Read.All or Directory.Read.All); empty turns owner status lookups off |
//! | `environments` | all | comma-separated environment names (`Default-{tenant}`, GUIDs) to scan |
//! | `max_flows` | [`DEFAULT_MAX_FLOWS`] | flows examined per scan, all environments together |
//!
//! A credential profile carries one token scope, and the BAP and Flow APIs
//! are separate resources, so each has its own profile by default. Point
//! `bap_credential` and `flow_credential` at the same profile only if that
//! profile's token is accepted by both hosts.

use crate::fields::is_safe_name;
use plumbline_plugin_sdk::settings::Settings;
use plumbline_plugin_sdk::{Permission, ScanError, SettingSpec};

/// Every setting, as `describe()` declares it.
pub fn declared() -> Vec<SettingSpec> {
    vec![
        SettingSpec::choice(
            "mode",
            &["offline", "live"],
            "offline: read saved answers from export_dir; live: call the Power Platform, Power Automate and Graph APIs",
        )
        .default("offline"),
        SettingSpec::path("export_dir", "folder laid out as demo/flows describes (offline mode; required there)"),
        SettingSpec::text("flow_credential", "credential profile for api.flow.microsoft.com (live mode)")
            .default(DEFAULT_FLOW_CREDENTIAL),
        SettingSpec::text("bap_credential", "credential profile for api.bap.microsoft.com (live mode)")
            .default(DEFAULT_BAP_CREDENTIAL),
        SettingSpec::text(
            "graph_credential",
            "credential profile for graph.microsoft.com; empty turns owner status lookups off",
        )
        .default(DEFAULT_GRAPH_CREDENTIAL),
        SettingSpec::list("environments", "environment names to scan (Default-<tenant>, GUIDs); empty: all"),
        SettingSpec::integer("max_flows", "flows examined per scan, all environments together")
            .default(DEFAULT_MAX_FLOWS),
    ]
}

/// What live mode's app registrations need.
pub fn permissions() -> Vec<Permission> {
    vec![
        Permission::power_platform(
            "Power Platform management application",
            "the admin flow APIs app-only: New-PowerAppManagementApp registers the app (live mode)",
        )
        .via("flow_credential"),
        Permission::power_platform("Power Platform management application", "the admin environments API (live mode)")
            .via("bap_credential"),
        Permission::graph(
            "User.Read.All",
            "whether each flow owner's account is enabled, disabled or deleted (live mode; or Directory.Read.All)",
        )
        .via("graph_credential"),
    ]
}

/// Default credential profile for the Flow admin API.
pub const DEFAULT_FLOW_CREDENTIAL: &str = "flow";
/// Default credential profile for the Power Platform (BAP) admin API.
pub const DEFAULT_BAP_CREDENTIAL: &str = "bap";
/// Default credential profile for Microsoft Graph.
pub const DEFAULT_GRAPH_CREDENTIAL: &str = "graph";

/// Flows examined per scan unless `max_flows` says otherwise. Live mode makes
/// one permissions request per flow, sent in lists the host runs
/// concurrently (16 at a time per plugin, 8 per host): at the real
/// service's ~100-200 ms per request, 20,000 flows take a few minutes.
pub const DEFAULT_MAX_FLOWS: usize = 20_000;
/// The most `max_flows` may be set to: the host accepts at most 100,000
/// register entries and findings from one plugin.
pub const MAX_FLOWS_CEILING: usize = 100_000;

/// Where the answers come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Saved answers in a folder.
    Offline {
        /// The folder.
        export_dir: String,
    },
    /// The Power Platform, Power Automate and Graph APIs.
    Live {
        /// Profile for `api.flow.microsoft.com`.
        flow_credential: String,
        /// Profile for `api.bap.microsoft.com`.
        bap_credential: String,
        /// Profile for `graph.microsoft.com`; `None`: owner status is not looked up.
        graph_credential: Option<String>,
    },
}

/// The parsed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Offline or live.
    pub mode: Mode,
    /// Only these environments (by name); empty: all.
    pub environments: Vec<String>,
    /// Flows examined per scan.
    pub max_flows: usize,
}

impl Config {
    /// Read the settings.
    pub fn from_settings(settings: &Settings) -> Result<Config, ScanError> {
        let mode = settings.get("mode").map(str::trim).unwrap_or("offline");
        let mode = if mode.eq_ignore_ascii_case("offline") {
            let dir = settings.require("export_dir")?.trim();
            if dir.is_empty() {
                return Err(ScanError::Config(
                    "setting `export_dir` is empty; set it to the folder holding environments.json \
                     and one folder per environment"
                        .into(),
                ));
            }
            Mode::Offline {
                export_dir: dir.to_string(),
            }
        } else if mode.eq_ignore_ascii_case("live") {
            let profile = |name: &str, default: &str| -> Result<String, ScanError> {
                let v = settings.get(name).map(str::trim).unwrap_or(default);
                if v.is_empty() {
                    return Err(ScanError::Config(format!(
                        "setting `{name}` is empty; name a credential profile (default `{default}`)"
                    )));
                }
                Ok(v.to_string())
            };
            let graph = settings
                .get("graph_credential")
                .map(str::trim)
                .unwrap_or(DEFAULT_GRAPH_CREDENTIAL);
            Mode::Live {
                flow_credential: profile("flow_credential", DEFAULT_FLOW_CREDENTIAL)?,
                bap_credential: profile("bap_credential", DEFAULT_BAP_CREDENTIAL)?,
                graph_credential: (!graph.is_empty()).then(|| graph.to_string()),
            }
        } else {
            return Err(ScanError::Config(format!(
                "setting `mode` must be `offline` (read saved answers from `export_dir`) or `live` \
                 (call the Power Platform, Power Automate and Graph APIs), got {mode:?}"
            )));
        };
        let environments = settings.list("environments");
        if let Some(bad) = environments.iter().find(|e| !is_safe_name(e)) {
            return Err(ScanError::Config(format!(
                "setting `environments`: {bad:?} is not an environment name (such as \
                 Default-<tenant id> or a GUID)"
            )));
        }
        let max_flows = settings.u64_or("max_flows", DEFAULT_MAX_FLOWS as u64)?;
        if max_flows == 0 || max_flows > MAX_FLOWS_CEILING as u64 {
            return Err(ScanError::Config(format!(
                "setting `max_flows` must be between 1 and {MAX_FLOWS_CEILING}, got {max_flows}"
            )));
        }
        Ok(Config {
            mode,
            environments,
            max_flows: max_flows as usize,
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
        let c = cfg(&[("export_dir", "/exports/flows")]).unwrap();
        assert_eq!(c.mode, Mode::Offline { export_dir: "/exports/flows".into() });
        assert_eq!(c.max_flows, DEFAULT_MAX_FLOWS);
        assert!(c.environments.is_empty());
        assert!(config_error(cfg(&[])).contains("export_dir"));
        assert!(config_error(cfg(&[("export_dir", "  ")])).contains("export_dir"));
    }

    #[test]
    fn live_defaults_three_profiles() {
        let c = cfg(&[("mode", "live")]).unwrap();
        assert_eq!(
            c.mode,
            Mode::Live {
                flow_credential: "flow".into(),
                bap_credential: "bap".into(),
                graph_credential: Some("graph".into()),
            }
        );
        let c = cfg(&[("mode", "LIVE"), ("bap_credential", "pp"), ("graph_credential", "")]).unwrap();
        assert_eq!(
            c.mode,
            Mode::Live {
                flow_credential: "flow".into(),
                bap_credential: "pp".into(),
                graph_credential: None,
            }
        );
        assert!(config_error(cfg(&[("mode", "live"), ("flow_credential", " ")])).contains("flow_credential"));
    }

    #[test]
    fn environments_and_max_flows() {
        let c = cfg(&[("export_dir", "x"), ("environments", "Default-t, 1f2e3d4c-0000-4000-8000-000000000001"), ("max_flows", "500")]).unwrap();
        assert_eq!(c.environments, vec!["Default-t", "1f2e3d4c-0000-4000-8000-000000000001"]);
        assert_eq!(c.max_flows, 500);
        assert!(config_error(cfg(&[("export_dir", "x"), ("environments", "a/b")])).contains("environments"));
        assert!(config_error(cfg(&[("export_dir", "x"), ("max_flows", "0")])).contains("max_flows"));
        assert!(config_error(cfg(&[("export_dir", "x"), ("max_flows", "1000000")])).contains("max_flows"));
        assert!(config_error(cfg(&[("export_dir", "x"), ("max_flows", "lots")])).contains("max_flows"));
    }

    #[test]
    fn bad_mode_names_the_choices() {
        let m = config_error(cfg(&[("mode", "online")]));
        assert!(m.contains("`offline`") && m.contains("`live`") && m.contains("online"), "{m}");
    }
}
