//! The agent's configuration file (TOML).
//!
//! Every field is documented here because these comments are the user
//! documentation: `config/plumbline.sample.toml` repeats them and is tested to
//! parse. Unknown fields are an error, so a typo never silently drops a grant.

mod delivery;
mod grants;
mod overrides;
mod paths;
mod plugin_files;
mod schedule;
mod trust;
mod update;

pub use delivery::{parse_collector_url, DeliveryConfig, DeliverySettings, RetryPolicy};
pub use overrides::{LocalOverrides, PLUGIN_FIELDS};
pub use grants::{resolved_address_usable, FileGrant, GrantError, HostPattern, HttpTarget, TcpGrant, TcpHost};
pub use paths::{default_paths, lexical_normalize, DefaultPaths};
pub use plugin_files::{closest, MissingPlugin};
pub use schedule::{format_duration, parse_duration, Schedule, ScheduleConfig};
pub use trust::PluginTrustConfig;
pub use update::{UpdateConfig, UpdateSettings};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config file {path} is invalid: {message}")]
    Parse {
        /// The config file.
        path: PathBuf,
        /// What the parser said, with line and column.
        message: String,
    },
    /// A value parsed but makes no sense.
    #[error("config file {path}: {message}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// The whole agent configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Microsoft Entra tenant id (GUID) of the client this agent reports for.
    pub tenant_id: String,
    /// The MSP's name for this client site, e.g. `northwind-hq`.
    pub site_id: String,
    /// Directory holding plugin components (`NAME.wasm`). Relative paths are
    /// relative to this file. Default: the platform's plugin directory.
    #[serde(default)]
    pub plugin_dir: Option<PathBuf>,
    /// Directory for compiled plugins (a cache; safe to delete). Default: the
    /// platform's cache directory.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Per-plugin grants and settings, keyed by plugin name. Only plugins
    /// listed here run.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginConfig>,
    /// OAuth2 client-credential profiles, keyed by profile name. Plugins
    /// name a profile; they never see its secret or token.
    #[serde(default)]
    pub credentials: BTreeMap<String, CredentialConfig>,
    /// Endpoint overrides: a host name a plugin asks for, mapped to a base
    /// URL the agent really connects to (tests, proxies, sovereign clouds).
    /// The grant check always uses the host the plugin asked for.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// Where `plumbline run` sends its signed batches, and how they wait in
    /// the spool until the collector has them.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// When `plumbline service run` scans: `every` (a step of the UTC
    /// clock) and `jitter` (a random delay spreading a fleet's scans).
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// Whose plugins run: `publishers`, the keys whose signatures are
    /// trusted. An unsigned plugin, or one signed by another key, runs only
    /// when its section sets `allow_unsigned = true`.
    #[serde(default)]
    pub plugin_trust: PluginTrustConfig,
    /// What of this file wins over the policy from the collector:
    /// `"schedule"`, `"plugins.NAME"` (the whole section, or its absence)
    /// or `"plugins.NAME.FIELD"` (`enabled`, `timeout_secs`, `grants`,
    /// `settings`, `allow_unsigned`). Everything else the policy sets wins.
    #[serde(default)]
    pub local_override: Vec<String>,
    /// Self-update from the collector: `release_keys`, the MSP's release
    /// keys whose signed releases the agent installs; `channel`,
    /// `check_every`, `enabled`.
    #[serde(default)]
    pub update: UpdateConfig,
}

/// One plugin's grants and settings.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Set to false to keep the section but skip the plugin.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Component file; default `PLUGIN_DIR/NAME.wasm`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The component's sha256 (as `plumbline plugins inspect` shows it): any
    /// other file is refused, signed or not.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Run this plugin without a signature by a trusted publisher (your
    /// own builds, old unsigned ones). A signature that does not verify is
    /// refused all the same.
    #[serde(default)]
    pub allow_unsigned: bool,
    /// Wall-clock limit for one scan, in seconds; default 600.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// What the operator allows. A plugin gets what it asks for AND what is
    /// granted here, nothing more.
    #[serde(default)]
    pub grants: GrantsConfig,
    /// Settings handed to the plugin as name/value strings.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
}

fn yes() -> bool {
    true
}

/// The operator's grants to one plugin, as written in the config.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GrantsConfig {
    /// HTTPS hosts: `graph.microsoft.com`, `*.webhook.office.com`, on port
    /// 443 unless a port is named (`fixture.local:8443`). `*` is refused.
    #[serde(default)]
    pub http: Vec<String>,
    /// TCP targets: `HOST:PORTS`, where HOST is a name, an IP or a CIDR and
    /// PORTS a comma list, e.g. `10.0.0.0/24:25,587,465` or `relay.local:25`.
    /// Only a name grant lets a plugin's host name be resolved; a CIDR grant
    /// covers addresses the plugin gives as IP literals.
    #[serde(default)]
    pub tcp: Vec<String>,
    /// Directories the plugin may read (read-only, recursively).
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// Credential profiles the plugin may name in its requests.
    #[serde(default)]
    pub credentials: Vec<String>,
}

