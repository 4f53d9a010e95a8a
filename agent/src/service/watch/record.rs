//! What the service watches, on disk for `plumbline status`:
//! `SPOOL_DIR/watching.json`, written by the long-lived service whenever
//! its watches change, and removed when it stops.

use crate::platform::private::{self, Access};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name in the spool directory.
pub const WATCH_FILE: &str = "watching.json";

/// The service's watches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchRecord {
    /// Folders watched for a plugin.
    pub watched: Vec<WatchedFolder>,
    /// Folders rescanned on the schedule only, and why.
    pub schedule_only: Vec<ScheduleOnly>,
    /// Declared folders outside the plugin's grants, never watched.
    pub refused: Vec<RefusedFolder>,
    /// Directories watched for the config, the policy and the plugin files.
    pub control: Vec<String>,
}

/// A folder watched for a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedFolder {
    /// The plugin's config section.
    pub plugin: String,
    /// The folder.
    pub path: String,
    /// The watches it takes (directories below it, with inotify).
    pub dirs: usize,
}

/// A folder that falls back to the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleOnly {
    /// The plugin's config section.
    pub plugin: String,
    /// The folder.
    pub path: String,
    /// Why it is not watched, and what to do.
    pub why: String,
}

/// A declared folder outside the grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedFolder {
    /// The plugin's config section.
    pub plugin: String,
    /// What it declared.
    pub declared: String,
}

fn file(spool_dir: &Path) -> PathBuf {
    spool_dir.join(WATCH_FILE)
}

impl WatchRecord {
    /// Write it for `plumbline status`.
    pub fn save(&self, spool_dir: &Path) -> Result<(), String> {
        let path = file(spool_dir);
        // The service records its watches before its first scan has
        // spooled anything, so the spool may not be there yet.
        private::create_private_dir(spool_dir).map_err(|e| format!("creating {}: {e}", spool_dir.display()))?;
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        private::write_atomic(&path, &bytes, Access::Private).map_err(|e| format!("writing {}: {e}", path.display()))
    }

    /// The service's watches, if it runs (or ran and was killed).
    pub fn load(spool_dir: &Path) -> Option<WatchRecord> {
        serde_json::from_slice(&std::fs::read(file(spool_dir)).ok()?).ok()
    }

    /// The service stopped: nothing is watched.
    pub fn remove(spool_dir: &Path) {
        let _ = std::fs::remove_file(file(spool_dir));
    }

    /// Lines for a status display.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.watched.is_empty() {
            out.push("watching:      no plugin folder".to_string());
        }
        for w in &self.watched {
            out.push(format!("watching:      {} for {} ({} directories)", w.path, w.plugin, w.dirs));
        }
        for s in &self.schedule_only {
            out.push(format!("schedule only: {} for {}: {}", s.path, s.plugin, s.why));
        }
        for r in &self.refused {
            out.push(format!("not watched:   {:?} declared by {}: outside its granted directories", r.declared, r.plugin));
        }
        out
    }
}
