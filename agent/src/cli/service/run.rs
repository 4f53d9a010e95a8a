//! `plumbline service run [--once]`: scan, deliver and flush at each step of
//! `[schedule]`, until a stop request. With `--once` (the systemd timer's
//! unit), one scan delivered, with `plumbline run`'s exit codes.
//!
//! The long-lived loop keeps the timer's rules: steps of the UTC clock plus
//! a random delay of up to `jitter`; at start, a step missed while the agent
//! was not running (the last recorded scan is older than the last step) is
//! caught up at once, like `Persistent=true`. The config is read again at
//! each step, so a change needs no restart; one that does not load is
//! logged and the last good one is used; the policy from the collector is
//! merged in at each step too ([`plumbline_agent::policy`]). Between scans
//! the config, the policy and the plugin files are watched, and a change is
//! checked and loaded at once; a folder a plugin asks to have watched
//! rescans that plugin alone when it changes ([`super::watching`]). Nothing
//! else is kept between scans: the plugin runtime is built for each scan
//! and dropped after it. Batches that could not be delivered at a scan are
//! pushed again every `flush_every` until they are gone.

use super::super::exit::Exit;
use super::super::scan::{run_exit, scan_and_deliver};
use super::watching::Running;
use anyhow::{Context, Result};
use plumbline_agent::config::{format_duration, Config, Resolved, Schedule};
use plumbline_agent::platform::clock::{now_ms, rfc3339};
use plumbline_agent::delivery::{spool, Delivery};
use plumbline_agent::service::state::{self, DeliveryRecord};
use plumbline_agent::service::stop::{Stop, StopHandle};
use plumbline_agent::service::watch::Changes;
use plumbline_agent::service::ServiceError;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest single sleep between checks of the wall clock: a sleep is
/// measured on the monotonic clock, which stands still while the machine is
/// suspended; waking each minute keeps the schedule after a resume.
const WAKE_EVERY: Duration = Duration::from_secs(60);

/// What `service run` takes.
#[derive(clap::Args, Clone)]
pub struct RunArgs {
    /// Agent config file (default: the platform's config path).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Scan and deliver once, then exit (what the systemd timer starts);
    /// the exit codes are `plumbline run`'s.
    #[arg(long)]
    pub once: bool,
}

/// `plumbline service run`.
pub async fn exec(args: RunArgs) -> Result<Exit> {
    // Started by the Windows service manager: the service's thread runs the
    // loop with the manager's stop; from a console, it runs here.
    #[cfg(windows)]
    if !args.once {
        if let Some(exit) = super::windows::dispatch(&args)? {
            return Ok(exit);
        }
    }
    let (handle, stop) = Stop::new();
    listen_for_stop(handle);
    run_with(args, stop).await
}

/// The service with a given stop, for the Windows service control handler.
pub async fn run_with(args: RunArgs, stop: Stop) -> Result<Exit> {
    let path = super::absolute_config(args.config.clone())?;
    // Resolved before anything is replaced: after a swap the old path still
    // names the executable (and /proc's link would not).
    let exe = super::super::update::this_executable()?;
    if args.once {
        let config = plumbline_agent::policy::apply(Config::load(&path)?).await;
        if super::super::update::probation_start(&config, &exe) {
            return restart_on(&exe);
        }
        let missing = config.missing_plugins();
        let ran = scan_and_deliver(&config, args.config.as_deref(), &stop, None, "service").await;
        super::super::update::probation_passed(&config);
        // Under the timer, the next start runs what this installs.
        if !stop.is_requested() {
            super::super::update::if_due(&config, &exe).await;
        }
        return match ran {
            Ok(ran) => Ok(run_exit(&config, &missing, &ran, None)),
            // The timer fired while another scan runs: its turn is that scan.
            Err(e) if is_busy(&e) => {
                tracing::warn!("{e:#}");
                Ok(Exit::Ok)
            }
            Err(e) => Err(e),
        };
    }
    let config = plumbline_agent::policy::apply(Config::load(&path)?).await;
    if super::super::update::probation_start(&config, &exe) {
        return restart_on(&exe);
    }
    tracing::info!(config = %path.display(), "service started; {}", describe(&config.schedule));
    let mut running = Running::start(config).await;
    let mut at = next_scan(first_due(&running.config), &running.config);
    loop {
        match idle_until(at, &mut running, &stop).await {
            Wake::Stop => break,
            Wake::Changed(changes) => {
                if changes.reload {
                    running.reload(&path).await;
                }
                for plugin in &changes.plugins {
                    running.rescan(plugin, args.config.as_deref(), &stop).await;
                    release_memory();
                }
                continue;
            }
            Wake::Step => {}
        }
        running.at_step(&path).await;
        running.scan_starts();
        one_scan(&running.config, args.config.as_deref(), &stop).await;
        super::super::update::probation_passed(&running.config);
        release_memory();
        if stop.is_requested() {
            break;
        }
        if super::super::update::if_due(&running.config, &exe).await {
            running.stopped();
            #[cfg(unix)]
            super::super::update::exec_new(&exe);
            #[cfg(not(unix))]
            break;
        }
        at = next_scan(running.config.schedule.next_step_after(now_secs()), &running.config);
    }
    running.stopped();
    tracing::info!("service stopped");
    Ok(Exit::Ok)
}

/// Go on as the binary now at `exe`: in this process on Unix; on Windows
/// the service stops with an error, and its recovery policy starts it again.
fn restart_on(exe: &Path) -> Result<Exit> {
    #[cfg(unix)]
    super::super::update::exec_new(exe);
    #[cfg(not(unix))]
    let _ = exe;
    Ok(Exit::Ok)
}

