//! The last run on disk, for `plumbline status` and the RMM checks built on
//! it: `SPOOL_DIR/last-run.json`, private like the rest of the spool, and
//! replaced atomically (written beside, fsynced, renamed), so a reader sees
//! the previous run or this one, never part of one.
//!
//! `plumbline run` and every scan of the service write it at the end of the
//! delivery; the long-lived service also writes when its next scan is due.

use super::ServiceError;
use crate::delivery::push::FlushReport;
use crate::platform::clock::now_rfc3339;
use crate::platform::private::{self, Access};
use crate::register::{ScanResult, Severity};
use plumbline_protocol::cells::{bounded, printable};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name in the spool directory.
pub const STATE_FILE: &str = "last-run.json";
/// The file's format; a newer agent's file is read as far as it is understood.
pub const STATE_VERSION: u32 = 1;
/// Longest plugin error kept: enough to say what failed, and what an RMM
/// field shows (Datto's user-defined fields hold 255 characters).
pub const MAX_ERROR_CHARS: usize = 240;

/// What the last run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// `run` or `service`: which command wrote it.
    pub by: String,
    /// The last scan.
    pub scan: Option<ScanRecord>,
    /// The last delivery.
    pub delivery: Option<DeliveryRecord>,
    /// When the collector last had everything: the spool was emptied, or a
    /// batch was acknowledged. Kept across runs whose delivery failed.
    pub last_delivered_at: Option<String>,
    /// When the long-lived service scans next (not written under a timer).
    pub next_scan_at: Option<String>,
}

/// The last scan, in brief.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRecord {
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: String,
    /// Plugins that ran (ok or not).
    pub plugins: usize,
    /// The ones that failed, with their errors (bounded).
    pub failed_plugins: Vec<FailedPlugin>,
    /// Connector records.
    pub connectors: usize,
    /// Findings.
    pub findings: usize,
    /// The most severe finding, if any.
    pub highest_severity: Option<Severity>,
    /// A stop request cut the scan short: plugins not yet started did not run.
    pub stopped: bool,
}

/// A plugin that failed in the last scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedPlugin {
    /// Its config section's name.
    pub name: String,
    /// Its error, one line, at most [`MAX_ERROR_CHARS`].
    pub error: String,
}

/// The last delivery, in brief.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// RFC 3339.
    pub at: String,
    /// The batch this run spooled.
    pub spooled: Option<u64>,
    /// Batches the collector acknowledged.
    pub delivered: usize,
    /// Batches still waiting.
    pub queued: usize,
    /// Batches refused for good in this run.
    pub rejected: usize,
    /// Why the push stopped early, if it did.
    pub error: Option<String>,
}

impl ScanRecord {
    /// The brief of `result`.
    pub fn of(result: &ScanResult, stopped: bool) -> ScanRecord {
        ScanRecord {
            started_at: result.started_at.clone(),
            finished_at: result.finished_at.clone(),
            plugins: result.plugins.len(),
            failed_plugins: result
                .plugins
                .iter()
                .filter(|p| p.status != "ok")
                .map(|p| FailedPlugin {
                    name: p.name.clone(),
                    error: bounded(&printable(p.error.as_deref().unwrap_or(&p.status)), MAX_ERROR_CHARS),
                })
                .collect(),
            connectors: result.connectors.len(),
            findings: result.findings.len(),
            highest_severity: result.findings.iter().map(|f| f.severity).max(),
            stopped,
        }
    }
}

impl DeliveryRecord {
    /// The brief of `report`, made now.
    pub fn of(report: &FlushReport) -> DeliveryRecord {
        DeliveryRecord {
            at: now_rfc3339(),
            spooled: report.spooled,
            delivered: report.delivered,
            queued: report.queued,
            rejected: report.rejected.len(),
            error: report.error.as_deref().map(|e| bounded(&printable(e), MAX_ERROR_CHARS)),
        }
    }
}

/// `SPOOL_DIR/last-run.json`.
pub fn state_file(spool_dir: &Path) -> PathBuf {
    spool_dir.join(STATE_FILE)
}

/// The last run recorded in `spool_dir`; `None` before the first.
pub fn load(spool_dir: &Path) -> Result<Option<LastRun>, ServiceError> {
    let path = state_file(spool_dir);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ServiceError::io(format!("reading {}; run this as the agent's account (root or SYSTEM)", path.display()))(e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| ServiceError::State {
        path: path.clone(),
        message: format!("not a last-run record ({e}); delete it, and the next run writes a new one"),
    })
}

