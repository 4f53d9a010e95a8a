//! `plumbline scan` and `plumbline run`: the scan, and the scan delivered.

use super::exit::Exit;
use super::{config_path, write_out};
use anyhow::{Context, Result};
use plumbline_agent::config::{Config, MissingPlugin, Resolved};
use plumbline_agent::delivery::Delivery;
use plumbline_agent::output::{self, Format};
use plumbline_agent::register::{ScanResult, Severity};
use std::io::IsTerminal;
use std::path::PathBuf;

/// What `scan` and `run` take.
#[derive(clap::Args)]
pub struct ScanArgs {
    /// Agent config file (default: the platform's config path).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Exit with 1 when a finding at or above this severity exists
    /// (info, low, medium, high, critical); a failed plugin, a refused
    /// delivery or a config error exits with its own code all the same.
    #[arg(long, value_parser = parse_severity)]
    fail_on: Option<Severity>,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// `plumbline scan`.
pub async fn scan(args: ScanArgs) -> Result<Exit> {
    let config = Config::load(&config_path(args.config))?;
    let missing = config.missing_plugins();
    let result = scan_and_print(&config, args.format).await?;
    Ok(scan_exit(&config, &missing, &result, args.fail_on))
}

/// `plumbline run`.
pub async fn run(args: ScanArgs) -> Result<Exit> {
    let config = Config::load(&config_path(args.config.clone()))?;
    let missing = config.missing_plugins();
    // Before scanning: a site that is not enrolled fails fast.
    let delivery = Delivery::prepare(&config).map_err(|e| e.naming_config(args.config.as_deref()))?;
    let result = scan_and_print(&config, args.format).await?;
    let report = delivery.deliver(&result).await?;
    super::spool::explain(&report, delivery.spool_dir());
    if args.format == Format::Table {
        outln!("{report}")?;
    } else {
        eprintln!("{report}");
    }
    Ok(scan_exit(&config, &missing, &result, args.fail_on).and(super::spool::delivery_exit(&report)))
}

/// Run the scan and print it as `plumbline scan` does.
async fn scan_and_print(config: &Resolved, format: Format) -> Result<ScanResult> {
    let runtime =
        plumbline_agent::scan::runtime_for(config).context("starting the plugin runtime")?;
    let progress = super::progress::Display::new();
    let sink = |plugin: &str| progress.sink(plugin);
    let result = plumbline_agent::scan::run_with_progress(config, &runtime, Some(&sink)).await;
    progress.finish();
    let color = format == Format::Table && plumbline_protocol::logging::colour(std::io::stdout().is_terminal());
    write_out(&output::render(&result, format, color)?)?;
    if format != Format::Table {
        eprintln!("{}", output::summary(&result));
    }
    Ok(result)
}

/// A plugin whose file is not there (found when the config was loaded) was
/// never going to run: that is the config (a typo in plugin_dir, path or
/// the section's name), not the plugin, so it is said once, with the fix,
/// however many plugins it hides.
fn scan_exit(config: &Resolved, missing: &[MissingPlugin], result: &ScanResult, fail_on: Option<Severity>) -> Exit {
    let mut exit = match fail_on {
        Some(threshold) if result.has_finding_at_or_above(threshold) => Exit::Flagged,
        _ => Exit::Ok,
    };
    if result.plugins.iter().any(|p| p.status != "ok" && !missing.iter().any(|m| m.name == p.name)) {
        exit = exit.and(Exit::PluginFailed);
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