/// The scan due at the step `due`, with its random delay, recorded and
/// logged.
fn next_scan(due: u64, config: &Resolved) -> u64 {
    let at = due + jitter(&config.schedule);
    if let Err(e) = state::record_next_scan(&config.delivery.spool_dir, &rfc3339(at * 1000)) {
        tracing::warn!("{e}");
    }
    tracing::info!("next scan at {}", rfc3339(at * 1000));
    at
}

/// One scheduled scan. Nothing that goes wrong stops the service: it is
/// logged with its fix, and the next step tries again (after enrolling, or
/// fixing the config, no restart is needed).
async fn one_scan(config: &Resolved, config_arg: Option<&Path>, stop: &Stop) {
    let missing = config.missing_plugins();
    match scan_and_deliver(config, config_arg, stop, None, "service").await {
        Ok(ran) => {
            let exit = run_exit(config, &missing, &ran, None);
            tracing::info!(exit = exit.code(), "scan delivered");
        }
        Err(e) if is_busy(&e) => {
            tracing::warn!("{e:#}");
        }
        Err(e) => tracing::error!("this scan failed: {e:#}; the service tries again at the next step"),
    }
}

fn is_busy(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<ServiceError>(), Some(ServiceError::Busy { .. }))
}

fn describe(schedule: &Schedule) -> String {
    format!(
        "scanning every {} (steps of the UTC clock) plus up to {} of random delay; waiting batches pushed every {}",
        format_duration(schedule.every),
        format_duration(schedule.jitter),
        format_duration(schedule.flush_every)
    )
}

fn now_secs() -> u64 {
    now_ms() / 1000
}

/// Now, if a step passed since the last recorded scan (or none is
/// recorded); else the next step.
fn first_due(config: &Resolved) -> u64 {
    let now = now_secs();
    let next = config.schedule.next_step_after(now);
    let last_step = next.saturating_sub(config.schedule.every.as_secs());
    let last_scan = state::load(&config.delivery.spool_dir)
        .ok()
        .flatten()
        .and_then(|run| run.scan)
        .and_then(|scan| time::OffsetDateTime::parse(&scan.started_at, &time::format_description::well_known::Rfc3339).ok())
        .map(|t| t.unix_timestamp().max(0) as u64);
    match last_scan {
        Some(at) if at >= last_step => next,
        _ => now,
    }
}

fn jitter(schedule: &Schedule) -> u64 {
    fastrand::u64(0..=schedule.jitter.as_secs())
}

/// Why the service woke up between scans.
enum Wake {
    /// A stop was requested.
    Stop,
    /// The scan is due.
    Step,
    /// Watched files changed, and the wait after them is over.
    Changed(Changes),
}

/// Wait until `at` (seconds since the epoch, wall clock), pushing batches
/// that still wait every `flush_every`, and taking in what the watches see.
async fn idle_until(at: u64, running: &mut Running, stop: &Stop) -> Wake {
    let mut next_flush = now_secs() + running.config.schedule.flush_every.as_secs();
    loop {
        if stop.is_requested() {
            return Wake::Stop;
        }
        if let Some(changes) = running.take_due() {
            return Wake::Changed(changes);
        }
        let now = now_secs();
        if now >= at {
            return Wake::Step;
        }
        if now >= next_flush {
            flush_waiting(&running.config, stop).await;
            release_memory();
            next_flush = now_secs() + running.config.schedule.flush_every.as_secs();
            continue;
        }
        let mut wait = Duration::from_secs(at.min(next_flush) - now).min(WAKE_EVERY);
        if let Some(due) = running.due_in() {
            wait = wait.min(due);
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = running.changed() => {}
            () = stop.requested() => return Wake::Stop,
        }
    }
}

/// Push the spool between scans, if anything waits in it; what happened is
/// logged and recorded for `plumbline status`.
async fn flush_waiting(config: &Resolved, stop: &Stop) {
    let spool_dir = &config.delivery.spool_dir;
    match spool::status(spool_dir) {
        Ok(s) if s.queued > 0 => {}
        _ => return,
    }
    let delivery = match Delivery::prepare(config) {
        Ok(d) => d,
        Err(e) => return tracing::warn!("batches wait in {}, but cannot be pushed: {e}", spool_dir.display()),
    };
    let report = tokio::select! {
        r = delivery.flush_queued() => r,
        () = stop.requested() => return,
    };
    match report {
        Ok(report) => {
            tracing::info!("between scans: {report}");
            if let Some(e) = &report.error {
                tracing::warn!("{e}; the batches wait for the next try");
            }
            if let Err(e) = state::record_flush(spool_dir, DeliveryRecord::of(&report)) {
                tracing::warn!("{e}");
            }
        }
        Err(e) => tracing::warn!("pushing the waiting batches: {e}"),
    }
}

/// Hand the memory the scan freed back to the system, so the service idles
/// small: glibc keeps freed heap in its arenas otherwise.
fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Ctrl-C or SIGTERM asks for a stop; a second one ends the process at once
/// (the spool stays consistent even then: it survives SIGKILL).
fn listen_for_stop(handle: StopHandle) {
    tokio::spawn(async move {
        if wait_for_signal().await.is_err() {
            return;
        }
        tracing::warn!(
            "stop requested: the plugin calls in progress finish and their results are spooled; a second Ctrl-C or \
             SIGTERM stops at once"
        );
        handle.request();
        if wait_for_signal().await.is_ok() {
            tracing::warn!("stopping at once; the spool is consistent, the scan in progress is lost");
            std::process::exit(130);
        }
    });
}

async fn wait_for_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("listening for Ctrl-C")?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.context("listening for Ctrl-C")
    }
}
