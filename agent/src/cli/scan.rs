//! `plumbline scan` and `plumbline run`: the scan, and the scan delivered.
//! [`scan_and_deliver`] is also every scan of `plumbline service run`.

use super::exit::Exit;
use super::{config_path, write_out};
use anyhow::{Context, Result};
use plumbline_agent::config::{Config, MissingPlugin, Resolved};
use plumbline_agent::delivery::push::FlushReport;
use plumbline_agent::delivery::{spool, Delivery};
use plumbline_agent::output::{self, Format};
use plumbline_agent::register::{ScanResult, Severity};
use plumbline_agent::service::lock::ScanLock;
use plumbline_agent::service::state::{self, DeliveryRecord, ScanRecord};
use plumbline_agent::service::stop::Stop;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// What `scan` and `run` take.
#[derive(clap::Args)]
pub struct ScanArgs {
    /// Agent config file (default: the platform's config path).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// The table with every column and every text whole, however wide
    /// (default: fitted to the terminal; to COLUMNS, or 120, when stdout is
    /// not one).
    #[arg(long)]
    wide: bool,
    /// Exit with 1 when a finding at or above this severity exists
    /// (info, low, medium, high, critical); a failed plugin, a refused
    /// delivery or a config error exits with its own code all the same.
    #[arg(long, value_parser = parse_severity)]
    fail_on: Option<Severity>,
}

/// What `scan` takes: `run`'s arguments, and `--local`.
#[derive(clap::Args)]
pub struct ScanOnlyArgs {
    #[command(flatten)]
    args: ScanArgs,
    /// Scan with the local config alone, without the policy from the
    /// collector (default: the policy merged in, as `run` and the service
    /// scan, so that `scan` shows what they would find).
    #[arg(long)]
    local: bool,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// `plumbline scan`: what `run` would find, printed, not delivered.
pub async fn scan(only: ScanOnlyArgs) -> Result<Exit> {
    let args = only.args;
    let local = Config::load(&config_path(args.config.clone()))?;
    let config = match only.local {
        true => local,
        false => {
            let (config, applied) = plumbline_agent::policy::effective(&local).await;
            if let Some(serial) = applied.serial() {
                eprintln!("plumbline: the collector's policy (serial {serial}) is merged in; `--local` scans the local config alone");
            }
            config
        }
    };
    let missing = config.missing_plugins();
    let result = scan_and_print(&config, Print::of(&args)).await?;
    Ok(scan_exit(&config, &missing, &result, args.fail_on))
}

/// `plumbline run`: with the policy from the collector merged in.
pub async fn run(args: ScanArgs) -> Result<Exit> {
    let config = plumbline_agent::policy::apply(Config::load(&config_path(args.config.clone()))?).await;
    let missing = config.missing_plugins();
    let ran = scan_and_deliver(&config, args.config.as_deref(), &Stop::never(), Some(Print::of(&args)), "run").await?;
    Ok(run_exit(&config, &missing, &ran, args.fail_on))
}

/// The exit code of a delivered scan: the scan's, and the delivery's.
pub fn run_exit(config: &Resolved, missing: &[MissingPlugin], ran: &Ran, fail_on: Option<Severity>) -> Exit {
    scan_exit(config, missing, &ran.result, fail_on).and(super::spool::delivery_exit(&ran.report))
}

/// How a scan is printed: `--format`, and `--wide` for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Print {
    format: Format,
    wide: bool,
}

impl Print {
    fn of(args: &ScanArgs) -> Print {
        Print::new(args.format, args.wide)
    }

    /// `--format`, and `--wide` for the table.
    pub fn new(format: Format, wide: bool) -> Print {
        Print { format, wide }
    }

    fn is_table(self) -> bool {
        self.format == Format::Table
    }
}

/// Columns the table fits when stdout is no terminal and `COLUMNS` says
/// nothing: an RMM's log view, about as wide as a laptop's terminal.
const PIPED_COLUMNS: usize = 120;

/// The width to fit: the terminal's, else `COLUMNS`, else [`PIPED_COLUMNS`].
fn columns() -> usize {
    if let Some((_, cols)) = console::Term::stdout().size_checked() {
        return usize::from(cols);
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse().ok()).filter(|&c| c >= 40).unwrap_or(PIPED_COLUMNS)
}

/// What one delivered scan did.
pub struct Ran {
    /// The scan.
    pub result: ScanResult,
    /// Its delivery, and the spool's.
    pub report: FlushReport,
}

/// `by` of a rescan of one plugin whose watched folder changed.
pub const RESCAN: &str = "watch";

