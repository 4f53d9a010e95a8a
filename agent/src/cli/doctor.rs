//! `plumbline doctor`: where the agent keeps its things, what a plugin may
//! read, and whether the credential profiles' tokens carry the permissions
//! the plugins need.

use super::exit::Exit;
use super::{config_path, write_out};
use anyhow::{Context as _, Result};
use plumbline_agent::config::Config;
use std::path::PathBuf;

/// What `doctor` takes.
#[derive(clap::Args)]
pub struct DoctorArgs {
    /// Agent config file (default: the platform's config path, if it exists).
    #[arg(long)]
    config: Option<PathBuf>,
    /// A plugin configured in the config file.
    #[arg(long, requires = "path")]
    plugin: Option<String>,
    /// A path as the plugin would ask for it. Exits 0 when the plugin may
    /// read it, 1 when not (denied, not found, or unreadable).
    #[arg(long, requires = "plugin")]
    path: Option<String>,
    /// Fetch each credential profile's token and compare the application
    /// permissions it carries with what the configured plugins need. Exits
    /// 1 when one is missing or a token cannot be had.
    #[arg(long, conflicts_with = "plugin")]
    credentials: bool,
}

/// `plumbline doctor`.
pub async fn exec(args: DoctorArgs) -> Result<Exit> {
    let path_given = args.config.is_some();
    let config_path = config_path(args.config);
    let config = if path_given || config_path.exists() {
        Some(Config::load(&config_path)?)
    } else {
        None
    };
    write_out(&plumbline_agent::doctor::report(config.as_ref()))?;
    if args.credentials {
        let Some(config) = config else {
            anyhow::bail!("--credentials checks the profiles of a config, and {} does not exist; pass --config FILE", config_path.display());
        };
        let report = plumbline_agent::doctor::credentials::check(&config).await.context("checking the credential profiles")?;
        write_out(&report.text)?;
        return Ok(if report.problems == 0 { Exit::Ok } else { Exit::Flagged });
    }
    let (Some(plugin), Some(path)) = (args.plugin, args.path) else {
        return Ok(Exit::Ok);
    };
    let Some(config) = config else {
        anyhow::bail!(
            "--plugin and --path are answered from the plugin's config, and {} does not exist; pass --config FILE",
            config_path.display()
        );
    };
    let answer = plumbline_agent::doctor::check_path(&config, &plugin, &path).await?;
    outln!("{answer}")?;
    // Denied, not found and unreadable all mean the plugin would not get
    // the file; check_path starts its one yes with "allowed: ".
    Ok(if answer.starts_with("allowed: ") { Exit::Ok } else { Exit::Flagged })
}
