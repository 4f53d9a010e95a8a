//! What a policy may say, and how it meets the local config: the
//! `[schedule]` and `[plugins.NAME]` sections of the agent's own config
//! file, with each plugin named by the sha256 of its component and nothing
//! that widens trust (`path`, `allow_unsigned`) or reaches outside the
//! plugins (delivery, credentials, endpoints stay local). What
//! `local_override` names keeps its local value.

use crate::config::{Config, GrantsConfig, PluginConfig, ScheduleConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A policy's content, as the collector wrote it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyContent {
    /// Replaces the local `[schedule]`.
    #[serde(default)]
    pub schedule: Option<ScheduleConfig>,
    /// Replace the local sections of the same names, or add to them.
    #[serde(default)]
    pub plugins: BTreeMap<String, PolicyPlugin>,
}

/// One plugin as a policy names it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyPlugin {
    /// As in the local config.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The component's sha256: what is fetched, checked and run.
    pub sha256: String,
    /// As in the local config.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// As in the local config: checked by the same rules.
    #[serde(default)]
    pub grants: GrantsConfig,
    /// As in the local config: checked against what the plugin declares.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
}

fn yes() -> bool {
    true
}

impl PolicyContent {
    /// Parse the signed content.
    pub fn parse(text: &str) -> Result<PolicyContent, String> {
        let content: PolicyContent = toml::from_str(text).map_err(|e| {
            let e = e.to_string();
            if e.contains("unknown field") && !e.contains("plugins.") {
                format!("{e}; a policy holds only [schedule] and [plugins.NAME] sections (fix it on the collector)")
            } else {
                format!("{e} (fix it on the collector)")
            }
        })?;
        for (name, p) in &content.plugins {
            let sha = p.sha256.trim();
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("[plugins.{name}] sha256 {:?} is not a sha256 (fix it on the collector)", p.sha256));
            }
        }
        Ok(content)
    }

    /// The plugins to fetch: section name and lowercase sha256, for those
    /// whose component the local config does not keep for itself.
    pub fn wanted(&self, overrides: &crate::config::LocalOverrides) -> Vec<(String, String)> {
        self.plugins
            .iter()
            .filter(|(name, _)| !overrides.plugin(name))
            .map(|(name, p)| (name.clone(), p.sha256.trim().to_ascii_lowercase()))
            .collect()
    }

    /// `local` with this policy merged in; `component` says where each
    /// fetched plugin's file is.
    pub fn merge(&self, local: &Config, overrides: &crate::config::LocalOverrides, component: &dyn Fn(&str) -> PathBuf) -> Config {
        let mut merged = local.clone();
        if let Some(schedule) = &self.schedule {
            if !overrides.schedule() {
                merged.schedule = schedule.clone();
            }
        }
        for (name, p) in &self.plugins {
            if overrides.plugin(name) {
                continue;
            }
            let sha = p.sha256.trim().to_ascii_lowercase();
            let mine = local.plugins.get(name).cloned().unwrap_or_default();
            let keep = |field: &str| overrides.plugin_field(name, field);
            let section = PluginConfig {
                enabled: if keep("enabled") { mine.enabled } else { p.enabled },
                path: Some(component(&sha)),
                sha256: Some(sha),
                allow_unsigned: keep("allow_unsigned") && mine.allow_unsigned,
                timeout_secs: if keep("timeout_secs") { mine.timeout_secs } else { p.timeout_secs },
                grants: if keep("grants") { mine.grants } else { p.grants.clone() },
                settings: if keep("settings") { mine.settings } else { p.settings.clone() },
            };
            merged.plugins.insert(name.clone(), section);
        }
        merged
    }
}

/// Where a fetched component is kept: `DIR/SHA256.wasm`.
pub fn component_path(dir: &Path, sha256: &str) -> PathBuf {
    dir.join(format!("{sha256}.wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LocalOverrides;

    const SHA: &str = "abababababababababababababababababababababababababababababababab";

    fn local(text: &str) -> Config {
        toml::from_str(&format!("tenant_id = 't'\nsite_id = 's'\n{text}")).unwrap()
    }

    #[test]
    fn the_policy_wins_except_where_the_local_config_overrides() {
        let policy = PolicyContent::parse(&format!(
            "[schedule]\nevery = \"1h\"\n[plugins.relay]\nsha256 = \"{SHA}\"\ngrants = {{ tcp = [\"10.0.0.0/24:25\"] }}\n\
             settings = {{ mode = \"live\" }}\n"
        ))
        .unwrap();
        let mine = local("local_override = ['schedule', 'plugins.relay.grants']\n[schedule]\nevery = '6h'\n[plugins.relay]\ngrants = { tcp = ['relay.local:25'] }\n");
        let overrides = LocalOverrides::parse(&mine.local_override).unwrap();
        let merged = policy.merge(&mine, &overrides, &|sha| component_path(Path::new("/cache"), sha));
        assert_eq!(merged.schedule.every.as_ref().and_then(|v| v.as_str()), Some("6h"), "the local schedule wins");
        let relay = &merged.plugins["relay"];
        assert_eq!(relay.grants.tcp, ["relay.local:25"], "the local grants win");
        assert_eq!(relay.settings["mode"].as_str(), Some("live"), "the policy's settings");
        assert_eq!(relay.sha256.as_deref(), Some(SHA));
        assert_eq!(relay.path.as_deref(), Some(Path::new(&format!("/cache/{SHA}.wasm"))));
        assert!(!relay.allow_unsigned, "a policy plugin needs a trusted signature");
    }

    #[test]
    fn a_policy_cannot_reach_past_the_plugins() {
        let e = PolicyContent::parse("[delivery]\ncollector_url = 'https://evil.example'\n").unwrap_err();
        assert!(e.contains("only [schedule] and [plugins.NAME]"), "{e}");
        let e = PolicyContent::parse(&format!("[plugins.x]\nsha256 = '{SHA}'\nallow_unsigned = true\n")).unwrap_err();
        assert!(e.contains("allow_unsigned"), "{e}");
        let e = PolicyContent::parse(&format!("[plugins.x]\nsha256 = '{SHA}'\npath = '/tmp/x.wasm'\n")).unwrap_err();
        assert!(e.contains("path"), "{e}");
        let e = PolicyContent::parse("[plugins.x]\nsha256 = 'nope'\n").unwrap_err();
        assert!(e.contains("not a sha256"), "{e}");
    }
}
