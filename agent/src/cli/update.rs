//! `plumbline update [--check]`: replace this binary with the newest release
//! the collector publishes, signed by a key in `[update] release_keys`
//! ([`plumbline_agent::update`]); and `plumbline self-check`, what a staged
//! release runs to show it works before it replaces anything.

use super::exit::Exit;
use anyhow::{Context, Result};
use plumbline_agent::config::Config;
use plumbline_agent::update::{self, Outcome};
use std::path::PathBuf;

/// What `update` takes.
#[derive(clap::Args)]
pub struct UpdateArgs {
    /// Agent config file (default: the platform's config path).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Only say whether a newer verified release is published (exit 1 if
    /// so); install nothing.
    #[arg(long)]
    pub check: bool,
}

/// `plumbline update`.
pub async fn exec(args: UpdateArgs) -> Result<Exit> {
    let config = Config::load(&super::config_path(args.config.clone()))?;
    let exe = this_executable()?;
    let outcome = update::update(&config, &exe, args.check).await?;
    outln!("{outcome}")?;
    Ok(match outcome {
        Outcome::Available { .. } => Exit::Flagged,
        Outcome::Installed { .. } => {
            outln!("the next run uses it; a running service restarts on it (`plumbline service status`)")?;
            Exit::Ok
        }
        _ => Exit::Ok,
    })
}

/// The executable this process runs from, as a path that stays valid after
/// a swap (resolved once, before anything is replaced).
pub fn this_executable() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding this plumbline binary to update it")?;
    std::fs::canonicalize(&exe).with_context(|| format!("resolving {}", exe.display()))
}

/// `plumbline self-check`: this binary starts, and says what it is.
pub fn self_check() -> Result<Exit> {
    outln!("{}", update::self_check_line(update::VERSION))?;
    Ok(Exit::Ok)
}

/// Set when the service installed a release and should restart on it.
static RESTART_FOR_UPDATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the service installed a release and is to restart on it (the
/// Windows service then stops with an error, so that the manager's recovery
/// policy starts it again, on the new binary).
#[cfg(windows)]
pub fn restart_requested() -> bool {
    RESTART_FOR_UPDATE.load(std::sync::atomic::Ordering::Relaxed)
}

/// In the service, after a scan: check for a release once `[update]
/// check_every` has passed. Nothing that goes wrong stops the service; a
/// refusal is logged with its fix. True when a new release was installed.
pub async fn if_due(config: &plumbline_agent::config::Resolved, exe: &std::path::Path) -> bool {
    if !config.update.enabled || !update::is_due(config) {
        return false;
    }
    match update::update(config, exe, false).await {
        Ok(outcome @ Outcome::Installed { .. }) => {
            tracing::warn!("{outcome}; the service restarts on it");
            RESTART_FOR_UPDATE.store(true, std::sync::atomic::Ordering::Relaxed);
            true
        }
        Ok(outcome) => {
            tracing::info!("{outcome}");
            false
        }
        Err(e @ update::UpdateError::Collector { .. }) => {
            tracing::warn!("checking for a release: {e}; the next check tries again");
            false
        }
        Err(e) => {
            tracing::error!("{e}");
            false
        }
    }
}

/// At a service start: count it if the running release is on probation,
/// and put the old binary back when it has crashed in a loop. True when the
/// service must restart, now on the old binary.
pub fn probation_start(config: &plumbline_agent::config::Resolved, exe: &std::path::Path) -> bool {
    use update::probation::{self, Start, PROBATION_STARTS};
    match probation::on_start(&config.delivery.spool_dir, exe) {
        Ok(Start::Clear) => false,
        Ok(Start::OnProbation(n)) => {
            tracing::warn!(
                "release {} is on probation since the update: start {n} of {PROBATION_STARTS} before a scan has \
                 finished on it; at {PROBATION_STARTS} the old release is put back",
                update::VERSION
            );
            false
        }
        Ok(Start::PutBack(p)) => {
            tracing::error!(
                "release {} was put back: the service started on it {} times and never finished a scan (it crashes); \
                 {} runs {} again. Publish a fixed release with a higher version",
                p.version,
                p.starts,
                exe.display(),
                p.from
            );
            RESTART_FOR_UPDATE.store(true, std::sync::atomic::Ordering::Relaxed);
            true
        }
        Err(e) => {
            tracing::error!("checking whether this release is on probation: {e}");
            false
        }
    }
}

/// A scan finished in the service: the release running is no longer on
/// probation.
pub fn probation_passed(config: &plumbline_agent::config::Resolved) {
    if let Err(e) = update::probation::passed(&config.delivery.spool_dir) {
        tracing::warn!("ending this release's probation: {e}");
    }
}

/// Go on as the new binary: the same arguments, the same process (Unix).
/// Returns only if that failed (then the old code goes on running).
#[cfg(unix)]
pub fn exec_new(exe: &std::path::Path) {
    use std::os::unix::process::CommandExt;
    let e = std::process::Command::new(exe).args(std::env::args_os().skip(1)).exec();
    tracing::error!("starting the new release {}: {e}; this process goes on with the old one until restarted", exe.display());
}
