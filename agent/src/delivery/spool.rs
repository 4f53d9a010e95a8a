//! The spool: a ledger of signed batches waiting for the collector.
//!
//! # On disk
//!
//! ```text
//! SPOOL_DIR/                      private to the agent's account (0700)
//!   spool.lock                    advisory lock while the spool changes; the holder's pid
//!   flush.lock                    advisory lock while a flush pushes
//!   sequence                      last sequence number handed out: "42\n"
//!   batch-00000000000000000042.json
//!                                 a DSSE envelope (JSON), byte for byte what
//!                                 is pushed; 20 digits, so name order is
//!                                 sequence order
//!   last-error.json               {"at", "message"}: why the last flush
//!                                 stopped; removed by a flush that empties
//!                                 the queue
//!   rejected/batch-<seq>.json     a batch the collector refused for good
//!   rejected/batch-<seq>.reason.json
//!                                 {"sequence", "rejected_at", "status",
//!                                 "error", "message"}: why
//!   *.tmp                         a write in progress (or cut short by a crash)
//!   scan.lock                     held for a whole scan and its delivery, so two
//!                                 scans never run at once (`service::lock`)
//!   last-run.json                 the last run in brief, for `plumbline status`
//!                                 (`service::state`)
//! ```
//!
//! Every file is written the same way: `NAME.tmp` (mode 0600), fsync, rename
//! to `NAME`, fsync the directory. A reader sees the old file or the whole
//! new one, never part of one.
//!
//! # Invariants
//!
//! 1. One process at a time changes the spool: under `spool.lock` (an OS
//!    lock released even when the holder is killed), held for an append or
//!    for one batch's step of a flush, never across a push, so a scan never
//!    waits for a slow collector to spool its batch. One process at a time
//!    pushes: under `flush.lock`, held for the whole flush.
//! 2. A sequence number is used at most once. The counter in `sequence` is
//!    advanced, durably, BEFORE the batch that carries the new number is
//!    signed and written. A crash in between skips a number; nothing can
//!    hand the same number out twice. (If `sequence` were lost, the next
//!    number still starts above every batch left in the spool.)
//! 3. A batch is durable BEFORE any push: `append` returns only after the
//!    batch file and its directory entry are fsynced.
//! 4. Order: batches are pushed in sequence order, oldest first, and a flush
//!    stops at the first batch that can still go later (collector down or
//!    busy), so the collector never sees a newer batch before an older one
//!    that will still come.
//! 5. A batch file is deleted only after the collector acknowledged it
//!    (`stored` or `duplicate`, for this batch's digest and sequence). A
//!    crash after the collector stored it but before the delete means the
//!    batch is sent again; the collector answers `duplicate` (it dedupes on
//!    the payload digest) and only then is it deleted. So a SIGKILL at any
//!    point loses nothing and duplicates nothing.
//! 6. A batch the collector refuses for good (a 4xx other than 408 and 429)
//!    is moved to `rejected/`, with the reason beside it, and does not hold
//!    up the batches after it. It is never silently deleted.
//! 7. Bounded: at most `max_batches` batches and `max_bytes` bytes wait (and
//!    as many again in `rejected/`). When over, the OLDEST is dropped with a
//!    warning naming its sequence; the batch just written never is.
//! 8. `*.tmp` files are leftovers of a crash and are removed at open.
//! 9. Re-numbering (after the collector says it already accepted a higher
//!    sequence from this agent, or on `spool requeue`) writes the re-signed
//!    batch under a fresh number FIRST and removes the old file after. A
//!    crash in between leaves both: the scan may then be stored twice under
//!    two numbers (the register does not change), but it is never lost.

use super::lock::SpoolLock;
use super::{limits, DeliveryError};
use plumbline_protocol::wording;
use crate::platform::private::{self, Access};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The spool's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolLimits {
    /// Most batches waiting.
    pub max_batches: usize,
    /// Most bytes waiting.
    pub max_bytes: u64,
}

impl Default for SpoolLimits {
    fn default() -> Self {
        SpoolLimits {
            max_batches: limits::SPOOL_MAX_BATCHES,
            max_bytes: limits::SPOOL_MAX_BYTES,
        }
    }
}

