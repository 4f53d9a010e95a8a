//! `plumbline spool status|flush|requeue`: the batches waiting for the
//! collector, and the ones it refused.

use super::exit::Exit;
use super::delivery_settings;
use anyhow::Result;
use plumbline_agent::delivery::{self, push::FlushReport, spool, Requeue};
use plumbline_agent::service::state::{self, DeliveryRecord};
use plumbline_protocol::wording::count;
use std::path::{Path, PathBuf};

/// The spool's commands.
#[derive(clap::Subcommand)]
pub enum SpoolCommand {
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
    /// Move batches the collector refused back into the queue, re-signed
    /// with fresh sequence numbers (after fixing what made it refuse them,
    /// e.g. a re-enrollment). The next run or flush sends them.
    Requeue {
        /// Agent config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Every rejected batch.
        #[arg(long, conflicts_with = "sequence")]
        all: bool,
        /// The rejected batch with this sequence number.
        #[arg(required_unless_present = "all")]
        sequence: Option<u64>,
    },
}

/// Run one spool command.
pub async fn exec(command: SpoolCommand) -> Result<Exit> {
    match command {
        SpoolCommand::Status { config } => {
            let settings = delivery_settings(config)?;
            let s = spool::status(&settings.spool_dir)?;
            let range = match (s.oldest, s.newest) {
                (Some(a), Some(b)) => format!(", sequence {a} .. {b}"),
                _ => String::new(),
            };
            outln!("spool:      {}", s.dir.display())?;
            outln!("queued:     {}, {}{range}", count(s.queued, "batch"), count(s.bytes, "byte"))?;
            outln!(
                "rejected:   {} (in {})",
                s.rejected,
                s.dir.join("rejected").display()
            )?;
            outln!("last sequence: {}", s.last_sequence)?;
            outln!(
                "limits:     {}, {}",
                count(settings.spool_max_batches, "batch"),
                count(settings.spool_max_bytes, "byte")
            )?;
            match &s.last_error {
                Some(e) => outln!("last error: {} {}", e.at, e.message)?,
                None => outln!("last error: none")?,
            }
            Ok(Exit::Ok)
        }
        SpoolCommand::Flush { config } => {
            let settings = delivery_settings(config.clone())?;
            let report = delivery::flush(&settings).await.map_err(|e| e.naming_config(config.as_deref()))?;
            if let Err(e) = state::record_flush(&settings.spool_dir, DeliveryRecord::of(&report)) {
                eprintln!("plumbline: warning: {e}; `plumbline status` shows the delivery before this one");
            }
            explain(&report, &settings.spool_dir);
            outln!("{report}")?;
            let queued = if report.queued == 0 { Exit::Ok } else { Exit::Flagged };
            Ok(queued.and(delivery_exit(&report)))
        }
        SpoolCommand::Requeue {
            config,
            all,
            sequence,
        } => {
            let settings = delivery_settings(config.clone())?;
            let which = match (all, sequence) {
                (true, _) => Requeue::All,
                (false, Some(seq)) => Requeue::One(seq),
                (false, None) => {
                    anyhow::bail!("name a rejected batch's sequence number, or pass --all")
                }
            };
            let moved = delivery::requeue(&settings, which).map_err(|e| e.naming_config(config.as_deref()))?;
            for (from, to) in &moved {
                outln!("requeued rejected batch {from} as batch {to}")?;
            }
            outln!(
                "{} requeued; `plumbline spool flush` sends {}",
                count(moved.len(), "batch"),
                if moved.len() == 1 { "it" } else { "them" }
            )?;
            Ok(Exit::Ok)
        }
    }
}

/// A batch the collector refused for good is a failed delivery, even when
/// the others went through: no retry will send it. Still queued is not.
pub fn delivery_exit(report: &FlushReport) -> Exit {
    if report.rejected.is_empty() {
        Exit::Ok
    } else {
        Exit::DeliveryRefused
    }
}

/// Warnings for what a flush did and left behind.
pub fn explain(report: &FlushReport, spool_dir: &Path) {
    for r in &report.renumbered {
        eprintln!(
            "plumbline: warning: the collector had already accepted sequence {} from this agent, so batch {} was \
             re-signed as batch {} and sent again; this agent's sequence counter ({}) had gone back, e.g. restored \
             from an old backup",
            r.collector_last,
            r.from,
            r.to,
            spool_dir.join("sequence").display()
        );
    }
    for r in &report.rejected {
        eprintln!(
            "plumbline: warning: the collector refused batch {} for good ({}: {}); it was moved to {}; once the cause \
             is fixed, `plumbline spool requeue {}` sends it again",
            r.sequence,
            r.error,
            r.message,
            spool_dir.join("rejected").display(),
            r.sequence
        );
    }
    if let Some(e) = &report.error {
        eprintln!(
            "plumbline: warning: {e}; {} still queued in {}, for the next run or `plumbline spool flush`",
            count(report.queued, "batch"),
            spool_dir.display()
        );
    }
}
