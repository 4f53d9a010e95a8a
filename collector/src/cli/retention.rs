//! `retention prune`: prune now what `[retention]` in the config file says
//! is old enough (`serve` does the same every hour).

use super::Db;
use anyhow::Result;
use clap::Subcommand;
use plumbline_collector::store::retention::Cutoffs;

/// Retention commands.
#[derive(Subcommand)]
pub enum RetentionCommand {
    /// Prune envelopes and history older than [retention] in the config file
    /// allows, keeping what the current register needs; prints counts per kind.
    Prune {
        /// Count what would be pruned, and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        db: Db,
    },
}

/// Run one retention command.
pub async fn exec(command: RetentionCommand) -> Result<()> {
    let RetentionCommand::Prune { dry_run, db } = command;
    let site = db.site()?;
    let retention = site.file().map(|(_, f)| f.retention.clone()).unwrap_or_default();
    if !retention.prunes() {
        let file = match site.file() {
            Some((path, _)) => format!("the config file {}", path.display()),
            None => "no config file was read (--config, PLUMBLINE_COLLECTOR_CONFIG)".into(),
        };
        anyhow::bail!(
            "nothing to prune: {file} has no [retention], so everything is kept; add e.g. [retention] with \
             envelopes = \"400d\" and history = \"3y\""
        );
    }
    let store = site.open().await?;
    let cutoffs = retention.cutoffs(&plumbline_collector::timestamp::now()).map_err(anyhow::Error::msg)?;
    let pruned = store.prune(&cutoffs, dry_run).await?;
    let Cutoffs { envelopes_before, history_before } = &cutoffs;
    let verb = if dry_run { "would prune" } else { "pruned" };
    let since = |before: &Option<String>| match before {
        Some(at) => format!("before {at}"),
        None => "kept for ever".into(),
    };
    println!("{verb}{}", if dry_run { " (dry run: nothing changed)" } else { "" });
    println!("envelopes       {:>8}  ({})", pruned.envelopes, since(envelopes_before));
    println!("history         {:>8}  ({})", pruned.history, since(history_before));
    println!("finding events  {:>8}  ({})", pruned.finding_events, since(history_before));
    Ok(())
}
