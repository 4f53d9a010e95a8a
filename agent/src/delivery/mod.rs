//! Delivery: each scan is signed as a DSSE batch, written to the spool (a
//! ledger on disk), and pushed to the MSP's collector, oldest first, until
//! the collector acknowledges it.
//!
//! - [`keys`] and [`enrollment`]: `plumbline enroll`, the agent's Ed25519
//!   key and what the collector said about it.
//! - [`batch`]: a scan result as a signed [`ScanBatch`](plumbline_protocol::batch::ScanBatch).
//! - [`spool`]: the ledger; its header states the invariants.
//! - [`push`]: pushing the spool with capped exponential backoff.
//! - [`client`]: the HTTPS client for the collector.
//! - [`verify`]: offline verification of a stored envelope, for auditors.
//!
//! Running plugins never pushes anything: `plumbline run` scans, prints,
//! and then hands the result to [`Delivery::deliver`].

pub mod batch;
pub mod client;
pub mod enrollment;
pub mod keys;
pub mod limits;
mod lock;
pub mod parts;
pub mod push;
pub mod spool;
pub mod trust;
pub mod verify;

use crate::config::{DeliverySettings, Resolved};
use crate::register::ScanResult;
use client::Collector;
use enrollment::Enrollment;
use plumbline_protocol::batch::ScanBatch;
use plumbline_protocol::identity::AgentKey;
use push::FlushReport;
use spool::{Spool, SpoolLimits};
use std::path::PathBuf;

