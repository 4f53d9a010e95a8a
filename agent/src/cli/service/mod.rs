//! `plumbline service run|install|uninstall|start|stop|status`: the agent as
//! a service of the machine. `run` is the entry point: on Linux a systemd
//! timer starts `service run --once` at each step of `[schedule]` (the
//! natural systemd shape: the timer keeps the schedule, catches up missed
//! steps after a shutdown and spreads a fleet, and nothing stays resident
//! between scans); on Windows the service control manager starts the
//! long-lived `service run`, which keeps the same schedule itself.

pub mod run;

use super::exit::Exit;
use anyhow::Result;
use std::path::PathBuf;

/// The service's commands.
#[derive(clap::Subcommand)]
pub enum ServiceCommand {
    /// The service's entry point: scan, deliver and flush the spool at each
    /// step of [schedule], until stopped (Ctrl-C, SIGTERM, the service
    /// control). A stop lets the plugin calls in progress finish.
    Run(run::RunArgs),
}

/// Run one service command.
pub async fn exec(command: ServiceCommand) -> Result<Exit> {
    match command {
        ServiceCommand::Run(args) => run::exec(args).await,
    }
}

/// The config a service command names, made absolute: the service runs it
/// from another working directory.
pub fn absolute_config(given: Option<PathBuf>) -> Result<PathBuf> {
    let path = super::config_path(given);
    std::path::absolute(&path)
        .map_err(|e| anyhow::anyhow!("cannot make {} absolute ({e}); give --config as an absolute path", path.display()))
}
