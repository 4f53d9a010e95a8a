//! `plumbline status [--rmm ninja|datto|nable|intune|plain]`: the agent's
//! health from its last-run record and its spool (last scan, last delivery,
//! queued batches, failing plugins, highest severity), said the way the RMM
//! that runs it reads a script's result (see `service::rmm`).

use super::exit::Exit;
use super::{loaded_config, write_out};
use anyhow::{Context, Result};
use plumbline_agent::config::{DeliverySettings, Schedule};
use plumbline_agent::delivery::spool;
use plumbline_agent::platform::clock::now_ms;
use plumbline_agent::register::Severity;
use plumbline_agent::service::health::Health;
use plumbline_agent::service::rmm::{self, Rmm};
use plumbline_agent::service::state;
use plumbline_agent::service::watch::record::WatchRecord;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `status` takes.
#[derive(clap::Args)]
pub struct StatusArgs {
    /// Agent config file (default: the platform's config path).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Say it as this RMM expects: exit codes, markers, field lines.
    #[arg(long, value_enum, default_value = "plain")]
    rmm: Rmm,
    /// Findings at or above this severity in the last scan need attention.
    #[arg(long, default_value = "high", value_parser = parse_severity)]
    fail_on: Severity,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// Whether `path` exists; an account that may not look is told so, not
/// told "not enrolled".
fn present(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| {
            format!("checking {}; run `plumbline status` as the agent's account (root, or SYSTEM as RMMs do)", path.display())
        }),
    }
}

/// `plumbline status`.
pub fn exec(args: StatusArgs) -> Result<Exit> {
    let config = loaded_config(args.config)?;
    let settings = config.as_ref().map(|c| c.delivery.clone()).unwrap_or_else(DeliverySettings::defaults);
    let schedule = config.as_ref().map(|c| c.schedule).unwrap_or_else(Schedule::default);
    let enrolled = present(&settings.key_file)? && present(&settings.enrollment_file())?;
    let run = state::load(&settings.spool_dir)?;
    let queue = spool::status(&settings.spool_dir)?;
    let health = Health::assess(enrolled, run.as_ref(), &queue, &schedule, args.fail_on, now_ms() / 1000);
    let said = rmm::render(args.rmm, &health, WatchRecord::load(&settings.spool_dir).as_ref());
    write_out(&said.stdout)?;
    eprint!("{}", said.stderr);
    Ok(match said.code {
        0 => Exit::Ok,
        1 => Exit::Flagged,
        // N-able's codes above 1000 (Windows only): past what `Exit` holds.
        code => {
            let _ = std::io::stdout().flush();
            std::process::exit(code)
        }
    })
}