/// An OAuth2 client-credentials profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    /// Token authority; default `https://login.microsoftonline.com`.
    #[serde(default = "default_authority")]
    pub authority: String,
    /// Tenant to ask for a token; default the agent's `tenant_id`.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Application (client) id of the app registration.
    pub client_id: String,
    /// Scope to request, e.g. `https://outlook.office365.com/.default`.
    pub scope: String,
    /// Hosts this token may be sent to. A token is attached only when the
    /// request's host (as the plugin asked for it) is in this list. `*` and
    /// entries that are not host names are config errors.
    pub audience: Vec<String>,
    /// Name of an environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// A file holding the client secret (readable only by the agent).
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Certificate credential: PEM certificate registered on the app.
    #[serde(default)]
    pub certificate_file: Option<PathBuf>,
    /// Certificate credential: its PKCS#8 PEM private key.
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
}

fn default_authority() -> String {
    "https://login.microsoftonline.com".to_string()
}

/// A configuration with paths resolved and grants parsed: what the agent
/// actually runs with.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The raw configuration, with relative paths made absolute.
    pub config: Config,
    /// The file it came from.
    pub source: PathBuf,
    /// Where plugins are loaded from.
    pub plugin_dir: PathBuf,
    /// Where compiled plugins are cached.
    pub cache_dir: PathBuf,
    /// The config file's directory: relative paths plugins pass to the
    /// file capability are taken from here.
    pub base_dir: PathBuf,
    /// Parsed grants per plugin name.
    pub grants: BTreeMap<String, Grants>,
    /// `[delivery]` with defaults applied and paths resolved.
    pub delivery: DeliverySettings,
    /// `[schedule]` with defaults applied.
    pub schedule: Schedule,
    /// `[plugin_trust] publishers`, parsed.
    pub publishers: Vec<crate::runtime::trust::PublisherKey>,
    /// `local_override`, parsed.
    pub overrides: LocalOverrides,
    /// `[update]` with defaults applied.
    pub update: UpdateSettings,
}

/// Typed grants for one plugin.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// HTTPS hosts and ports.
    pub http: Vec<HttpTarget>,
    /// TCP targets.
    pub tcp: Vec<TcpGrant>,
    /// Readable directories.
    pub files: Vec<FileGrant>,
    /// Credential profiles.
    pub credentials: Vec<String>,
}

