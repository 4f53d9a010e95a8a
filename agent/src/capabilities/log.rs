//! `log`: plugin log lines become tracing events tagged with the plugin,
//! inside a per-scan budget, with every guest string made safe to log.

use super::HostState;
use crate::runtime::limits::{MAX_LOG_BYTES_PER_SCAN, MAX_LOG_LINES_PER_SCAN, MAX_LOG_LINE_CHARS};
use plumbline_protocol::cells::{bounded, printable};
use crate::runtime::wit::latest::plumbline::plugin::log::{Host, Level};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What one plugin may still write to the operator's log in this scan: its
/// own lines and the traces of its denied calls. Past the budget, lines are
/// counted, and one line at the end of the scan says how many were dropped.
#[derive(Debug, Default)]
pub struct LogBudget {
    lines: AtomicUsize,
    bytes: AtomicUsize,
    dropped: AtomicUsize,
}

impl LogBudget {
    /// May a line of `len` bytes be written? Counts it either way.
    pub fn admit(&self, len: usize) -> bool {
        let lines = self.lines.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = self.bytes.fetch_add(len, Ordering::Relaxed).saturating_add(len);
        let ok = lines <= MAX_LOG_LINES_PER_SCAN && bytes <= MAX_LOG_BYTES_PER_SCAN;
        if !ok {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// Lines refused so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Write the one "N lines dropped" line, if any were.
    pub fn report(&self, plugin: &str) {
        let dropped = self.dropped();
        if dropped > 0 {
            tracing::warn!(
                plugin = %sanitize(plugin),
                dropped,
                "{dropped} log lines from this plugin were dropped: over its budget of {MAX_LOG_LINES_PER_SCAN} lines or {} KiB per scan",
                MAX_LOG_BYTES_PER_SCAN / 1024
            );
        }
    }
}

/// Make a plugin's message safe for a log line: bounded, no control
/// characters (no forged log lines through embedded newlines).
pub fn sanitize(message: &str) -> String {
    printable(&bounded(message, MAX_LOG_LINE_CHARS))
}

impl Host for HostState {
    async fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let plugin: &str = &self.plugin;
        let message = sanitize(&message);
        if !self.log_budget.admit(message.len()) {
            return Ok(());
        }
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_budget_counts_lines_and_bytes() {
        let b = super::LogBudget::default();
        for _ in 0..super::MAX_LOG_LINES_PER_SCAN {
            assert!(b.admit(10));
        }
        assert!(!b.admit(10));
        assert_eq!(b.dropped(), 1);
        let b = super::LogBudget::default();
        assert!(b.admit(super::MAX_LOG_BYTES_PER_SCAN));
        assert!(!b.admit(1));
    }

    #[test]
    fn log_lines_cannot_forge_lines_or_grow_without_bound() {
        let s = super::sanitize("ok\nFAKE level=error\r\x1b[31m");
        assert!(!s.contains('\n') && !s.contains('\r') && !s.contains('\x1b'));
        let long = "x".repeat(10_000);
        assert!(super::sanitize(&long).chars().count() <= super::MAX_LOG_LINE_CHARS + 1);
    }
}
