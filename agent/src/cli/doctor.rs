//! `plumbline doctor`: where the agent keeps its things, and what a plugin
//! may read.

use super::exit::Exit;
use super::{config_path, write_out};
use anyhow::Result;
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
