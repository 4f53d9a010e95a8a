//! How both binaries log, so that one log reads like the other: to stderr,
//! filtered by `PLUMBLINE_LOG`, UTC timestamps to the microsecond, coloured
//! only on a terminal and never under `NO_COLOR`.

use std::io::IsTerminal;

/// The variable both binaries read their log filter from (tracing's
/// `EnvFilter` syntax: `info`, `warn,plumbline_agent=debug`).
pub const LOG_ENV: &str = "PLUMBLINE_LOG";

/// Start logging; `default` applies when `PLUMBLINE_LOG` is unset or not a
/// filter.
pub fn init(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // The default today, named so that neither binary drifts from it.
        .with_timer(tracing_subscriber::fmt::time::SystemTime)
        .with_ansi(colour(std::io::stderr().is_terminal()))
        .init();
}

/// [`init`], to `file` instead of stderr and never coloured: for a process
/// nobody reads the stderr of (a Windows service has no console).
pub fn init_to_file(default: &str, file: std::fs::File) {
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_timer(tracing_subscriber::fmt::time::SystemTime)
        .with_ansi(false)
        .init();
}

/// Whether output to a terminal (or not) may be coloured: only a terminal,
/// and not when `NO_COLOR` is set (https://no-color.org). A redirected log
/// file gets no escape codes.
pub fn colour(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none()
}