/// Why delivery could not do its job. Collector outages are not errors:
/// they leave batches queued and show in the [`FlushReport`].
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// No key yet.
    #[error("this agent is not enrolled: {missing} does not exist; run `{}` first", enroll_command(.config))]
    NotEnrolled {
        /// The file that is missing.
        missing: PathBuf,
        /// The config file the command was given, for the `enroll` to run.
        config: Option<PathBuf>,
    },
    /// `enroll` without `--force` over an existing key.
    #[error("already enrolled as {agent_id} (key {key_file}); pass --force to replace the key (the collector will see a new agent)")]
    AlreadyEnrolled {
        /// The existing key.
        key_file: PathBuf,
        /// Its agent id.
        agent_id: String,
    },
    /// The key file is unusable.
    #[error("agent key {path}: {message}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Enrollment failed, or what it saved does not fit this agent.
    #[error("{0}")]
    Enrollment(String),
    /// No collector URL in the config or the enrollment.
    #[error("no collector is known: set [delivery] collector_url in the config, or run `{}`", enroll_command(.config))]
    NoCollector {
        /// The config file the command was given, for the `enroll` to run.
        config: Option<PathBuf>,
    },
    /// The collector could not be reached or answered nonsense (enrollment).
    #[error("collector {url}: {message}")]
    Collector {
        /// The endpoint.
        url: String,
        /// What happened.
        message: String,
    },
    /// `collector_ca_file` is unusable.
    #[error("[delivery] collector_ca_file {path}: {message}")]
    CaFile {
        /// The CA file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another plumbline process holds the spool.
    #[error("the spool {dir} is in use by another plumbline process{holder}; try again when it has finished")]
    SpoolBusy {
        /// The spool directory.
        dir: PathBuf,
        /// ` (pid N)` when known.
        holder: String,
    },
    /// A spool file that must be intact is not.
    #[error("spool file {path} is damaged: {message}")]
    SpoolDamaged {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// `spool requeue` cannot do what was asked.
    #[error("{0}")]
    Requeue(String),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl DeliveryError {
    /// The same error, its `plumbline enroll` hint naming `config`: the
    /// command that failed was given `--config`, so the fix needs it too.
    pub fn naming_config(self, config: Option<&std::path::Path>) -> Self {
        let given = config.map(std::path::Path::to_path_buf);
        match self {
            DeliveryError::NotEnrolled { missing, .. } => DeliveryError::NotEnrolled { missing, config: given },
            DeliveryError::NoCollector { .. } => DeliveryError::NoCollector { config: given },
            other => other,
        }
    }

    /// An I/O error while doing `what`.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DeliveryError {
        let what = what.into();
        move |source| DeliveryError::Io { what, source }
    }
}

/// `plumbline enroll` as the operator would type it, with `--config` when
/// the failing command had one.
fn enroll_command(config: &Option<PathBuf>) -> String {
    let mut command = "plumbline enroll --collector URL --token TOKEN".to_string();
    if let Some(path) = config {
        let path = path.display().to_string();
        match path.contains(char::is_whitespace) {
            true => command.push_str(&format!(" --config \"{path}\"")),
            false => command.push_str(&format!(" --config {path}")),
        }
    }
    command
}

/// An enrolled agent, ready to sign and deliver scans.
pub struct Delivery {
    settings: DeliverySettings,
    key: AgentKey,
    enrollment: Enrollment,
    collector: Collector,
}

impl Delivery {
    /// Load the key and enrollment for `config` and check that they belong
    /// together and to this tenant. Done before scanning, so a site that is
    /// not enrolled fails fast.
    pub fn prepare(config: &Resolved) -> Result<Self, DeliveryError> {
        let settings = config.delivery.clone();
        let key = keys::load(&settings.key_file)?;
        let enrollment = Enrollment::load(&settings.enrollment_file())?.ok_or_else(|| DeliveryError::NotEnrolled {
            missing: settings.enrollment_file(),
            config: None,
        })?;
        if enrollment.agent_id != key.agent_id() {
            return Err(DeliveryError::Enrollment(format!(
                "{} is for agent {}, but the key {} is agent {}; enroll again with --force",
                settings.enrollment_file().display(),
                enrollment.agent_id,
                settings.key_file.display(),
                key.agent_id()
            )));
        }
        // The collector refuses a batch whose tenant or site is not the one
        // the agent was enrolled for: say so now, not once per batch.
        if enrollment.tenant_id != config.config.tenant_id || enrollment.site_id != config.config.site_id {
            return Err(DeliveryError::Enrollment(format!(
                "this agent is enrolled for tenant {:?} site {:?}, but {} says tenant_id = {:?}, site_id = {:?}; \
                 the collector would refuse every batch. Fix the config, or enroll again (--force) with a token for this site",
                enrollment.tenant_id,
                enrollment.site_id,
                config.source.display(),
                config.config.tenant_id,
                config.config.site_id
            )));
        }
        let url = collector_url(&settings, Some(&enrollment))?;
        let collector = Collector::new(url, &settings.trust())?;
        Ok(Delivery { settings, key, enrollment, collector })
    }

    /// This agent's id.
    pub fn agent_id(&self) -> &str {
        &self.enrollment.agent_id
    }

    /// The agent's key, which also signs its requests for policy and plugins.
    pub fn key(&self) -> &AgentKey {
        &self.key
    }

    /// What the collector said at enrollment (with the policy key pinned then).
    pub fn enrollment(&self) -> &Enrollment {
        &self.enrollment
    }

    /// The collector, as delivery reaches it.
    pub fn collector(&self) -> &Collector {
        &self.collector
    }

    /// Where batches wait.
    pub fn spool_dir(&self) -> &std::path::Path {
        &self.settings.spool_dir
    }

    /// Sign `result` as the next batch, write it to the spool, then push the
    /// whole spool, oldest first. The batch is on disk before any push.
    pub async fn deliver(&self, result: &ScanResult) -> Result<FlushReport, DeliveryError> {
        let sequence = self.spool_batch(result)?;
        let mut report = self.flush_queued().await?;
        report.spooled = Some(sequence);
        Ok(report)
    }

    /// Sign `result` as the next batch and write it to the spool, durably;
    /// its sequence number. A scan over `[delivery] max_batch_bytes` becomes
    /// several batches, one per part ([`parts`]): the last one's number.
    /// Nothing is pushed.
    pub fn spool_batch(&self, result: &ScanResult) -> Result<u64, DeliveryError> {
        let mut spool = Spool::open(&self.settings.spool_dir, limits_of(&self.settings))?;
        let parts = parts::split(batch::build(result, &self.key.agent_id(), 0), self.settings.max_batch_bytes);
        let count = parts.len();
        let mut sequence = 0;
        for part in parts {
            sequence = spool.append(|sequence| batch::to_json(&batch::sign(&ScanBatch { sequence, ..part }, &self.key)))?;
        }
        match count {
            1 => tracing::info!(sequence, "batch signed and spooled"),
            n => tracing::info!(sequence, "the scan is over [delivery] max_batch_bytes: signed and spooled in {n} parts"),
        }
        Ok(sequence)
    }

    /// Push the whole spool, oldest first. Dropping the future part way
    /// (a stop request) is safe: the spool is only changed between awaits,
    /// and a batch the collector stored but did not get to acknowledge is
    /// sent again and recognised as a duplicate (see [`spool`]).
    pub async fn flush_queued(&self) -> Result<FlushReport, DeliveryError> {
        push::flush(&self.settings.spool_dir, limits_of(&self.settings), &self.collector, self.settings.retry, Some(&self.key))
            .await
    }
}

/// Push everything in the spool (`plumbline spool flush`). The batches are
/// signed already; the key, when this account can read it, is used only to
/// re-number a batch the collector has seen the number of (see [`push`]).
pub async fn flush(settings: &DeliverySettings) -> Result<FlushReport, DeliveryError> {
    let enrollment = Enrollment::load(&settings.enrollment_file())?;
    let collector = Collector::new(collector_url(settings, enrollment.as_ref())?, &settings.trust())?;
    let key = keys::load(&settings.key_file).ok();
    push::flush(&settings.spool_dir, limits_of(settings), &collector, settings.retry, key.as_ref()).await
}

/// Which rejected batches `plumbline spool requeue` sends again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// Every batch in `rejected/`.
    All,
    /// The rejected batch with this sequence number.
    One(u64),
}

