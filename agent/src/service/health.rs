//! The agent's health, judged from its last-run record and its spool: what
//! `plumbline status` reports, before any RMM's way of saying it ([`super::rmm`]).
//!
//! A problem is only what someone should act on. A collector that was down
//! for one step is not one (the batch waits and goes next time); a schedule
//! that has not run for two steps is.

use super::state::{FailedPlugin, LastRun};
use crate::config::Schedule;
use crate::delivery::spool::SpoolStatus;
use crate::register::Severity;
use std::time::Duration;

/// Steps without a scan (or, with batches waiting, without a delivery)
/// before that is a problem: one missed step is a reboot or a skipped turn;
/// two mean the schedule is not running or the collector is unreachable.
pub const STALE_AFTER_STEPS: u32 = 2;

/// Something to act on, most urgent first. Each has a number above 1000
/// for N-able N-sight, whose codes 1 to 999 are reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// No key or enrollment: nothing can be delivered.
    NotEnrolled,
    /// Enrolled, but no run recorded yet.
    NeverScanned,
    /// The last scan is older than [`STALE_AFTER_STEPS`] steps.
    ScanStale,
    /// The collector refused batches for good (`SPOOL/rejected`).
    DeliveryRefused,
    /// Batches wait, and nothing reached the collector for [`STALE_AFTER_STEPS`] steps.
    DeliveryBehind,
    /// Plugins failed in the last scan: its picture is incomplete.
    PluginsFailing,
    /// The last scan found something at or above the threshold.
    Findings,
}

impl Problem {
    /// Its N-able N-sight exit code.
    pub fn code(self) -> i32 {
        1001 + self as i32
    }

    /// Its short name, for `key=value` output.
    pub fn name(self) -> &'static str {
        match self {
            Problem::NotEnrolled => "not_enrolled",
            Problem::NeverScanned => "never_scanned",
            Problem::ScanStale => "scan_stale",
            Problem::DeliveryRefused => "delivery_refused",
            Problem::DeliveryBehind => "delivery_behind",
            Problem::PluginsFailing => "plugins_failing",
            Problem::Findings => "findings",
        }
    }

    /// Every problem, in order.
    pub const ALL: [Problem; 7] = [
        Problem::NotEnrolled,
        Problem::NeverScanned,
        Problem::ScanStale,
        Problem::DeliveryRefused,
        Problem::DeliveryBehind,
        Problem::PluginsFailing,
        Problem::Findings,
    ];
}

/// What `plumbline status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// A key and enrollment exist.
    pub enrolled: bool,
    /// When the last scan finished (RFC 3339).
    pub last_scan: Option<String>,
    /// When the collector last had everything.
    pub last_delivery: Option<String>,
    /// Batches waiting in the spool.
    pub queued: usize,
    /// Batches the collector refused for good.
    pub rejected: usize,
    /// Plugins that failed in the last scan.
    pub failing_plugins: Vec<FailedPlugin>,
    /// The most severe finding of the last scan.
    pub highest_severity: Option<Severity>,
    /// Findings of the last scan.
    pub findings: usize,
    /// When the long-lived service scans next, if it said.
    pub next_scan: Option<String>,
    /// The severity at which findings are a problem.
    pub threshold: Severity,
    /// What to act on, most urgent first; empty when healthy.
    pub problems: Vec<Problem>,
}

impl Health {
    /// Judge `run` and `spool` on `schedule`, at `now` (seconds since the epoch).
    pub fn assess(
        enrolled: bool,
        run: Option<&LastRun>,
        spool: &SpoolStatus,
        schedule: &Schedule,
        threshold: Severity,
        now: u64,
    ) -> Health {
        let scan = run.and_then(|r| r.scan.as_ref());
        let window = (schedule.every * STALE_AFTER_STEPS + schedule.jitter).as_secs();
        let older = |at: Option<&str>| at.and_then(epoch).is_none_or(|t| now.saturating_sub(t) > window);
        let last_delivery = run.and_then(|r| r.last_delivered_at.clone());
        let highest_severity = scan.and_then(|s| s.highest_severity);
        let failing_plugins = scan.map(|s| s.failed_plugins.clone()).unwrap_or_default();
        let mut problems = Vec::new();
        let mut flag = |p: Problem, when: bool| {
            if when {
                problems.push(p);
            }
        };
        flag(Problem::NotEnrolled, !enrolled);
        flag(Problem::NeverScanned, enrolled && scan.is_none());
        flag(Problem::ScanStale, scan.is_some() && older(scan.map(|s| s.finished_at.as_str())));
        flag(Problem::DeliveryRefused, spool.rejected > 0);
        flag(Problem::DeliveryBehind, enrolled && spool.queued > 0 && older(last_delivery.as_deref()));
        flag(Problem::PluginsFailing, !failing_plugins.is_empty());
        flag(Problem::Findings, highest_severity.is_some_and(|s| s >= threshold));
        Health {
            enrolled,
            last_scan: scan.map(|s| s.finished_at.clone()),
            last_delivery,
            queued: spool.queued,
            rejected: spool.rejected,
            failing_plugins,
            highest_severity,
            findings: scan.map_or(0, |s| s.findings),
            next_scan: run.and_then(|r| r.next_scan_at.clone()),
            threshold,
            problems,
        }
    }

