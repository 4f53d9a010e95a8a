//! The collector's config file (`--config FILE`, `PLUMBLINE_COLLECTOR_CONFIG`,
//! or [`DEFAULT_PATH`] when it exists): where the data is, so that no admin
//! command needs `--data-dir`, and what does not fit a command line, such as
//! the alert rules. Unknown keys are refused, with the line and column.

use crate::alerts::config::AlertsFile;
use crate::egress::TrustedProxies;
use crate::retention::RetentionConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Read when neither `--config` nor `PLUMBLINE_COLLECTOR_CONFIG` names a
/// file and this one exists: where a package puts it.
pub const DEFAULT_PATH: &str = "/etc/plumbline-collector/collector.toml";

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Where the default database and the self-signed certificate live;
    /// relative to the file's folder. `--data-dir` wins.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite:PATH` or `postgres://...`; default an SQLite file in the data
    /// dir. `--database` wins.
    #[serde(default)]
    pub database: Option<String>,
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
    /// How long envelopes and history are kept (`envelopes = "400d"`,
    /// `history = "3y"`); for ever by default.
    #[serde(default)]
    pub retention: RetentionConfig,
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
    /// Read and parse `path`; a relative `data_dir` is made relative to the
    /// file's folder, not to wherever the command happens to run.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        let mut file =
            ConfigFile::parse(&text).map_err(|message| ConfigError::Invalid { path: path.display().to_string(), message })?;
        if let Some(dir) = file.data_dir.as_mut().filter(|d| d.is_relative()) {
            *dir = path.parent().unwrap_or(Path::new(".")).join(&*dir);
        }
        Ok(file)
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
        file.retention.check()?;
        if file.database.as_deref().is_some_and(|d| d.trim().is_empty()) {
            return Err("database = \"\": leave it out for the SQLite file in the data dir, or give sqlite:PATH or postgres://...".into());
        }
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

    #[test]
    fn retention_periods_are_checked() {
        let file = ConfigFile::parse("[retention]\nenvelopes = \"400d\"\nhistory = \"3y\"\n").unwrap();
        assert!(file.retention.prunes());
        let e = ConfigFile::parse("[retention]\nenvelopes = \"13 months\"\n").unwrap_err();
        assert!(e.contains("\"13 months\"") && e.contains("\"400d\""), "{e}");
        let e = ConfigFile::parse("[retention]\nbatches = \"400d\"\n").unwrap_err();
        assert!(e.contains("unknown field") && e.contains("envelopes"), "{e}");
    }

    #[test]
    fn a_relative_data_dir_is_beside_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("collector.toml");
        std::fs::write(&path, "data_dir = \"data\"\ndatabase = \"postgres://u@db/plumbline\"\n").unwrap();
        let file = ConfigFile::load(&path).unwrap();
        assert_eq!(file.data_dir.unwrap(), dir.path().join("data"));
        assert_eq!(file.database.as_deref(), Some("postgres://u@db/plumbline"));
        std::fs::write(&path, "data_dir = \"/srv/plumbline\"\n").unwrap();
        assert_eq!(ConfigFile::load(&path).unwrap().data_dir.unwrap(), PathBuf::from("/srv/plumbline"));
        std::fs::write(&path, "database = \" \"\n").unwrap();
        assert!(ConfigFile::load(&path).unwrap_err().to_string().contains("leave it out"));
    }
}