/// One batch file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpooledBatch {
    /// Its sequence number.
    pub sequence: u64,
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
}

/// Why the collector (or the spool itself) refused a batch for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The batch.
    pub sequence: u64,
    /// When, RFC 3339.
    pub rejected_at: String,
    /// The HTTP status (0: refused locally, the file was damaged).
    pub status: u16,
    /// The collector's error code, e.g. `bad_signature`.
    pub error: String,
    /// The collector's message.
    pub message: String,
}

/// Why the last flush stopped early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// When, RFC 3339.
    pub at: String,
    /// What happened.
    pub message: String,
}

/// What `plumbline spool status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolStatus {
    /// The spool directory.
    pub dir: PathBuf,
    /// Batches waiting.
    pub queued: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Oldest waiting sequence.
    pub oldest: Option<u64>,
    /// Newest waiting sequence.
    pub newest: Option<u64>,
    /// Batches in `rejected/`.
    pub rejected: usize,
    /// The last sequence number handed out.
    pub last_sequence: u64,
    /// Why the last flush stopped, if it did.
    pub last_error: Option<LastError>,
}

const SEQUENCE_FILE: &str = "sequence";
const LAST_ERROR_FILE: &str = "last-error.json";
const REJECTED_DIR: &str = "rejected";

/// `batch-<20 digits>.json`.
pub fn batch_file_name(sequence: u64) -> String {
    format!("batch-{sequence:020}.json")
}

fn parse_batch_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("batch-")?.strip_suffix(".json")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// An open, locked spool.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    limits: SpoolLimits,
    _lock: SpoolLock,
}

impl Spool {
    /// Open (creating it, private, if needed) and lock the spool at `dir`,
    /// waiting up to [`limits::SPOOL_LOCK_WAIT`] for another process.
    pub fn open(dir: &Path, limits: SpoolLimits) -> Result<Self, DeliveryError> {
        Self::open_waiting(dir, limits, limits::SPOOL_LOCK_WAIT)
    }

