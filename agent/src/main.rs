//! `plumbline`: the site agent's command line.
//!
//! Exit codes, for RMM scripts: 0 the command ran; 1 a finding at or above
//! `--fail-on` exists (`scan`, `run`), batches are still queued after
//! `spool flush`, or `verify` found the envelope invalid; 2 a configuration
//! or runtime error. A collector that is down does not change `run`'s exit
//! code: the batch waits in the spool.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use plumbline_agent::config::{default_paths, parse_collector_url, Config, DeliverySettings, Resolved};
use plumbline_agent::delivery::{self, enrollment, push::FlushReport, spool, verify, Delivery};
use plumbline_agent::output::{self, Format};
use plumbline_agent::register::{ScanResult, Severity};
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
    /// Scan exactly like `scan`, print the register, then sign the result,
    /// write it to the spool and deliver the spool to the collector.
    Run {
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
    /// Make this agent's key pair and register it with the collector.
    Enroll {
        /// The collector's base URL, e.g. https://collector.msp.example
        #[arg(long)]
        collector: String,
        /// The site's single-use enrollment token.
        #[arg(long)]
        token: String,
        /// Agent config file; its [delivery] section says where the key goes
        /// (default: the platform's config path, if it exists).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Replace an existing key (the collector will see a new agent).
        #[arg(long)]
        force: bool,
    },
    /// Inspect or push the batches waiting for the collector.
    Spool {
        #[command(subcommand)]
        command: SpoolCommand,
    },
    /// Check a stored batch envelope against an agent's public key, offline.
    Verify {
        /// The envelope file (a spooled or collector-stored batch).
        file: PathBuf,
        /// The agent's public key: a PEM file (agent.pub), or the raw key in
        /// base64.
        #[arg(long)]
        key: String,
    },
    /// Show where the agent keeps its things and who may touch them; with
    /// --plugin and --path, say whether that plugin may read that path.
    Doctor {
        /// Agent config file (default: the platform's config path, if it exists).
        #[arg(long)]
        config: Option<PathBuf>,
        /// A plugin configured in the config file.
        #[arg(long, requires = "path")]
        plugin: Option<String>,
        /// A path as the plugin would ask for it.
        #[arg(long, requires = "plugin")]
        path: Option<String>,
    },
    /// Inspect plugins.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
}

