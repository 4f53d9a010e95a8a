//! `plumbline service run|install|uninstall|start|stop|status`: the agent as
//! a service of the machine. `run` is the entry point: on Linux a systemd
//! timer starts `service run --once` at each step of `[schedule]` (the
//! natural systemd shape: the timer keeps the schedule, catches up missed
//! steps after a shutdown and spreads a fleet, and nothing stays resident
//! between scans); on Windows the service control manager starts the
//! long-lived `service run`, which keeps the same schedule itself.
//! `service units` writes the systemd units alone, for the .deb.

#[cfg(target_os = "linux")]
pub mod linux;
pub mod log;
pub mod run;
mod watching;
#[cfg(windows)]
mod windows;

use super::exit::Exit;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// The service's commands.
#[derive(clap::Subcommand)]
pub enum ServiceCommand {
    /// The service's entry point: scan, deliver and flush the spool at each
    /// step of [schedule], until stopped (Ctrl-C, SIGTERM, the service
    /// control). A stop lets the plugin calls in progress finish.
    Run(run::RunArgs),
    /// Install the service: on Linux a systemd timer and unit that run
    /// `service run --once` on the schedule, enabled and started; on Windows
    /// a service (LocalSystem, delayed automatic start, three restarts).
    Install(InstallArgs),
    /// Stop and remove the service; the spool, keys and config stay.
    Uninstall(UnitArgs),
    /// Start the scheduled scans.
    Start(UnitArgs),
    /// Stop the scheduled scans; a scan in progress finishes its plugin calls.
    Stop(UnitArgs),
    /// The service as the system sees it, and the last run.
    Status(UnitArgs),
    /// For packages: write the systemd units `service install` writes, for
    /// the default schedule and paths, into DIR; nothing is read, enabled
    /// or started.
    Units(UnitsArgs),
}

/// What `service units` takes.
#[derive(clap::Args)]
pub struct UnitsArgs {
    /// Where to write the unit files (a package's usr/lib/systemd/system).
    #[arg(long)]
    pub dir: PathBuf,
    /// The plumbline binary as the installed system has it, e.g. /usr/bin/plumbline.
    #[arg(long)]
    pub binary: PathBuf,
    /// The config file as the installed system has it, e.g. /etc/plumbline/plumbline.toml.
    #[arg(long)]
    pub config: PathBuf,
}

/// What `service install` takes.
#[derive(clap::Args)]
pub struct InstallArgs {
    /// Agent config file the service runs with (default: the platform's).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The plumbline binary the service runs (default: this one).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Linux: write the units below this directory and enable them offline
    /// (an image being built; tests), without a running systemd.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Enable, but do not start yet.
    #[arg(long)]
    pub no_start: bool,
}

/// What the other service commands take.
#[derive(clap::Args)]
pub struct UnitArgs {
    /// Agent config file (status: where the last run is recorded).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Linux: the directory `service install --root` wrote below.
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// Run one service command.
pub async fn exec(command: ServiceCommand) -> Result<Exit> {
    match command {
        ServiceCommand::Run(args) => run::exec(args).await,
        ServiceCommand::Install(args) => install(args).await,
        ServiceCommand::Units(args) => units(args),
        #[cfg(target_os = "linux")]
        ServiceCommand::Uninstall(args) => linux::uninstall(args),
        #[cfg(target_os = "linux")]
        ServiceCommand::Start(args) => linux::start(args),
        #[cfg(target_os = "linux")]
        ServiceCommand::Stop(args) => linux::stop(args),
        #[cfg(target_os = "linux")]
        ServiceCommand::Status(args) => linux::status(args),
        #[cfg(windows)]
        ServiceCommand::Uninstall(args) => windows::uninstall(args),
        #[cfg(windows)]
        ServiceCommand::Start(args) => windows::start(args),
        #[cfg(windows)]
        ServiceCommand::Stop(args) => windows::stop(args),
        #[cfg(windows)]
        ServiceCommand::Status(args) => windows::status_command(args),
        #[cfg(not(any(target_os = "linux", windows)))]
        _ => unsupported(),
    }
}

/// `service install`, also the last step of `plumbline install`.
pub async fn install(args: InstallArgs) -> Result<Exit> {
    #[cfg(target_os = "linux")]
    return linux::install(args);
    #[cfg(windows)]
    return windows::install(args);
    #[cfg(not(any(target_os = "linux", windows)))]
    {
        let _ = args;
        unsupported()
    }
}

/// `service units`: the files alone, the same on any build machine.
fn units(args: UnitsArgs) -> Result<Exit> {
    for (flag, path) in [("--binary", &args.binary), ("--config", &args.config)] {
        // Paths of the Linux system the units are for, whatever builds them;
        // a relative one would be taken from wherever systemd runs it.
        if !path.to_str().is_some_and(|p| p.starts_with('/')) {
            anyhow::bail!("{flag} {} must be an absolute path as the installed system has it, e.g. /usr/bin/plumbline", path.display());
        }
    }
    let units = plumbline_agent::service::systemd::Units::defaults(&args.binary, &args.config);
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    for (name, text) in units.files() {
        let path = args.dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}; check that the directory is writable", path.display()))?;
        outln!("wrote {}", path.display())?;
    }
    Ok(Exit::Ok)
}

#[cfg(not(any(target_os = "linux", windows)))]
fn unsupported() -> Result<Exit> {
    anyhow::bail!(
        "installing the service is done for Linux (systemd) and Windows; here, run `plumbline service run` from this \
         system's service manager"
    )
}

/// The config a service command names, made absolute: the service runs it
/// from another working directory.
pub fn absolute_config(given: Option<PathBuf>) -> Result<PathBuf> {
    let path = super::config_path(given);
    std::path::absolute(&path)
        .map_err(|e| anyhow::anyhow!("cannot make {} absolute ({e}); give --config as an absolute path", path.display()))
}