/// One scan, delivered: `plumbline run`, and each scan of `plumbline service
/// run`. In order: the site must be enrolled (checked before scanning); no
/// other scan may be running for this spool; the scan, printed as `scan`
/// prints it (`print`) or summed up in one line; the batch signed and
/// spooled; the whole spool pushed; the run recorded for `plumbline status`.
/// A stop request lets the plugin calls in progress finish, still spools
/// what they found, and leaves the push to the next start.
pub async fn scan_and_deliver(
    config: &Resolved,
    config_arg: Option<&Path>,
    stop: &Stop,
    print: Option<Print>,
    by: &str,
) -> Result<Ran> {
    let delivery = Delivery::prepare(config).map_err(|e| e.naming_config(config_arg))?;
    let _scanning = ScanLock::try_acquire(delivery.spool_dir())?;
    let result = {
        let runtime = plumbline_agent::scan::runtime_for(config).context("starting the plugin runtime")?;
        let progress = super::progress::Display::new();
        let sink = |plugin: &str| progress.sink(plugin);
        let result = plumbline_agent::scan::run_with(config, &runtime, Some(&sink), stop).await;
        progress.finish();
        result
    };
    let stopped = stop.is_requested();
    match print {
        Some(format) => print_scan(&result, format)?,
        None => eprintln!("{}", output::summary(&result)),
    }
    let sequence = delivery.spool_batch(&result)?;
    let spool_dir = delivery.spool_dir();
    let mut report = tokio::select! {
        flushed = delivery.flush_queued(), if !stopped => flushed?,
        () = stop.requested() => FlushReport {
            queued: spool::status(spool_dir)?.queued,
            error: Some("the push was left to the next start: the agent was asked to stop".into()),
            ..FlushReport::default()
        },
    };
    report.spooled = Some(sequence);
    // A rescan of one plugin is not the last scan `plumbline status` judges
    // (the others' failures would vanish from it); its delivery is.
    let recorded = match by {
        RESCAN => state::record_flush(spool_dir, DeliveryRecord::of(&report)),
        _ => state::record_run(spool_dir, by, ScanRecord::of(&result, stopped), Some(DeliveryRecord::of(&report))),
    };
    if let Err(e) = recorded {
        eprintln!("plumbline: warning: {e}; `plumbline status` shows the run before this one until it is fixed");
    }
    super::spool::explain(&report, spool_dir);
    if print.is_some_and(Print::is_table) {
        outln!("{report}")?;
    } else {
        eprintln!("{report}");
    }
    Ok(Ran { result, report })
}

/// Run the scan and print it as `plumbline scan` does.
async fn scan_and_print(config: &Resolved, format: Print) -> Result<ScanResult> {
    let runtime =
        plumbline_agent::scan::runtime_for(config).context("starting the plugin runtime")?;
    let progress = super::progress::Display::new();
    let sink = |plugin: &str| progress.sink(plugin);
    let result = plumbline_agent::scan::run_with_progress(config, &runtime, Some(&sink)).await;
    progress.finish();
    print_scan(&result, format)?;
    Ok(result)
}

/// Print a scan as `plumbline scan` does.
pub fn print_scan(result: &ScanResult, print: Print) -> Result<()> {
    let style = output::Style {
        color: print.is_table() && plumbline_protocol::logging::colour(std::io::stdout().is_terminal()),
        width: (!print.wide).then(columns),
    };
    write_out(&output::render(result, print.format, style)?)?;
    if !print.is_table() {
        eprintln!("{}", output::summary(result));
    }
    Ok(())
}

/// A plugin whose file is not there (found when the config was loaded) was
/// never going to run: that is the config (a typo in plugin_dir, path or
/// the section's name), not the plugin, so it is said once, with the fix,
/// however many plugins it hides.
pub fn scan_exit(config: &Resolved, missing: &[MissingPlugin], result: &ScanResult, fail_on: Option<Severity>) -> Exit {
    let mut exit = match fail_on {
        Some(threshold) if result.has_finding_at_or_above(threshold) => Exit::Flagged,
        _ => Exit::Ok,
    };
    let failed = |p: &&plumbline_agent::register::PluginStatus| p.status != "ok" && !missing.iter().any(|m| m.name == p.name);
    for p in result.plugins.iter().filter(failed) {
        exit = exit.and(if p.status == plumbline_agent::scan::CONFIG_STATUS { Exit::Config } else { Exit::PluginFailed });
    }
    if missing.is_empty() {
        return exit;
    }
    let dir = config.plugin_dir.display();
    let dir = match config.plugin_dir.is_dir() {
        true => format!("plugin_dir is {dir}"),
        false => format!("plugin_dir {dir} does not exist"),
    };
    let missing: Vec<String> = missing.iter().map(MissingPlugin::to_string).collect();
    eprintln!(
        "plumbline: error: no plugin file for {}; {dir}: fix it, the section's name or its path in {} \
         (`plumbline plugins list --dir DIR` shows what a folder holds)",
        missing.join(", "),
        config.source.display()
    );
    exit.and(Exit::Config)
}