#[derive(Subcommand)]
enum SpoolCommand {
    /// How many batches wait, their sequence numbers, and the last error.
    Status {
        /// Agent config file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Push every waiting batch now.
    Flush {
        /// Agent config file.
        #[arg(long)]
        config: Option<PathBuf>,
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
    console_utf8();
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

/// Windows consoles default to an OEM code page; switch this console to
/// UTF-8 so connector names and the register survive. Pipes (RMM consoles)
/// get UTF-8 bytes either way.
fn console_utf8() {
    #[cfg(windows)]
    // SAFETY: no preconditions; failure (no console) is harmless.
    unsafe {
        windows_sys::Win32::System::Console::SetConsoleOutputCP(65001);
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
            let result = scan_and_print(&config, format).await?;
            Ok(fail_code(&result, fail_on))
        }
        Command::Run { config, format, fail_on } => {
            let config = Config::load(&config_path(config))?;
            // Before scanning: a site that is not enrolled fails fast.
            let delivery = Delivery::prepare(&config)?;
            let result = scan_and_print(&config, format).await?;
            let report = delivery.deliver(&result).await?;
            explain(&report, delivery.spool_dir());
            if format == Format::Table {
                println!("{report}");
            } else {
                eprintln!("{report}");
            }
            Ok(fail_code(&result, fail_on))
        }
        Command::Enroll { collector, token, config, force } => {
            let settings = delivery_settings(config.clone())?;
            let url = parse_collector_url(&collector).map_err(|e| anyhow::anyhow!("--collector: {e}"))?;
            let done = enrollment::enroll(&settings, &url, &token, force).await?;
            let e = &done.enrollment;
            if let Some(old) = &done.replaced {
                println!("replaced the key of agent {old}");
            }
            println!("enrolled agent {} for tenant {}, site {}, at {}", e.agent_id, e.tenant_id, e.site_id, e.collector_url);
            println!("private key: {} (readable only by this account)", done.key_file.display());
            println!("public key:  {} (give it to auditors for `plumbline verify`)", done.public_key_file.display());
            if let Some(cfg) = loaded_config(config)? {
                if (cfg.config.tenant_id.as_str(), cfg.config.site_id.as_str()) != (e.tenant_id.as_str(), e.site_id.as_str()) {
                    eprintln!(
                        "plumbline: warning: {} says tenant_id = {:?}, site_id = {:?}, but the token was for tenant {:?} site {:?}; \
                         fix the config before `plumbline run`, or the collector will refuse the batches",
                        cfg.source.display(),
                        cfg.config.tenant_id,
                        cfg.config.site_id,
                        e.tenant_id,
                        e.site_id
                    );
                }
            }
            Ok(0)
        }
        Command::Spool { command: SpoolCommand::Status { config } } => {
            let settings = delivery_settings(config)?;
            let s = spool::status(&settings.spool_dir)?;
            let range = match (s.oldest, s.newest) {
                (Some(a), Some(b)) => format!(", sequence {a} .. {b}"),
                _ => String::new(),
            };
            println!("spool:      {}", s.dir.display());
            println!("queued:     {} batches, {} bytes{range}", s.queued, s.bytes);
            println!("rejected:   {} (in {})", s.rejected, s.dir.join("rejected").display());
            println!("last sequence: {}", s.last_sequence);
            println!("limits:     {} batches, {} bytes", settings.spool_max_batches, settings.spool_max_bytes);
            match &s.last_error {
                Some(e) => println!("last error: {} {}", e.at, e.message),
                None => println!("last error: none"),
            }
            Ok(0)
        }
        Command::Spool { command: SpoolCommand::Flush { config } } => {
            let settings = delivery_settings(config)?;
            let report = delivery::flush(&settings).await?;
            explain(&report, &settings.spool_dir);
            println!("{report}");
            Ok(if report.queued == 0 { 0 } else { 1 })
        }
        Command::Verify { file, key } => {
            let key_text = match std::fs::read_to_string(&key) {
                Ok(text) => text,
                Err(_) if !std::path::Path::new(&key).exists() => key.clone(),
                Err(e) => return Err(anyhow::anyhow!("reading the public key {key}: {e}")),
            };
            let public = plumbline_protocol::identity::parse_public_key(&key_text)
                .map_err(|e| anyhow::anyhow!("--key {key}: {e}"))?;
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            match verify::verify_envelope(&bytes, &public) {
                Ok(v) => {
                    print_verified(&v);
                    Ok(0)
                }
                Err(e) => {
                    println!("INVALID: {}: {e}", file.display());
                    Ok(1)
                }
            }
        }
        Command::Doctor { config, plugin, path } => {
            let path_given = config.is_some();
            let config_path = config_path(config);
            let config = if path_given || config_path.exists() {
                Some(Config::load(&config_path)?)
            } else {
                None
            };
            print!("{}", plumbline_agent::doctor::report(config.as_ref()));
            if let (Some(plugin), Some(path), Some(config)) = (plugin, path, config.as_ref()) {
                println!("{}", plumbline_agent::doctor::check_path(config, &plugin, &path).await?);
            }
            Ok(0)
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

/// Run the scan and print it as `plumbline scan` does.
async fn scan_and_print(config: &Resolved, format: Format) -> Result<ScanResult> {
    let runtime = scan::runtime_for(config).context("starting the plugin runtime")?;
    let result = scan::run(config, &runtime).await;
    let color = format == Format::Table && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
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

/// The config, when one was given or the default one exists.
fn loaded_config(given: Option<PathBuf>) -> Result<Option<Resolved>> {
    let path = config_path(given.clone());
    if given.is_none() && !path.exists() {
        return Ok(None);
    }
    Ok(Some(Config::load(&path)?))
}

/// `[delivery]` from the config, or the platform defaults when no config
/// was given and the default one does not exist (enrolling a fresh site).
fn delivery_settings(given: Option<PathBuf>) -> Result<DeliverySettings> {
    Ok(loaded_config(given)?.map(|c| c.delivery).unwrap_or_else(DeliverySettings::defaults))
}

/// Warnings for what a flush left behind.
fn explain(report: &FlushReport, spool_dir: &std::path::Path) {
    for r in &report.rejected {
        eprintln!(
            "plumbline: warning: the collector refused batch {} for good ({}: {}); it was moved to {}",
            r.sequence,
            r.error,
            r.message,
            spool_dir.join("rejected").display()
        );
    }
    if let Some(e) = &report.error {
        eprintln!(
            "plumbline: warning: {e}; {} batch(es) stay queued in {} and go with the next run or `plumbline spool flush`",
            report.queued,
            spool_dir.display()
        );
    }
}

fn print_verified(v: &verify::Verified) {
    let b = &v.batch;
    println!("VALID: signed by agent {}", v.agent_id);
    println!("tenant:     {}", b.tenant_id);
    println!("site:       {}", b.site_id);
    println!("sequence:   {}", b.sequence);
    println!("scan:       {} .. {}", b.scan_started_at, b.scan_finished_at);
    println!("digest:     {}", v.digest);
    println!("plugins:{}", if b.plugins.is_empty() { "    (none)" } else { "" });
    for p in &b.plugins {
        println!(
            "  {} {} {} sha256 {}",
            p.name,
            p.version.as_deref().unwrap_or("-"),
            p.status,
            p.sha256.as_deref().unwrap_or("-")
        );
    }
    let by_severity: Vec<String> = plumbline_agent::register::Severity::ALL
        .into_iter()
        .rev()
        .map(|s| format!("{} {}", b.findings.iter().filter(|f| f.severity == s).count(), s.as_str()))
        .collect();
    println!("connectors: {}", b.connectors.len());
    println!("findings:   {} ({})", b.findings.len(), by_severity.join(", "));
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
