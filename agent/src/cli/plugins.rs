//! `plumbline plugins list|inspect`: what a plugin is and what it asks for.

use super::exit::Exit;
use super::config_path;
use anyhow::{Context, Result};
use plumbline_agent::config::Config;
use plumbline_agent::runtime;
use std::path::{Path, PathBuf};

/// The plugin commands.
#[derive(clap::Subcommand)]
pub enum PluginsCommand {
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

/// Run one plugin command.
pub async fn exec(command: PluginsCommand) -> Result<Exit> {
    match command {
        PluginsCommand::List { config, dir } => list(config, dir).await,
        PluginsCommand::Inspect { file } => inspect(&file).await,
    }
}

async fn list(config: Option<PathBuf>, dir: Option<PathBuf>) -> Result<Exit> {
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
    outln!("{:<24} {:<10} {:<16} FILE", "NAME", "VERSION", "SHA256")?;
    for f in files {
        match describe(&runtime, &f).await {
            Ok((d, sha)) => outln!(
                "{:<24} {:<10} {:<16} {}",
                d.name,
                d.version,
                &sha[..16],
                f.display()
            )?,
            Err(e) => outln!("{:<24} {:<10} {:<16} {} ({e})", "?", "?", "-", f.display())?,
        }
    }
    Ok(Exit::Ok)
}

async fn inspect(file: &Path) -> Result<Exit> {
    let runtime = plugin_runtime(None)?;
    let (d, sha) = describe(&runtime, file).await?;
    outln!("name:        {}", d.name)?;
    outln!("version:     {}", d.version)?;
    outln!("description: {}", d.description)?;
    outln!("sha256:      {sha}")?;
    outln!("categories:  {}", d.categories.join(", "))?;
    outln!("asks for:")?;
    let none = |v: bool| if v { "  (nothing)" } else { "" };
    outln!("  http hosts:{}", none(d.declared.http_hosts.is_empty()))?;
    for h in &d.declared.http_hosts {
        outln!("    {h}")?;
    }
    outln!("  tcp targets:{}", none(d.declared.tcp_targets.is_empty()))?;
    for (h, ports) in &d.declared.tcp_targets {
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        outln!("    {h} ports {}", ports.join(","))?;
    }
    outln!(
        "  file directories:{}",
        none(d.declared.file_dirs.is_empty())
    )?;
    for f in &d.declared.file_dirs {
        outln!("    {f}")?;
    }
    Ok(Exit::Ok)
}

fn plugin_runtime(cache: Option<&Path>) -> Result<runtime::Runtime> {
    let empty: Config = toml::from_str("tenant_id = \"-\"\nsite_id = \"-\"")?;
    let net = std::sync::Arc::new(plumbline_agent::capabilities::Network::from_config(&empty)?);
    runtime::Runtime::new(cache, net)
}

async fn describe(
    runtime: &runtime::Runtime,
    file: &Path,
) -> Result<(runtime::Description, String)> {
    let loaded = runtime.load(file)?;
    let d = runtime.describe(&loaded).await?;
    Ok((d, loaded.sha256))
}
