//! The collector's commands, one file per command group, and what they
//! share: where the database is.

pub mod agent;
pub mod init;
pub mod policy;
pub mod release;
pub mod report;
pub mod retention;
pub mod serve;
pub mod tenant;
pub mod tokens;
pub mod user;

use anyhow::{Context, Result};
use clap::Args;
use plumbline_collector::config::{self, ConfigFile};
use plumbline_collector::data_dir;
use plumbline_collector::store::{self, Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the database is: a flag or its variable, else the config file,
/// else the default.
#[derive(Args, Clone)]
pub struct Db {
    /// `sqlite:PATH` or `postgres://...` [default: the config file's
    /// `database`, else an SQLite file in the data dir]
    #[arg(long, env = "PLUMBLINE_COLLECTOR_DATABASE")]
    database: Option<String>,
    /// Where the default database and the self-signed certificate live
    /// [default: the config file's `data_dir`, else /var/lib/plumbline-collector
    /// as root, else the XDG data dir]
    #[arg(long, env = "PLUMBLINE_COLLECTOR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The config file: the data dir and database, alert rules and
    /// destinations, the console's address [default: /etc/plumbline-collector/collector.toml
    /// when it exists]
    #[arg(long, env = "PLUMBLINE_COLLECTOR_CONFIG")]
    config: Option<PathBuf>,
}

/// Where a command's data is, once flags, variables and the config file are
/// weighed.
pub struct Site {
    /// The config file read, if any.
    pub config: Option<(PathBuf, ConfigFile)>,
    /// The data directory.
    pub dir: PathBuf,
    url: String,
    /// What chose the database, for the message when it is not there.
    chosen_by: String,
}

impl Db {
    /// Weigh the flags, variables and config file.
    pub fn site(&self) -> Result<Site> {
        let named = self.config.clone().or_else(|| Some(PathBuf::from(config::DEFAULT_PATH)).filter(|p| p.exists()));
        let config = named.map(|path| ConfigFile::load(&path).map(|file| (path, file))).transpose()?;
        let from_file = |what: &str| config.as_ref().map(|(path, _)| format!("{what} in {}", path.display()));
        let (dir, dir_by) = match (&self.data_dir, config.as_ref().and_then(|(_, f)| f.data_dir.clone())) {
            (Some(dir), _) => (dir.clone(), "--data-dir (or PLUMBLINE_COLLECTOR_DATA_DIR)".to_string()),
            (None, Some(dir)) => (dir, from_file("data_dir").unwrap_or_default()),
            (None, None) => (data_dir::default_dir(), "the default data dir".to_string()),
        };
        let given = self.database.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let (url, chosen_by) = match (given, config.as_ref().and_then(|(_, f)| f.database.clone())) {
            (Some(url), _) => (url.to_string(), "--database (or PLUMBLINE_COLLECTOR_DATABASE)".to_string()),
            (None, Some(url)) => (url.trim().to_string(), from_file("database").unwrap_or_default()),
            (None, None) => (format!("sqlite:{}", dir.join("collector.db").display()), dir_by),
        };
        Ok(Site { config, dir, url, chosen_by })
    }

    /// Open (and migrate) a database `serve` or `init` made; never create one.
    pub async fn open(&self) -> Result<Arc<dyn Store>> {
        self.site()?.open().await
    }
}

impl Site {
    /// Open (and migrate) a database `serve` or `init` made; never create one.
    pub async fn open(&self) -> Result<Arc<dyn Store>> {
        match self.open_if_there().await? {
            Some(store) => Ok(store),
            None => anyhow::bail!(
                "there is no collector database at {} (chosen by {}): give the collector's own with --data-dir or \
                 --database, or data_dir in its config file (--config, PLUMBLINE_COLLECTOR_CONFIG or {}); to start a \
                 new collector there, run `plumbline-collector init` with the same options",
                redact(&self.url),
                self.chosen_by,
                config::DEFAULT_PATH
            ),
        }
    }

    /// [`Site::open`], or `None` when there is no collector database there.
    pub async fn open_if_there(&self) -> Result<Option<Arc<dyn Store>>> {
        match store::open_existing(&self.url).await {
            Err(StoreError::NotInitialised) => Ok(None),
            opened => opened.map(Some).with_context(|| format!("opening the database {}", redact(&self.url))),
        }
    }

    /// Open (and migrate) the database, creating it when it is not there:
    /// only `serve` and `init`.
    pub async fn create(&self) -> Result<Arc<dyn Store>> {
        store::open(&self.url).await.with_context(|| format!("opening the database {}", redact(&self.url)))
    }

    /// The config file, when one was read.
    pub fn file(&self) -> Option<(&Path, &ConfigFile)> {
        self.config.as_ref().map(|(path, file)| (path.as_path(), file))
    }

    /// The database, without its password.
    pub fn shown(&self) -> String {
        redact(&self.url)
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(super::redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(super::redact("sqlite:/x/y.db"), "sqlite:/x/y.db");
    }
}
