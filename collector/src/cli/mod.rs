//! The collector's commands, one file per command group, and what they
//! share: where the database is.

pub mod agent;
pub mod report;
pub mod serve;
pub mod tenant;
pub mod tokens;
pub mod user;

use anyhow::{Context, Result};
use clap::Args;
use plumbline_collector::data_dir;
use plumbline_collector::store::{self, Store};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the database is.
#[derive(Args, Clone)]
pub struct Db {
    /// `sqlite:PATH` or `postgres://...` [default: an SQLite file in the data dir]
    #[arg(long, env = "PLUMBLINE_COLLECTOR_DATABASE")]
    database: Option<String>,
    /// Where the default database and the self-signed certificate live
    /// [default: /var/lib/plumbline-collector as root, else the XDG data dir]
    #[arg(long, env = "PLUMBLINE_COLLECTOR_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

impl Db {
    /// The data directory.
    pub fn dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(data_dir::default_dir)
    }

    /// Open (and migrate) the store.
    pub async fn open(&self) -> Result<Arc<dyn Store>> {
        let url = match &self.database {
            Some(url) if !url.trim().is_empty() => url.trim().to_string(),
            _ => format!("sqlite:{}", self.dir().join("collector.db").display()),
        };
        store::open(&url).await.with_context(|| format!("opening the database {}", redact(&url)))
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
