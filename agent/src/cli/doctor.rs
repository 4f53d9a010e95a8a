//! `plumbline doctor`: where the agent keeps its things, and what a plugin
//! may read.

use super::config_path;
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
    /// A path as the plugin would ask for it.
    #[arg(long, requires = "plugin")]
    path: Option<String>,
}

/// `plumbline doctor`.
pub async fn exec(args: DoctorArgs) -> Result<u8> {
    let path_given = args.config.is_some();
    let config_path = config_path(args.config);
    let config = if path_given || config_path.exists() {
        Some(Config::load(&config_path)?)
    } else {
        None
    };
    print!("{}", plumbline_agent::doctor::report(config.as_ref()));
    if let (Some(plugin), Some(path), Some(config)) = (args.plugin, args.path, config.as_ref()) {
        println!(
            "{}",
            plumbline_agent::doctor::check_path(config, &plugin, &path).await?
        );
    }
    Ok(0)
}
