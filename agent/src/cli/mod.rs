//! The agent's commands, one file per command group (as cargo's
//! `src/bin/cargo/commands/`), and what they share: finding the config.

pub mod doctor;
pub mod enroll;
pub mod plugins;
pub mod scan;
pub mod spool;
pub mod verify;

use anyhow::Result;
use plumbline_agent::config::{default_paths, Config, DeliverySettings, Resolved};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Windows consoles default to an OEM code page; switch this console to
/// UTF-8 so connector names and the register survive. Pipes (RMM consoles)
/// get UTF-8 bytes either way.
pub fn console_utf8() {
    #[cfg(windows)]
    // SAFETY: no preconditions; failure (no console) is harmless.
    unsafe {
        windows_sys::Win32::System::Console::SetConsoleOutputCP(65001);
    }
}

/// Logs go to stderr, filtered by `PLUMBLINE_LOG` (default `warn`), coloured
/// only on a terminal.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PLUMBLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
}

/// The config file given, or the platform's default path.
pub fn config_path(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| default_paths().config)
}

/// The config, when one was given or the default one exists.
pub fn loaded_config(given: Option<PathBuf>) -> Result<Option<Resolved>> {
    let path = config_path(given.clone());
    if given.is_none() && !path.exists() {
        return Ok(None);
    }
    Ok(Some(Config::load(&path)?))
}

/// `[delivery]` from the config, or the platform defaults when no config
/// was given and the default one does not exist (enrolling a fresh site).
pub fn delivery_settings(given: Option<PathBuf>) -> Result<DeliverySettings> {
    Ok(loaded_config(given)?
        .map(|c| c.delivery)
        .unwrap_or_else(DeliverySettings::defaults))
}