impl Config {
    /// Parse TOML text; `path` is used in messages and to resolve relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Resolved, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        config.resolve(path)
    }

    /// Read and parse a config file.
    pub fn load(path: &Path) -> Result<Resolved, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Check and resolve this configuration as if read from `path` (also a
    /// local config with the policy merged in, see [`crate::policy`]).
    pub fn resolve(mut self, path: &Path) -> Result<Resolved, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if self.tenant_id.trim().is_empty() || self.site_id.trim().is_empty() {
            return Err(invalid("`tenant_id` and `site_id` must not be empty".into()));
        }
        // The collector keeps an Entra tenant id in lower case; the Entra
        // admin center shows it either way.
        self.tenant_id = plumbline_protocol::tenant::normalise(&self.tenant_id);
        // Absolute first: every relative path in the file means "beside
        // this file", whatever the working directory (an RMM's is anything).
        let absolute = std::path::absolute(path).map_err(|e| {
            invalid(format!("cannot make the config path absolute ({e}); give --config as an absolute path"))
        })?;
        let base = paths::lexical_normalize(absolute.parent().unwrap_or(Path::new("/")));
        let defaults = default_paths();
        let plugin_dir = paths::resolve(&base, self.plugin_dir.as_deref(), &defaults.plugins);
        let cache_dir = paths::resolve(&base, self.cache_dir.as_deref(), &defaults.cache);

        for (host, target) in &self.endpoints {
            let url = url::Url::parse(target).map_err(|e| {
                invalid(format!(
                    "endpoint override for `{host}` is not a URL ({e}); write it like \"http://127.0.0.1:8080\""
                ))
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(invalid(format!(
                    "endpoint override for `{host}` must be an http:// or https:// URL with a host, got {target:?}"
                )));
            }
            // Bearer tokens and client secrets travel through overrides; in
            // the clear only as far as this machine.
            if url.scheme() == "http" && !is_loopback_host(&url) {
                return Err(invalid(format!(
                    "endpoint override for `{host}` is http:// to {}, which would send tokens in the clear; use https://, or http:// only to 127.0.0.1, ::1 or localhost",
                    url.host_str().unwrap_or_default()
                )));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(invalid(format!(
                    "endpoint override for `{host}` carries a user name or password; remove it (credentials belong in [credentials])"
                )));
            }
        }
        let delivery = self.delivery.resolve(&base).map_err(invalid)?;
        let schedule = self.schedule.resolve().map_err(invalid)?;
        let publishers = self.plugin_trust.keys().map_err(invalid)?;
        let overrides = LocalOverrides::parse(&self.local_override).map_err(invalid)?;
        let update = self.update.resolve().map_err(invalid)?;
        for (name, cred) in &self.credentials {
            cred.validate().map_err(|m| invalid(format!("credential profile `{name}`: {m}")))?;
        }

        let mut grants = BTreeMap::new();
        for (name, plugin) in self.plugins.iter_mut() {
            if let Some(p) = &plugin.path {
                plugin.path = Some(paths::resolve(&base, Some(p), p));
            }
            if let Some(pin) = &plugin.sha256 {
                plugin.sha256 = Some(trust::pin(name, pin).map_err(invalid)?);
            }
            let max = crate::runtime::limits::MAX_SCAN_TIMEOUT.as_secs();
            if plugin.timeout_secs.is_some_and(|t| t == 0 || t > max) {
                return Err(invalid(format!(
                    "plugins.{name}.timeout_secs must be between 1 and {max} (a day); the default is {}",
                    crate::runtime::limits::DEFAULT_SCAN_TIMEOUT.as_secs()
                )));
            }
            let g = &plugin.grants;
            let mut typed = Grants::default();
            for h in &g.http {
                typed.http.push(
                    HttpTarget::parse_grant(h)
                        .map_err(|e| invalid(format!("plugins.{name}.grants.http: {e}")))?,
                );
            }
            for t in &g.tcp {
                typed.tcp.push(
                    TcpGrant::parse(t).map_err(|e| invalid(format!("plugins.{name}.grants.tcp: {e}")))?,
                );
            }
            for f in &g.files {
                typed.files.push(FileGrant::new(&paths::resolve(&base, Some(f), f)));
            }
            for c in &g.credentials {
                if !self.credentials.contains_key(c) {
                    return Err(invalid(format!(
                        "plugins.{name}.grants.credentials names profile `{c}`, but there is no [credentials.{c}] section"
                    )));
                }
                typed.credentials.push(c.clone());
            }
            grants.insert(name.clone(), typed);
        }
        Ok(Resolved {
            config: self,
            source: path.to_path_buf(),
            plugin_dir,
            cache_dir,
            base_dir: base,
            grants,
            delivery,
            schedule,
            publishers,
            overrides,
            update,
        })
    }
}

impl CredentialConfig {
    fn validate(&self) -> Result<(), String> {
        let secret = self.client_secret_env.is_some() || self.client_secret_file.is_some();
        let cert = self.certificate_file.is_some() || self.private_key_file.is_some();
        match (secret, cert) {
            (true, true) => Err("give either a client secret or a certificate, not both".into()),
            (false, false) => Err(
                "no credential: set `client_secret_env`, `client_secret_file`, or `certificate_file` with `private_key_file`"
                    .into(),
            ),
            (false, true) if self.certificate_file.is_none() || self.private_key_file.is_none() => {
                Err("a certificate credential needs both `certificate_file` and `private_key_file`".into())
            }
            _ if self.audience.is_empty() => Err(
                "`audience` is empty, so the token could never be used; list the hosts it is for, e.g. [\"outlook.office365.com\"]"
                    .into(),
            ),
            _ => {
                for a in &self.audience {
                    HostPattern::parse_grant(a).map_err(|e| format!("audience: {e}"))?;
                }
                Ok(())
            }
        }
    }
}

impl Resolved {
    /// Settings for `plugin` as name/value strings (TOML strings as they
    /// are; numbers, booleans and arrays in their TOML form, arrays joined
    /// with commas).
    pub fn settings(&self, plugin: &str) -> Vec<(String, String)> {
        let Some(p) = self.config.plugins.get(plugin) else { return Vec::new() };
        p.settings
            .iter()
            .map(|(k, v)| (k.clone(), setting_text(v)))
            .collect()
    }

    /// The component file for `plugin`.
    pub fn plugin_path(&self, plugin: &str) -> PathBuf {
        self.config
            .plugins
            .get(plugin)
            .and_then(|p| p.path.clone())
            .unwrap_or_else(|| self.plugin_dir.join(format!("{plugin}.wasm")))
    }
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn setting_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => items.iter().map(setting_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;

/// Accept `\` and `/` alike in a path string (for plugin-supplied paths).
pub fn paths_normalize(p: &str) -> PathBuf {
    paths::normalize_separators(Path::new(p))
}