/// Record a finished run: its scan, and its delivery when there was one.
/// `last_delivered_at` carries over from the previous record unless this
/// delivery reached the collector.
pub fn record_run(spool_dir: &Path, by: &str, scan: ScanRecord, delivery: Option<DeliveryRecord>) -> Result<(), ServiceError> {
    let previous = load(spool_dir).ok().flatten().unwrap_or_default();
    let reached = delivery.as_ref().is_some_and(|d| d.error.is_none() || d.delivered > 0);
    let last_delivered_at = match (&delivery, reached) {
        (Some(d), true) => Some(d.at.clone()),
        _ => previous.last_delivered_at,
    };
    let run = LastRun {
        version: STATE_VERSION,
        by: by.to_string(),
        scan: Some(scan),
        delivery,
        last_delivered_at,
        next_scan_at: previous.next_scan_at,
    };
    write(spool_dir, &run)
}

/// Record a push of the spool without a scan (`plumbline spool flush`).
pub fn record_flush(spool_dir: &Path, delivery: DeliveryRecord) -> Result<(), ServiceError> {
    let mut run = load(spool_dir).ok().flatten().unwrap_or_default();
    run.version = STATE_VERSION;
    if delivery.error.is_none() || delivery.delivered > 0 {
        run.last_delivered_at = Some(delivery.at.clone());
    }
    run.delivery = Some(delivery);
    write(spool_dir, &run)
}

/// Record when the long-lived service scans next.
pub fn record_next_scan(spool_dir: &Path, at: &str) -> Result<(), ServiceError> {
    let mut run = load(spool_dir).ok().flatten().unwrap_or_default();
    run.version = STATE_VERSION;
    run.next_scan_at = Some(at.to_string());
    write(spool_dir, &run)
}

fn write(spool_dir: &Path, run: &LastRun) -> Result<(), ServiceError> {
    private::create_private_dir(spool_dir)
        .map_err(ServiceError::io(format!("creating spool {}", spool_dir.display())))?;
    let path = state_file(spool_dir);
    let mut bytes = serde_json::to_vec_pretty(run).expect("a last-run record serializes");
    bytes.push(b'\n');
    private::write_atomic(&path, &bytes, Access::Private).map_err(ServiceError::io(format!("writing {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(error: Option<&str>, delivered: usize) -> DeliveryRecord {
        DeliveryRecord { at: now_rfc3339(), delivered, error: error.map(str::to_string), ..Default::default() }
    }

    #[test]
    fn a_run_is_recorded_privately_and_a_failed_delivery_keeps_the_last_good_one() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        assert_eq!(load(&spool).unwrap(), None);
        record_run(&spool, "run", ScanRecord::default(), Some(delivery(None, 1))).unwrap();
        let first = load(&spool).unwrap().unwrap();
        let good = first.last_delivered_at.clone().expect("a delivery that reached the collector");
        #[cfg(unix)]
        assert_eq!(private::describe(&state_file(&spool)).unwrap(), "mode 0600");

        record_run(&spool, "service", ScanRecord::default(), Some(delivery(Some("collector unreachable"), 0))).unwrap();
        let second = load(&spool).unwrap().unwrap();
        assert_eq!(second.last_delivered_at.as_deref(), Some(good.as_str()));
        assert_eq!(second.delivery.unwrap().error.as_deref(), Some("collector unreachable"));
        assert_eq!(second.by, "service");
        assert!(!std::fs::read_dir(&spool).unwrap().flatten().any(|e| e.path().extension().is_some_and(|x| x == "tmp")));
    }

    #[test]
    fn the_next_scan_survives_the_runs_in_between() {
        let dir = tempfile::tempdir().unwrap();
        record_next_scan(dir.path(), "2026-12-01T18:00:00Z").unwrap();
        record_run(dir.path(), "run", ScanRecord::default(), None).unwrap();
        let run = load(dir.path()).unwrap().unwrap();
        assert_eq!((run.next_scan_at.as_deref(), run.by.as_str()), (Some("2026-12-01T18:00:00Z"), "run"));
    }

    #[test]
    fn a_flush_that_reaches_the_collector_is_the_last_delivery_and_keeps_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let scan = ScanRecord { connectors: 3, ..Default::default() };
        record_run(dir.path(), "run", scan.clone(), Some(delivery(Some("collector unreachable"), 0))).unwrap();
        assert_eq!(load(dir.path()).unwrap().unwrap().last_delivered_at, None);
        record_flush(dir.path(), delivery(None, 2)).unwrap();
        let run = load(dir.path()).unwrap().unwrap();
        assert_eq!((run.scan, run.delivery.map(|d| d.delivered)), (Some(scan), Some(2)));
        assert!(run.last_delivered_at.is_some());
    }

    #[test]
    fn a_damaged_record_says_how_to_recover() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(state_file(dir.path()), b"{not json").unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("last-run.json") && e.contains("delete it"), "{e}");
    }
}