/// Move rejected batches back into the queue, each re-signed under a fresh
/// sequence number (the collector refuses a number it has seen), oldest
/// first. Needs the key. Returns what moved, `(old, new)`.
pub fn requeue(settings: &DeliverySettings, which: Requeue) -> Result<Vec<(u64, u64)>, DeliveryError> {
    let key = keys::load(&settings.key_file)?;
    let mut spool = Spool::open(&settings.spool_dir, limits_of(settings))?;
    let rejected = spool.rejected()?;
    let chosen: Vec<_> = match which {
        Requeue::All => rejected,
        Requeue::One(seq) => {
            let found: Vec<_> = rejected.iter().filter(|b| b.sequence == seq).cloned().collect();
            if found.is_empty() {
                let have: Vec<String> = rejected.iter().map(|b| b.sequence.to_string()).collect();
                return Err(DeliveryError::Requeue(format!(
                    "no rejected batch has sequence {seq}; rejected: {} (see `plumbline spool status`)",
                    if have.is_empty() { "none".to_string() } else { have.join(", ") }
                )));
            }
            found
        }
    };
    let mut moved = Vec::new();
    for batch in chosen {
        let body = spool.read(&batch)?;
        let resign = batch::resign(&body, &key)
            .map_err(|why| DeliveryError::Requeue(format!("{}: {why}", batch.path.display())))?;
        let queued = spool.renumber(&batch, 0, resign)?;
        moved.push((batch.sequence, queued.sequence));
    }
    Ok(moved)
}

/// The spool's bounds from the settings.
pub fn limits_of(settings: &DeliverySettings) -> SpoolLimits {
    SpoolLimits {
        max_batches: settings.spool_max_batches,
        max_bytes: settings.spool_max_bytes,
    }
}

/// The config's collector URL, else the one enrolled with.
fn collector_url(settings: &DeliverySettings, enrollment: Option<&Enrollment>) -> Result<url::Url, DeliveryError> {
    if let Some(u) = &settings.collector_url {
        return Ok(u.clone());
    }
    let e = enrollment.ok_or(DeliveryError::NoCollector { config: None })?;
    crate::config::parse_collector_url(&e.collector_url).map_err(|m| {
        DeliveryError::Enrollment(format!("{}: collector_url: {m}", settings.enrollment_file().display()))
    })
}
