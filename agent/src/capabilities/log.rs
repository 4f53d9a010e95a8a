//! `log`: plugin log lines become tracing events tagged with the plugin.

use super::HostState;
use crate::runtime::limits::MAX_LOG_LINE_CHARS;
use crate::runtime::wit::latest::plumbline::plugin::log::{Host, Level};

/// Make a plugin's message safe for a log line: bounded, no control
/// characters (no forged log lines through embedded newlines).
pub fn sanitize(message: &str) -> String {
    let mut out: String = message
        .chars()
        .take(MAX_LOG_LINE_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if message.chars().count() > MAX_LOG_LINE_CHARS {
        out.push('…');
    }
    out
}

impl Host for HostState {
    async fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let plugin: &str = &self.plugin;
        let message = sanitize(&message);
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
    fn log_lines_cannot_forge_lines_or_grow_without_bound() {
        let s = super::sanitize("ok\nFAKE level=error\r\x1b[31m");
        assert!(!s.contains('\n') && !s.contains('\r') && !s.contains('\x1b'));
        let long = "x".repeat(10_000);
        assert!(super::sanitize(&long).chars().count() <= super::MAX_LOG_LINE_CHARS + 1);
    }
}
