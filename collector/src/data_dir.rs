//! Where the collector keeps its files when nothing else is configured:
//! `/var/lib/plumbline-collector` as root, else the XDG data dir.

use std::path::PathBuf;

/// The default data directory.
pub fn default_dir() -> PathBuf {
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/plumbline-collector");
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("plumbline-collector")
}

/// The default database: an SQLite file in [`default_dir`].
pub fn default_database() -> String {
    format!("sqlite:{}", default_dir().join("collector.db").display())
}
