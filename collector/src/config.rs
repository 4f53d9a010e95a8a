//! The collector's config file (`serve --config FILE`, or
//! `PLUMBLINE_COLLECTOR_CONFIG`): what does not fit a command line, such as
//! the alert rules. Unknown keys are refused, with the line and column.

use crate::alerts::config::AlertsFile;
use crate::egress::TrustedProxies;
use serde::Deserialize;
use std::path::Path;

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The console's public address, for links in alerts
    /// (`https://plumbline.msp.example`).
    #[serde(default)]
    pub console_url: Option<String>,
    /// Alert destinations and rules.
    #[serde(default)]
    pub alerts: AlertsFile,
    /// Proxies in front of the collector (`["10.0.0.5", "10.1.0.0/16"]`)
    /// whose `X-Forwarded-For` names the agent's address; from any other
    /// peer the header is ignored. See [`crate::egress`].
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// Why the file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not what it should be.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with the line and column.
        message: String,
    },
}

impl ConfigFile {
    /// Read and parse `path`.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        ConfigFile::parse(&text).map_err(|message| ConfigError::Invalid { path: path.display().to_string(), message })
    }

    /// Parse config text.
    pub fn parse(text: &str) -> Result<ConfigFile, String> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(url) = &file.console_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!("console_url {url:?}: give the console's address, e.g. \"https://plumbline.msp.example\""));
            }
        }
        file.proxies()?;
        Ok(file)
    }

    /// The `trusted_proxies`, parsed.
    pub fn proxies(&self) -> Result<TrustedProxies, String> {
        TrustedProxies::parse(&self.trusted_proxies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_checked() {
        let file = ConfigFile::parse("trusted_proxies = [\"10.0.0.5\", \"fd00::/64\"]").unwrap();
        assert_eq!(file.trusted_proxies.len(), 2);
        assert!(file.proxies().is_ok());
        let e = ConfigFile::parse("trusted_proxies = [\"10.0.0.5\", \"proxy.internal\"]").unwrap_err();
        assert!(e.contains("proxy.internal") && e.contains("10.1.0.0/16"), "{e}");
        let e = ConfigFile::parse("trusted_proxy = [\"10.0.0.5\"]").unwrap_err();
        assert!(e.contains("unknown field") && e.contains("trusted_proxies"), "{e}");
        assert!(ConfigFile::parse("").unwrap().proxies().unwrap() == TrustedProxies::default());
    }
}
