//! The agent's exit codes, named in one place. RMM tools (N-able, Datto,
//! NinjaOne, scheduled tasks) alert on any non-zero code and keep stdout, so
//! each code means one thing and 0 means only "all of it worked".
//!
//! The numbers stay below 126: shells use 126 and up (not executable, not
//! found, killed by a signal), Unix keeps only the low 8 bits, and N-sight's
//! custom range (above 1000) does not exist on Unix. 2 is also clap's code
//! for a usage error, so a bad flag and a bad config file read the same.

use std::fmt::Write as _;

/// How a command ended. `--help` and the README list these (tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything ran and, for `run`, was delivered or queued.
    Ok,
    /// The command ran and its answer is the one to alert on.
    Flagged,
    /// The command could not run as configured.
    Config,
    /// A plugin failed, so the scan is incomplete.
    PluginFailed,
    /// The collector refused a batch for good.
    DeliveryRefused,
}

/// When several apply, the first of these wins: a config error means the
/// rest may be wrong too; a refusal means the MSP saw nothing of this scan;
/// a failed plugin means part of it is missing, so "no findings" cannot be
/// trusted; only then do findings decide.
const PRECEDENCE: [Exit; 5] = [Exit::Config, Exit::DeliveryRefused, Exit::PluginFailed, Exit::Flagged, Exit::Ok];

impl Exit {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Flagged => 1,
            Exit::Config => 2,
            Exit::PluginFailed => 3,
            Exit::DeliveryRefused => 4,
        }
    }

    fn meaning(self) -> &'static [&'static str] {
        match self {
            Exit::Ok => &[
                "ok: every plugin reported, nothing is at or above --fail-on, and `run`",
                "delivered or queued the batch (a collector that is down is not a failure)",
            ],
            Exit::Flagged => &[
                "the answer to alert on: a finding at or above --fail-on (scan, run);",
                "batches still queued (spool flush); an invalid envelope (verify); a",
                "path the plugin cannot read: denied, or not there (doctor --path); an",
                "agent that needs attention (status; with --rmm nable on Windows: 1001+)",
            ],
            Exit::Config => &[
                "configuration error: a bad flag; a config file missing or invalid; a",
                "configured plugin whose file does not exist (check plugin_dir and path;",
                "the other plugins still run) or whose settings, signature or pin the",
                "config refuses; a site not enrolled; or another error",
                "that stopped the command. stderr says what to fix",
            ],
            Exit::PluginFailed => &[
                "a plugin failed: the scan is incomplete and that plugin's findings are",
                "unknown; its error is under plugins in the output",
            ],
            Exit::DeliveryRefused => &[
                "delivery refused: the collector refused a batch for good (e.g. a revoked",
                "agent); it waits in SPOOL/rejected for `plumbline spool requeue`",
            ],
        }
    }

    /// The one of `self` and `other` that takes precedence.
    pub fn and(self, other: Exit) -> Exit {
        let rank = |e: Exit| PRECEDENCE.iter().position(|p| *p == e);
        if rank(other) < rank(self) {
            other
        } else {
            self
        }
    }

    /// The exit-code table for `--help` and the README.
    pub fn help() -> String {
        let mut by_code = PRECEDENCE;
        by_code.sort_by_key(|e| e.code());
        let mut out = String::from("Exit codes (for RMM checks: alert on anything but 0):\n");
        for e in by_code {
            for (i, line) in e.meaning().iter().enumerate() {
                let code = if i == 0 { e.code().to_string() } else { String::new() };
                let _ = writeln!(out, "  {code:<2} {line}");
            }
        }
        let order: Vec<String> = PRECEDENCE[..4].iter().map(|e| e.code().to_string()).collect();
        let _ = write!(out, "When several apply, the first of {} wins; the output reports each.", order.join(", "));
        out
    }
}
