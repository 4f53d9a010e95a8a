//! `plumbline scan` and `plumbline run`: the scan, and the scan delivered.

use super::config_path;
use anyhow::{Context, Result};
use plumbline_agent::config::{Config, Resolved};
use plumbline_agent::delivery::Delivery;
use plumbline_agent::output::{self, Format};
use plumbline_agent::register::{ScanResult, Severity};
use std::io::{IsTerminal, Write};
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
    /// (info, low, medium, high, critical).
    #[arg(long, value_parser = parse_severity)]
    fail_on: Option<Severity>,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// `plumbline scan`.
pub async fn scan(args: ScanArgs) -> Result<u8> {
    let config = Config::load(&config_path(args.config))?;
    let result = scan_and_print(&config, args.format).await?;
    Ok(fail_code(&result, args.fail_on))
}

/// `plumbline run`.
pub async fn run(args: ScanArgs) -> Result<u8> {
    let config = Config::load(&config_path(args.config))?;
    // Before scanning: a site that is not enrolled fails fast.
    let delivery = Delivery::prepare(&config)?;
    let result = scan_and_print(&config, args.format).await?;
    let report = delivery.deliver(&result).await?;
    super::spool::explain(&report, delivery.spool_dir());
    if args.format == Format::Table {
        println!("{report}");
    } else {
        eprintln!("{report}");
    }
    Ok(fail_code(&result, args.fail_on))
}

/// Run the scan and print it as `plumbline scan` does.
async fn scan_and_print(config: &Resolved, format: Format) -> Result<ScanResult> {
    let runtime =
        plumbline_agent::scan::runtime_for(config).context("starting the plugin runtime")?;
    let result = plumbline_agent::scan::run(config, &runtime).await;
    let color = format == Format::Table
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let text = output::render(&result, format, color)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    if format != Format::Table {
        eprintln!("{}", output::summary(&result));
    }
    Ok(result)
}

fn fail_code(result: &ScanResult, fail_on: Option<Severity>) -> u8 {
    match fail_on {
        Some(threshold) if result.has_finding_at_or_above(threshold) => 1,
        _ => 0,
    }
}