    /// Nothing to act on.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// One line per problem, each saying what to do.
    pub fn explain(&self, problem: Problem) -> String {
        match problem {
            Problem::NotEnrolled => {
                "not enrolled: run `plumbline enroll --collector URL --token TOKEN` (or `plumbline install`)".into()
            }
            Problem::NeverScanned => {
                "no scan recorded yet: `plumbline service status` shows whether the service runs; `plumbline run` scans now"
                    .into()
            }
            Problem::ScanStale => format!(
                "the last scan was at {}, more than {STALE_AFTER_STEPS} steps ago: check `plumbline service status` and the service's log",
                self.last_scan.as_deref().unwrap_or("never")
            ),
            Problem::DeliveryRefused => format!(
                "the collector refused {} for good: `plumbline spool status` says why; fix it, then `plumbline spool requeue --all`",
                plumbline_protocol::wording::count(self.rejected, "batch")
            ),
            Problem::DeliveryBehind => format!(
                "{} waiting and nothing delivered since {}: check the collector's address and the network; `plumbline spool flush` retries",
                plumbline_protocol::wording::count(self.queued, "batch"),
                self.last_delivery.as_deref().unwrap_or("ever")
            ),
            Problem::PluginsFailing => {
                let names: Vec<&str> = self.failing_plugins.iter().map(|p| p.name.as_str()).collect();
                format!("plugins failed in the last scan: {}; `plumbline scan` shows their errors", names.join(", "))
            }
            Problem::Findings => format!(
                "the last scan found {} at or above {}: the highest is {}; see the collector's console",
                plumbline_protocol::wording::count(self.findings, "finding"),
                self.threshold.as_str(),
                self.highest_severity.map_or("none", Severity::as_str)
            ),
        }
    }

    /// One line: `OK` or the most urgent problem, with the counts.
    pub fn summary(&self) -> String {
        let head = match self.problems.first() {
            None => "OK".to_string(),
            Some(p) => format!("ALERT {}", p.name()),
        };
        format!(
            "{head}: last scan {}, last delivery {}, {} queued, {} failing, highest {}",
            self.last_scan.as_deref().unwrap_or("never"),
            self.last_delivery.as_deref().unwrap_or("never"),
            self.queued,
            plumbline_protocol::wording::count(self.failing_plugins.len(), "plugin"),
            self.highest_severity.map_or("none", Severity::as_str)
        )
    }
}

fn epoch(rfc3339: &str) -> Option<u64> {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp().max(0) as u64)
}

/// `Duration` of a schedule's stale window, for messages and tests.
pub fn stale_window(schedule: &Schedule) -> Duration {
    schedule.every * STALE_AFTER_STEPS + schedule.jitter
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::service::state::{ScanRecord, DeliveryRecord};
    use std::path::PathBuf;

    /// 2026-12-01T12:00:00Z.
    pub const NOW: u64 = 1_796_126_400;

    pub fn spool(queued: usize, rejected: usize) -> SpoolStatus {
        SpoolStatus { dir: PathBuf::from("/s"), queued, bytes: 0, oldest: None, newest: None, rejected, last_sequence: 0, last_error: None }
    }

    pub fn run(finished_at: &str, failed: &[&str], highest: Option<Severity>) -> LastRun {
        LastRun {
            version: 1,
            by: "service".into(),
            scan: Some(ScanRecord {
                started_at: finished_at.into(),
                finished_at: finished_at.into(),
                plugins: 3,
                failed_plugins: failed.iter().map(|n| FailedPlugin { name: n.to_string(), error: "boom".into() }).collect(),
                connectors: 9,
                findings: usize::from(highest.is_some()) * 4,
                highest_severity: highest,
                stopped: false,
            }),
            delivery: Some(DeliveryRecord::default()),
            last_delivered_at: Some(finished_at.into()),
            next_scan_at: Some("2026-12-01T18:00:00Z".into()),
        }
    }

    fn assess(enrolled: bool, run: Option<&LastRun>, spool: &SpoolStatus) -> Health {
        Health::assess(enrolled, run, spool, &Schedule::default(), Severity::High, NOW)
    }

    #[test]
    fn a_recent_clean_run_is_ok() {
        let h = assess(true, Some(&run("2026-12-01T06:10:00Z", &[], Some(Severity::Medium))), &spool(0, 0));
        assert!(h.ok(), "{:?}", h.problems);
        assert!(h.summary().starts_with("OK: last scan 2026-12-01T06:10:00Z"), "{}", h.summary());
    }

    #[test]
    fn each_problem_is_found_and_said_with_its_fix() {
        let h = assess(false, None, &spool(0, 0));
        assert_eq!(h.problems, vec![Problem::NotEnrolled]);
        assert!(h.explain(Problem::NotEnrolled).contains("plumbline enroll"));
        assert_eq!(assess(true, None, &spool(0, 0)).problems, vec![Problem::NeverScanned]);
        // 6 h steps, 36 min jitter: 12 h 36 min without a scan is stale.
        let old = run("2026-11-30T23:00:00Z", &["teams-webhooks"], Some(Severity::Critical));
        let h = assess(true, Some(&old), &spool(3, 1));
        let want = [Problem::ScanStale, Problem::DeliveryRefused, Problem::DeliveryBehind, Problem::PluginsFailing, Problem::Findings];
        assert_eq!(h.problems, want);
        assert!(h.explain(Problem::PluginsFailing).contains("teams-webhooks"));
        assert!(h.explain(Problem::DeliveryRefused).contains("spool requeue --all"));
        assert!(h.summary().starts_with("ALERT scan_stale:"), "{}", h.summary());
        // Within the window, a queue is only a collector that was down once.
        let h = assess(true, Some(&run("2026-12-01T01:00:00Z", &[], None)), &spool(2, 0));
        assert!(h.ok(), "{:?}", h.problems);
    }

    #[test]
    fn n_able_codes_are_above_1000_and_distinct() {
        let codes: Vec<i32> = Problem::ALL.iter().map(|p| p.code()).collect();
        assert_eq!(codes, (1001..=1007).collect::<Vec<_>>());
        assert_eq!(stale_window(&Schedule::default()), Duration::from_secs(12 * 3600 + 36 * 60));
    }
}
