//! `plumbline service install|uninstall|start|stop|status` on Linux: the
//! units from [`plumbline_agent::service::systemd`], put in place and driven
//! through `systemctl`. With `--root DIR` the units go below DIR and are
//! enabled offline (`systemctl --root`), for images and tests; a running
//! systemd is then not needed, and start, stop and status refuse.

use super::super::exit::Exit;
use super::{InstallArgs, UnitArgs};
use anyhow::{bail, Context, Result};
use plumbline_agent::config::Config;
use plumbline_agent::platform::private::{self, Access};
use plumbline_agent::service::state;
use plumbline_agent::service::systemd::{Units, SERVICE_UNIT, TIMERS, TIMER_UNIT, UNITS, UNIT_DIR};
use std::path::{Path, PathBuf};
use std::process::Command;

fn unit_dir(root: Option<&Path>) -> PathBuf {
    root.unwrap_or(Path::new("/")).join(UNIT_DIR)
}

/// `systemctl ARGS` (with `--root` when given); its error says what to do.
fn systemctl(root: Option<&Path>, args: &[&str]) -> Result<String> {
    let mut command = Command::new("systemctl");
    if let Some(root) = root {
        command.arg(format!("--root={}", root.display()));
    }
    let out = command.args(args).output().with_context(|| {
        "running systemctl; this machine has no systemd: run `plumbline service run` under its own service manager instead"
    })?;
    if !out.status.success() {
        bail!(
            "`systemctl {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Checked before anything is written: without a running systemd the units
/// would be written and never run (sd_booted() looks for the same folder).
pub fn require_systemd() -> Result<()> {
    if !Path::new("/run/systemd/system").is_dir() {
        bail!(
            "this machine is not running systemd (no /run/systemd/system): nothing was installed; run `plumbline \
             service run` under its own service manager, pass --root DIR to write the units for an image, or \
             --no-service (plumbline install)"
        );
    }
    Ok(())
}

/// `service install`.
pub fn install(args: InstallArgs) -> Result<Exit> {
    let config_path = super::absolute_config(args.config)?;
    // Checked first: a config that does not load installs nothing.
    let config = Config::load(&config_path)?;
    let binary = match args.binary {
        Some(b) => std::path::absolute(b).context("making --binary absolute")?,
        None => std::env::current_exe().context("finding this plumbline binary; pass --binary PATH")?,
    };
    if args.root.is_none() && !binary.is_file() {
        bail!("{} is not a file; pass --binary with the installed plumbline", binary.display());
    }
    let units = Units::for_config(&config, &binary);
    let root = args.root.as_deref();
    if root.is_none() {
        require_systemd()?;
    }
    let dir = unit_dir(root);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in units.files() {
        let path = dir.join(name);
        private::write_atomic(&path, text.as_bytes(), Access::Public).with_context(|| format!("writing {}", path.display()))?;
        outln!("wrote {}", path.display())?;
    }
    if root.is_none() {
        systemctl(None, &["daemon-reload"])?;
    }
    let mut enable = vec!["enable"];
    if root.is_none() && !args.no_start {
        enable.push("--now");
    }
    enable.extend(TIMERS);
    systemctl(root, &enable)?;
    let when = format!(
        "every {} (UTC steps, up to {} later at random)",
        plumbline_agent::config::format_duration(units.schedule.every),
        plumbline_agent::config::format_duration(units.schedule.jitter)
    );
    match (root, args.no_start) {
        (None, false) => outln!("{TIMER_UNIT} enabled and started: scans {when}; `systemctl start {SERVICE_UNIT}` scans now")?,
        _ => outln!("{TIMER_UNIT} enabled (not started): scans {when} once started; `plumbline service start` starts it")?,
    }
    Ok(Exit::Ok)
}

/// `service uninstall`: the units go; the spool, keys and config stay.
pub fn uninstall(args: UnitArgs) -> Result<Exit> {
    let root = args.root.as_deref();
    let dir = unit_dir(root);
    if !UNITS.iter().any(|name| dir.join(name).exists()) {
        outln!("not installed: no {TIMER_UNIT} or {SERVICE_UNIT} in {}", dir.display())?;
        return Ok(Exit::Ok);
    }
    let mut disable = vec!["disable"];
    if root.is_none() {
        disable.push("--now");
    }
    disable.extend(TIMERS.iter().copied().filter(|t| dir.join(t).exists()));
    systemctl(root, &disable)?;
    if root.is_none() {
        // A scan in progress finishes first (SIGTERM, see the unit).
        systemctl(None, &["stop", SERVICE_UNIT])?;
    }
    for name in UNITS.iter().rev().filter(|name| dir.join(name).exists()) {
        let path = dir.join(name);
        private::remove_durably(&path).with_context(|| format!("removing {}", path.display()))?;
        outln!("removed {}", path.display())?;
    }
    if root.is_none() {
        systemctl(None, &["daemon-reload"])?;
    }
    outln!("the spool, the keys and the config are kept; delete them by hand if this agent is gone for good")?;
    Ok(Exit::Ok)
}

fn live_only(args: &UnitArgs, what: &str) -> Result<()> {
    if args.root.is_some() {
        bail!("`plumbline service {what}` needs the running systemd; --root is only for install and uninstall");
    }
    Ok(())
}

/// `service start`: the schedule runs (a scan now: `systemctl start plumbline.service`).
pub fn start(args: UnitArgs) -> Result<Exit> {
    live_only(&args, "start")?;
    systemctl(None, &["start", TIMERS[0], TIMERS[1]])?;
    outln!("{TIMER_UNIT} started; `systemctl start {SERVICE_UNIT}` scans now")?;
    Ok(Exit::Ok)
}

/// `service stop`: no more scheduled scans; a scan in progress finishes its
/// plugin calls and spools their results.
pub fn stop(args: UnitArgs) -> Result<Exit> {
    live_only(&args, "stop")?;
    systemctl(None, &["stop", TIMERS[0], TIMERS[1], SERVICE_UNIT])?;
    outln!("{TIMER_UNIT} stopped; no scan runs until `plumbline service start`")?;
    Ok(Exit::Ok)
}

/// `service status`: the units as systemd sees them, and the last run.
pub fn status(args: UnitArgs) -> Result<Exit> {
    live_only(&args, "status")?;
    let shown = systemctl(
        None,
        &["show", "--property=Id,LoadState,ActiveState,UnitFileState,NextElapseUSecRealtime,LastTriggerUSec,Result", TIMER_UNIT, SERVICE_UNIT],
    )?;
    for line in shown.lines().filter(|l| !l.is_empty()) {
        outln!("{line}")?;
    }
    let installed = !shown.contains("LoadState=not-found");
    if let Some(config) = super::super::loaded_config(args.config)? {
        match state::load(&config.delivery.spool_dir)? {
            Some(run) => outln!("last run: {}", run.scan.map(|s| s.finished_at).unwrap_or_else(|| "none".into()))?,
            None => outln!("last run: none recorded yet")?,
        }
        if let Some(watching) = plumbline_agent::service::watch::record::WatchRecord::load(&config.delivery.spool_dir) {
            for line in watching.lines() {
                outln!("{line}")?;
            }
        }
    }
    Ok(if installed { Exit::Ok } else { Exit::Flagged })
}
