//! The agent's commands, one file per command group (as cargo's
//! `src/bin/cargo/commands/`), and what they share: finding the config,
//! writing to stdout, and the exit codes ([`exit::Exit`]).

/// `println!` for the commands' output, through [`write_out`]. Defined
/// above the modules so that they all see it.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_out(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub mod doctor;
pub mod enroll;
pub mod exit;
pub mod install;
pub mod plugin_new;
pub mod plugin_sign;
pub mod plugin_test;
pub mod plugins;
pub mod progress;
pub mod release;
pub mod scan;
pub mod service;
pub mod spool;
pub mod status;
pub mod update;
pub mod verify;

use anyhow::{Context, Result};
use plumbline_agent::config::{default_paths, Config, DeliverySettings, Resolved};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Set once whoever reads stdout has closed it.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Write to stdout. A reader that closes the pipe early (`plumbline scan |
/// head`) took what it wanted, so that is not an error: the rest of the
/// output is dropped, the command carries on (`run` still delivers) and
/// exits as if everything had been read.
pub fn write_out(text: &str) -> Result<()> {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_GONE.store(true, Ordering::Relaxed);
            Ok(())
        }
        r => r.context("writing the output to stdout; check the file or disk it is redirected to"),
    }
}
