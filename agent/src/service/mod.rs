//! Running on a schedule: what `plumbline service ...` and `plumbline
//! status` share with the rest of the agent.
//!
//! - [`stop`]: a stop request that lets the plugin calls in progress finish.
//! - [`lock`]: never two scans at once, across processes.
//! - [`state`]: the last run's outcome on disk, for `plumbline status`.
//! - [`health`] and [`rmm`]: that outcome judged, and said in an RMM's terms.
//! - [`systemd`]: the unit and timer `service install` writes on Linux.
//! - [`watch`] and [`reload`]: the long-lived service's watches between
//!   scans, and a changed config or plugin checked before it is run.
//!
//! The loop itself (scan, deliver, sleep to the next step) is the command
//! line's: it puts the scan and the delivery together, as `plumbline run`
//! does, through one function.

pub mod health;
pub mod lock;
pub mod reload;
pub mod rmm;
pub mod state;
pub mod stop;
pub mod systemd;
pub mod watch;

use std::path::PathBuf;

/// Why a service step could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Another process is scanning with the same spool.
    #[error(
        "a scan is already running for the spool {dir}{holder}; this one is skipped so that two scans never run at \
         once (`plumbline status` shows the last one)"
    )]
    Busy {
        /// The spool directory.
        dir: PathBuf,
        /// ` (pid N)` when known.
        holder: String,
    },
    /// The last-run file is unreadable.
    #[error("{path}: {message}")]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl ServiceError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServiceError {
        let what = what.into();
        move |source| ServiceError::Io { what, source }
    }
}
