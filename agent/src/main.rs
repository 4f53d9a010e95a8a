//! `plumbline`: the site agent's command line.
//!
//! Exit codes, for RMM scripts: 0 the command ran; 1 a finding at or above
//! `--fail-on` exists; 2 a configuration or runtime error.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use plumbline_agent::config::{default_paths, Config};
use plumbline_agent::output::{self, Format};
use plumbline_agent::register::Severity;
use plumbline_agent::{runtime, scan};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "plumbline", version, about = "Find, own and fix every Office 365 connector at a client site")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every configured plugin once and print the connector register.
    Scan {
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
    },
    /// Inspect plugins.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// List the plugins in the plugin directory.
    List {
        /// Agent config file; its plugin_dir is listed.
        #[arg(long)]
        config: Option<PathBuf>,
        /// List this directory instead.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Show one plugin's identity and the capabilities it asks for.
    Inspect {
        /// The component file.
        file: PathBuf,
    },
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("plumbline: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("plumbline: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PLUMBLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
}

fn config_path(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| default_paths().config)
}

async fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan { config, format, fail_on } => {
            let config = Config::load(&config_path(config))?;
            let runtime = scan::runtime_for(&config).context("starting the plugin runtime")?;
            let result = scan::run(&config, &runtime).await;
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
            Ok(match fail_on {
                Some(threshold) if result.has_finding_at_or_above(threshold) => 1,
                _ => 0,
            })
        }
        Command::Plugins { command: PluginsCommand::List { config, dir } } => {
            let (dir, cache) = match dir {
                Some(d) => (d, None),
                None => {
                    let c = Config::load(&config_path(config))?;
                    (c.plugin_dir.clone(), Some(c.cache_dir.clone()))
                }
            };
            let runtime = plugin_runtime(cache.as_deref())?;
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| format!("reading plugin directory {}", dir.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
                .collect();
            files.sort();
            println!("{:<24} {:<10} {:<16} FILE", "NAME", "VERSION", "SHA256");
            for f in files {
                match describe(&runtime, &f).await {
                    Ok((d, sha)) => println!(
                        "{:<24} {:<10} {:<16} {}",
                        d.name,
                        d.version,
                        &sha[..16],
                        f.display()
                    ),
                    Err(e) => println!("{:<24} {:<10} {:<16} {} ({e})", "?", "?", "-", f.display()),
                }
            }
            Ok(0)
        }
        Command::Plugins { command: PluginsCommand::Inspect { file } } => {
            let runtime = plugin_runtime(None)?;
            let (d, sha) = describe(&runtime, &file).await?;
            println!("name:        {}", d.name);
            println!("version:     {}", d.version);
            println!("description: {}", d.description);
            println!("sha256:      {sha}");
            println!("categories:  {}", d.categories.join(", "));
            println!("asks for:");
            let none = |v: bool| if v { "  (nothing)" } else { "" };
            println!("  http hosts:{}", none(d.declared.http_hosts.is_empty()));
            for h in &d.declared.http_hosts {
                println!("    {h}");
            }
            println!("  tcp targets:{}", none(d.declared.tcp_targets.is_empty()));
            for (h, ports) in &d.declared.tcp_targets {
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                println!("    {h} ports {}", ports.join(","));
            }
            println!("  file directories:{}", none(d.declared.file_dirs.is_empty()));
            for f in &d.declared.file_dirs {
                println!("    {f}");
            }
            Ok(0)
        }
    }
}

fn plugin_runtime(cache: Option<&std::path::Path>) -> Result<runtime::Runtime> {
    let empty: Config = toml::from_str("tenant_id = \"-\"\nsite_id = \"-\"")?;
    let net = std::sync::Arc::new(plumbline_agent::capabilities::Network::from_config(&empty)?);
    runtime::Runtime::new(cache, net)
}

async fn describe(runtime: &runtime::Runtime, file: &std::path::Path) -> Result<(runtime::Description, String)> {
    let loaded = runtime.load(file)?;
    let d = runtime.describe(&loaded).await?;
    Ok((d, loaded.sha256))
}
