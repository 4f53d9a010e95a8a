//! `release add|list`: the agent releases this collector publishes for
//! self-update (files in `DATA_DIR/releases/`; no database, no release key).

use super::Db;
use anyhow::{Context, Result};
use clap::Subcommand;
use plumbline_collector::releases::Releases;
use std::path::PathBuf;

/// Release commands.
#[derive(Subcommand)]
pub enum ReleaseCommand {
    /// Publish a release: its binary and the manifest signed for it with
    /// `plumbline release sign` (on the machine that holds the release key).
    Add {
        /// The signed manifest (JSON).
        #[arg(long)]
        manifest: PathBuf,
        /// The binary it names.
        #[arg(long)]
        binary: PathBuf,
        #[command(flatten)]
        db: Db,
    },
    /// List the releases published, newest first.
    List {
        #[command(flatten)]
        db: Db,
    },
}

/// Run one release command.
pub fn exec(command: ReleaseCommand) -> Result<()> {
    match command {
        ReleaseCommand::Add { manifest, binary, db } => {
            let releases = Releases::in_data_dir(&db.site()?.dir);
            let signed = std::fs::read(&manifest).with_context(|| format!("reading the manifest {}", manifest.display()))?;
            let m = releases.add(&signed, &binary).with_context(|| format!("adding {}", binary.display()))?;
            println!(
                "published {} {} ({}) on channel {}, sha256 {}, expires {}; agents verify its signature themselves",
                m.platform,
                m.version,
                binary.display(),
                m.channel,
                m.sha256,
                m.expires_at
            );
        }
        ReleaseCommand::List { db } => {
            let releases = Releases::in_data_dir(&db.site()?.dir);
            let found = releases.list()?;
            if found.is_empty() {
                println!("no releases in {}; add one with `plumbline-collector release add`", releases.dir().display());
            }
            for f in found {
                let m = f.manifest;
                println!("{:<16} {:<10} {:<8} {} expires {}", m.platform, m.version, m.channel, m.sha256, m.expires_at);
            }
        }
    }
    Ok(())
}