    /// [`Spool::open`], waiting at most `wait` for the lock.
    pub fn open_waiting(dir: &Path, limits: SpoolLimits, wait: Duration) -> Result<Self, DeliveryError> {
        private::create_private_dir(dir).map_err(DeliveryError::io(format!("creating spool {}", dir.display())))?;
        let lock = SpoolLock::acquire(dir, wait)?;
        let spool = Spool { dir: dir.to_path_buf(), limits, _lock: lock };
        spool.remove_leftovers()?;
        Ok(spool)
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn rejected_dir(&self) -> PathBuf {
        self.dir.join(REJECTED_DIR)
    }

    /// Invariant 8: `*.tmp` files are writes a crash cut short.
    fn remove_leftovers(&self) -> Result<(), DeliveryError> {
        for dir in [self.dir.clone(), self.rejected_dir()] {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|x| x == "tmp") {
                    tracing::info!(file = %path.display(), "removing an unfinished write left by a crash");
                    private::remove_durably(&path)
                        .map_err(DeliveryError::io(format!("removing {}", path.display())))?;
                }
            }
        }
        Ok(())
    }

    /// The batches waiting, oldest first.
    pub fn queued(&self) -> Result<Vec<SpooledBatch>, DeliveryError> {
        list_batches(&self.dir)
    }

    /// The batches in `rejected/`, oldest first.
    pub fn rejected(&self) -> Result<Vec<SpooledBatch>, DeliveryError> {
        list_batches(&self.rejected_dir())
    }

    /// Reserve the next sequence number, sign a batch with it through
    /// `make`, and write it durably. Returns the number. Drops the oldest
    /// batches, with a warning, when the spool is over its bounds.
    pub fn append(&mut self, make: impl FnOnce(u64) -> Vec<u8>) -> Result<u64, DeliveryError> {
        let sequence = self.reserve_sequence()?;
        let bytes = make(sequence);
        let path = self.dir.join(batch_file_name(sequence));
        private::write_atomic(&path, &bytes, Access::Private)
            .map_err(DeliveryError::io(format!("writing batch {}", path.display())))?;
        trim(&self.dir, self.limits, sequence, "spool")?;
        Ok(sequence)
    }

    /// Invariant 2: persist the new counter before anything uses it.
    fn reserve_sequence(&mut self) -> Result<u64, DeliveryError> {
        self.reserve_sequence_above(0)
    }

    /// The next number above the counter, every batch on disk, and `floor`.
    fn reserve_sequence_above(&mut self, floor: u64) -> Result<u64, DeliveryError> {
        let last = read_sequence(&self.dir)?.max(floor);
        let on_disk = self
            .queued()?
            .into_iter()
            .chain(self.rejected()?)
            .map(|b| b.sequence)
            .max()
            .unwrap_or(0);
        let next = last.max(on_disk).checked_add(1).ok_or_else(|| DeliveryError::SpoolDamaged {
            path: self.dir.join(SEQUENCE_FILE),
            message: "the sequence counter is exhausted".into(),
        })?;
        let path = self.dir.join(SEQUENCE_FILE);
        private::write_atomic(&path, format!("{next}\n").as_bytes(), Access::Private)
            .map_err(DeliveryError::io(format!("writing {}", path.display())))?;
        Ok(next)
    }

    /// Invariant 9: give `batch` (queued or rejected) a fresh sequence number
    /// above both this spool's counter and `floor` (the last sequence the
    /// collector accepted), re-signed through `resign`, and queue it. The old
    /// file (and a rejection reason beside it) goes only after the new one is
    /// durable. Returns the queued batch.
    pub fn renumber(
        &mut self,
        batch: &SpooledBatch,
        floor: u64,
        resign: impl FnOnce(u64) -> Vec<u8>,
    ) -> Result<SpooledBatch, DeliveryError> {
        let sequence = self.reserve_sequence_above(floor)?;
        let bytes = resign(sequence);
        let path = self.dir.join(batch_file_name(sequence));
        private::write_atomic(&path, &bytes, Access::Private)
            .map_err(DeliveryError::io(format!("writing batch {}", path.display())))?;
        private::remove_durably(&batch.path).map_err(DeliveryError::io(format!("removing {}", batch.path.display())))?;
        let reason = batch.path.with_file_name(batch_file_name(batch.sequence).replace(".json", ".reason.json"));
        if reason.exists() {
            private::remove_durably(&reason).map_err(DeliveryError::io(format!("removing {}", reason.display())))?;
        }
        Ok(SpooledBatch { sequence, path, bytes: bytes.len() as u64 })
    }

    /// The batch's bytes.
    pub fn read(&self, batch: &SpooledBatch) -> Result<Vec<u8>, DeliveryError> {
        read_batch(batch)
    }

    /// Invariant 5: the collector has it; delete it.
    pub fn acknowledge(&mut self, batch: &SpooledBatch) -> Result<(), DeliveryError> {
        private::remove_durably(&batch.path).map_err(DeliveryError::io(format!("removing {}", batch.path.display())))
    }

    /// Invariant 6: move a refused batch to `rejected/` with the reason.
    pub fn reject(&mut self, batch: &SpooledBatch, reason: &Rejection) -> Result<(), DeliveryError> {
        let dir = self.rejected_dir();
        private::create_private_dir(&dir).map_err(DeliveryError::io(format!("creating {}", dir.display())))?;
        let name = batch_file_name(batch.sequence);
        let reason_path = dir.join(name.replace(".json", ".reason.json"));
        let mut json = serde_json::to_vec_pretty(reason).expect("a rejection serializes");
        json.push(b'\n');
        private::write_atomic(&reason_path, &json, Access::Private)
            .map_err(DeliveryError::io(format!("writing {}", reason_path.display())))?;
        let to = dir.join(&name);
        if !batch.path.exists() {
            // Dropped from a full spool while it was being pushed.
            return Ok(());
        }
        std::fs::rename(&batch.path, &to)
            .map_err(DeliveryError::io(format!("moving {} to {}", batch.path.display(), to.display())))?;
        for d in [&dir, &self.dir] {
            private::sync_dir(d).map_err(DeliveryError::io(format!("syncing {}", d.display())))?;
        }
        trim(&dir, self.limits, batch.sequence, "rejected batches")?;
        Ok(())
    }

    /// Remember why a flush stopped, for `spool status`.
    pub fn record_error(&mut self, message: &str) -> Result<(), DeliveryError> {
        let path = self.dir.join(LAST_ERROR_FILE);
        let e = LastError {
            at: crate::platform::clock::now_rfc3339(),
            message: message.to_string(),
        };
        let json = serde_json::to_vec_pretty(&e).expect("an error record serializes");
        private::write_atomic(&path, &json, Access::Private).map_err(DeliveryError::io(format!("writing {}", path.display())))
    }

    /// A flush emptied the queue: forget the last error.
    pub fn clear_error(&mut self) -> Result<(), DeliveryError> {
        let path = self.dir.join(LAST_ERROR_FILE);
        private::remove_durably(&path).map_err(DeliveryError::io(format!("removing {}", path.display())))
    }
}

