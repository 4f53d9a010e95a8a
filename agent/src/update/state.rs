//! What self-update remembers, in `SPOOL_DIR/update.json` (private, replaced
//! atomically like the spool's other files): the highest release version
//! this agent has verified, so that an older signed manifest replayed later
//! is refused (a rollback attack), and when it last asked, so the service
//! asks only every `[update] check_every`.

use super::UpdateError;
use crate::platform::private::{self, Access};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name in the spool directory.
pub const STATE_FILE: &str = "update.json";

/// What is remembered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateState {
    /// The highest version whose signed manifest and binary verified here
    /// (installed, or refused by its own self-check).
    #[serde(default)]
    pub highest_verified: Option<String>,
    /// When the agent last asked the collector, RFC 3339.
    #[serde(default)]
    pub last_check_at: Option<String>,
    /// What came of it, one line.
    #[serde(default)]
    pub last_result: Option<String>,
    /// The release just swapped in, until it has finished a scan in the
    /// service (see [`super::probation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probation: Option<Probation>,
}

/// A release swapped in that has not yet finished a scan in the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probation {
    /// Its version.
    pub version: String,
    /// The version it replaced, kept as `plumbline.old`.
    pub from: String,
    /// Service starts on it so far that did not finish a scan.
    pub starts: u32,
}

/// `SPOOL_DIR/update.json`.
pub fn state_file(spool_dir: &Path) -> PathBuf {
    spool_dir.join(STATE_FILE)
}

/// The state in `spool_dir`; empty before the first check.
pub fn load(spool_dir: &Path) -> Result<UpdateState, UpdateError> {
    let path = state_file(spool_dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            UpdateError::Setup(format!(
                "{} is damaged ({e}); it holds the highest release version verified, which guards against \
                 rollbacks: restore it from a backup, or write {{\"highest_verified\": \"VERSION\"}} with the \
                 version this agent runs",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UpdateState::default()),
        Err(e) => Err(UpdateError::io(format!("reading {}; run this as the agent's account", path.display()))(e)),
    }
}

/// Replace the state in `spool_dir`.
pub fn save(spool_dir: &Path, state: &UpdateState) -> Result<(), UpdateError> {
    private::create_private_dir(spool_dir).map_err(UpdateError::io(format!("creating {}", spool_dir.display())))?;
    let path = state_file(spool_dir);
    let bytes = serde_json::to_vec_pretty(state).expect("the state serialises");
    private::write_atomic(&path, &bytes, Access::Private).map_err(UpdateError::io(format!("writing {}", path.display())))
}
