//! The plugin's settings.

use plumbline_plugin_sdk::settings::Settings;
use plumbline_plugin_sdk::{Permission, ScanError, SettingSpec};

/// Every setting, as `describe()` declares it.
pub fn declared() -> Vec<SettingSpec> {
    vec![
        SettingSpec::choice(
            "mode",
            &["offline", "live"],
            "offline: read Get-*Connector exports from export_dir; live: call Exchange Online",
        )
        .default("offline"),
        SettingSpec::path("export_dir", "folder of the ConvertTo-Json exports (offline mode; required there)"),
        SettingSpec::integer("recent_days", "window of the recently created or changed checks, in days")
            .default(DEFAULT_RECENT_DAYS),
        SettingSpec::text(
            "as_of",
            "judge recency as of this RFC 3339 time (when the export was taken) instead of the scan start",
        ),
        SettingSpec::text("credential", "credential profile for outlook.office365.com (live mode)")
            .default(DEFAULT_CREDENTIAL),
        SettingSpec::text(
            "tenant",
            "tenant GUID or onmicrosoft.com domain for the admin API (live mode); default the agent's tenant_id",
        ),
    ]
}

/// What live mode's app registration needs.
pub fn permissions() -> Vec<Permission> {
    vec![
        Permission::exchange("Exchange.ManageAsApp", "app-only calls to the Exchange Online admin API (live mode)")
            .via("credential"),
        Permission::exchange_role(
            "View-Only Configuration",
            "Get-*Connector and the organization and transport config, read only (live mode, or whoever exports)",
        ),
    ]
}

/// Default `recent_days`.
pub const DEFAULT_RECENT_DAYS: u64 = 30;
/// Default credential profile for live mode.
pub const DEFAULT_CREDENTIAL: &str = "exchange";

/// Where the cmdlet objects come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Export files written by `ConvertTo-Json` in a directory.
    Offline {
        /// The directory holding `Get-InboundConnector.json` and friends.
        export_dir: String,
    },
    /// Exchange Online's admin REST endpoint.
    Live {
        /// Credential profile name passed with every request.
        credential: String,
        /// Tenant id (or initial domain) for the URL and anchor mailbox.
        tenant: String,
    },
}

/// The parsed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Offline or live.
    pub mode: Mode,
    /// Window for the "recently created/changed" checks, in days.
    pub recent_days: u64,
    /// Judge recency as of this time (ms since the epoch) instead of the
    /// scan start: an offline export is a snapshot, and "created in the
    /// last 30 days" means the 30 days before it was taken.
    pub as_of_ms: Option<i64>,
}

impl Config {
    /// Read the settings; `ctx_tenant` is the scan's tenant id, the default
    /// for `tenant`.
    pub fn from_settings(settings: &Settings, ctx_tenant: &str) -> Result<Config, ScanError> {
        let recent_days = settings.u64_or("recent_days", DEFAULT_RECENT_DAYS)?;
        let mode = settings.get("mode").map(str::trim).unwrap_or("offline");
        let mode = if mode.eq_ignore_ascii_case("offline") {
            let dir = settings.require("export_dir")?.trim();
            if dir.is_empty() {
                return Err(ScanError::Config(
                    "setting `export_dir` is empty; set it to the directory holding the \
                     Get-*.json exports"
                        .into(),
                ));
            }
            Mode::Offline {
                export_dir: dir.to_string(),
            }
        } else if mode.eq_ignore_ascii_case("live") {
            let credential = settings
                .get("credential")
                .map(str::trim)
                .unwrap_or(DEFAULT_CREDENTIAL);
            if credential.is_empty() {
                return Err(ScanError::Config(
                    "setting `credential` is empty; name a credential profile (default `exchange`)"
                        .into(),
                ));
            }
            let tenant = settings
                .get("tenant")
                .map(str::trim)
                .unwrap_or(ctx_tenant.trim());
            check_tenant(tenant)?;
            Mode::Live {
                credential: credential.to_string(),
                tenant: tenant.to_string(),
            }
        } else {
            return Err(ScanError::Config(format!(
                "setting `mode` must be `offline` (read export files from `export_dir`) or \
                 `live` (call Exchange Online), got {mode:?}"
            )));
        };
        let as_of_ms = match settings.get("as_of").map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(plumbline_plugin_sdk::time::parse_ms(v).ok_or_else(|| {
                ScanError::Config(format!(
                    "setting `as_of` must be a date such as 2026-11-25T09:00:00Z (when the export was taken), got {v:?}"
                ))
            })?),
        };
        Ok(Config { mode, recent_days, as_of_ms })
    }
}

/// A tenant id or domain goes into a URL path and a header: only letters,
/// digits, dots and dashes.
fn check_tenant(tenant: &str) -> Result<(), ScanError> {
    if tenant.is_empty() {
        return Err(ScanError::Config(
            "no tenant id for live mode: set `tenant` (a tenant GUID or its onmicrosoft.com domain)"
                .into(),
        ));
    }
    if !tenant
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(ScanError::Config(format!(
            "tenant {tenant:?} is not a tenant GUID or domain name (only letters, digits, `.` and `-`)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ScanError> {
        Config::from_settings(&Settings::from_pairs(pairs), "tenant-guid")
    }

    fn config_error(r: Result<Config, ScanError>) -> String {
        match r {
            Err(ScanError::Config(m)) => m,
            other => panic!("expected Config error, got {other:?}"),
        }
    }

    #[test]
    fn offline_is_the_default_and_needs_export_dir() {
        let c = cfg(&[("export_dir", "/exports")]).unwrap();
        assert_eq!(
            c.mode,
            Mode::Offline {
                export_dir: "/exports".into()
            }
        );
        assert_eq!(c.recent_days, 30);
        assert_eq!(c.as_of_ms, None);
        assert!(config_error(cfg(&[])).contains("export_dir"));
        assert!(config_error(cfg(&[("export_dir", " ")])).contains("export_dir"));
    }

    #[test]
    fn live_defaults_credential_and_tenant() {
        let c = cfg(&[("mode", "live"), ("recent_days", "7")]).unwrap();
        assert_eq!(
            c.mode,
            Mode::Live {
                credential: "exchange".into(),
                tenant: "tenant-guid".into()
            }
        );
        assert_eq!(c.recent_days, 7);
        let c = cfg(&[
            ("mode", "LIVE"),
            ("credential", "c2"),
            ("tenant", "contoso.onmicrosoft.com"),
        ])
        .unwrap();
        assert_eq!(
            c.mode,
            Mode::Live {
                credential: "c2".into(),
                tenant: "contoso.onmicrosoft.com".into()
            }
        );
        assert!(config_error(cfg(&[("mode", "live"), ("tenant", "a/b")])).contains("tenant"));
    }

    #[test]
    fn bad_mode_names_the_allowed_values() {
        let m = config_error(cfg(&[("mode", "online")]));
        assert!(
            m.contains("`offline`") && m.contains("`live`") && m.contains("online"),
            "{m}"
        );
        assert!(
            config_error(cfg(&[("export_dir", "/x"), ("recent_days", "soon")]))
                .contains("recent_days")
        );
    }

    #[test]
    fn as_of_dates_offline_exports() {
        let c = cfg(&[("export_dir", "/x"), ("as_of", "2026-11-25T09:00:00Z")]).unwrap();
        assert_eq!(c.as_of_ms, Some(1_795_597_200_000));
        let e = config_error(cfg(&[("export_dir", "/x"), ("as_of", "last tuesday")]));
        assert!(e.contains("`as_of`"), "{e}");
    }
}