/// A batch's bytes, without the lock: a batch file is written whole
/// (renamed into place) and never changed after.
pub fn read_batch(batch: &SpooledBatch) -> Result<Vec<u8>, DeliveryError> {
    std::fs::read(&batch.path).map_err(DeliveryError::io(format!("reading {}", batch.path.display())))
}

/// The spool's state, read without taking the lock (a flush may be running;
/// the numbers are a snapshot). A spool that does not exist yet is empty.
pub fn status(dir: &Path) -> Result<SpoolStatus, DeliveryError> {
    let queued = list_batches(dir)?;
    let rejected = list_batches(&dir.join(REJECTED_DIR))?;
    let last_error = match std::fs::read(dir.join(LAST_ERROR_FILE)) {
        Ok(b) => serde_json::from_slice(&b).ok(),
        Err(_) => None,
    };
    Ok(SpoolStatus {
        dir: dir.to_path_buf(),
        queued: queued.len(),
        bytes: queued.iter().map(|b| b.bytes).sum(),
        oldest: queued.first().map(|b| b.sequence),
        newest: queued.last().map(|b| b.sequence),
        rejected: rejected.len(),
        last_sequence: read_sequence(dir)?,
        last_error,
    })
}

/// The last sequence number handed out (0 before the first).
fn read_sequence(dir: &Path) -> Result<u64, DeliveryError> {
    let path = dir.join(SEQUENCE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map_err(|_| DeliveryError::SpoolDamaged {
            path: path.clone(),
            message: format!(
                "expected the last sequence number, found {:?}; write the highest sequence this agent ever sent into it",
                text.chars().take(40).collect::<String>()
            ),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(DeliveryError::io(format!("reading {}", path.display()))(e)),
    }
}

/// The batch files in `dir`, by sequence. A missing directory is empty.
fn list_batches(dir: &Path) -> Result<Vec<SpooledBatch>, DeliveryError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(DeliveryError::io(format!("listing {}", dir.display()))(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(DeliveryError::io(format!("listing {}", dir.display())))?;
        let name = entry.file_name();
        let Some(sequence) = name.to_str().and_then(parse_batch_file_name) else { continue };
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            out.push(SpooledBatch { sequence, path: entry.path(), bytes: meta.len() });
        }
    }
    out.sort_by_key(|b| b.sequence);
    Ok(out)
}

/// Invariant 7: drop the oldest batches in `dir` while over `limits`, never
/// the batch `keep` (the one just written).
fn trim(dir: &Path, limits: SpoolLimits, keep: u64, what: &str) -> Result<(), DeliveryError> {
    let batches = list_batches(dir)?;
    let mut count = batches.len();
    let mut bytes: u64 = batches.iter().map(|b| b.bytes).sum();
    for oldest in &batches {
        if count <= limits.max_batches && bytes <= limits.max_bytes {
            break;
        }
        if oldest.sequence == keep {
            continue;
        }
        tracing::warn!(
            sequence = oldest.sequence,
            "{what} full (limits: {}, {}): dropped the oldest batch, sequence {}; the collector will not receive it",
            wording::count(limits.max_batches, "batch"),
            wording::count(limits.max_bytes, "byte"),
            oldest.sequence
        );
        private::remove_durably(&oldest.path).map_err(DeliveryError::io(format!("removing {}", oldest.path.display())))?;
        let reason = oldest.path.with_file_name(batch_file_name(oldest.sequence).replace(".json", ".reason.json"));
        let _ = private::remove_durably(&reason);
        count -= 1;
        bytes -= oldest.bytes;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
