//! [`Health`] in the terms of the RMM that runs `plumbline status --rmm`:
//!
//! - `plain`: `name: value` lines, then the problems with their fixes; exit
//!   0 healthy, 1 not.
//! - `ninja` (NinjaOne): `plumbline_NAME=value` lines that a script copies
//!   into custom fields (`Ninja-Property-Set`); exit 0 healthy, 1 not, for
//!   a script result condition on the exit code.
//! - `datto` (Datto RMM monitor component): the status between
//!   `<-Start Result->` and `<-End Result->` as `STATUS=…` (at most 255
//!   characters, so it also fits a user-defined field), the details between
//!   `<-Start Diagnostic->` and `<-End Diagnostic->`; a non-zero exit
//!   raises the alert.
//! - `nable` (N-able N-sight script check): exit 0 passes; a failure exits
//!   with its problem's own code above 1000 (1001 to 1999 are the custom
//!   range; 1 to 999 are N-sight's). Windows only: Unix exit codes stop at
//!   255, so there it exits 1 and prints the code. Output is kept under
//!   N-sight's 10,000 characters.
//! - `intune` (Win32 app detection script): the app is detected when the
//!   script exits 0 AND writes to stdout. Detected means installed and
//!   working (enrolled, scanning, not refused); failing plugins and findings
//!   are for monitoring, not a reason to reinstall. Not detected: nothing
//!   on stdout, the reason on stderr, exit 1.

use super::health::{Health, Problem};
use plumbline_protocol::cells::{bounded, printable};
use std::fmt::Write as _;

/// Datto RMM user-defined fields hold 255 characters.
pub const DATTO_RESULT_CHARS: usize = 255;
/// N-able N-sight keeps this much of a check's output.
pub const NABLE_OUTPUT_CHARS: usize = 10_000;

/// Whose conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rmm {
    /// NinjaOne.
    Ninja,
    /// Datto RMM.
    Datto,
    /// N-able N-sight.
    Nable,
    /// Microsoft Intune (Win32 app detection).
    Intune,
    /// Plain text.
    Plain,
}

/// What to print and how to exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// For stdout.
    pub stdout: String,
    /// For stderr.
    pub stderr: String,
    /// The process exit code.
    pub code: i32,
}

/// Say `health` as `rmm` expects.
pub fn render(rmm: Rmm, health: &Health) -> Rendered {
    let failing = if health.ok() { 0 } else { 1 };
    match rmm {
        Rmm::Plain => Rendered { stdout: plain(health), stderr: String::new(), code: failing },
        Rmm::Ninja => Rendered { stdout: ninja(health), stderr: String::new(), code: failing },
        Rmm::Datto => Rendered { stdout: datto(health), stderr: String::new(), code: failing },
        Rmm::Nable => nable(health, cfg!(windows)),
        Rmm::Intune => intune(health),
    }
}

fn fields(h: &Health) -> Vec<(&'static str, String)> {
    let failing: Vec<&str> = h.failing_plugins.iter().map(|p| p.name.as_str()).collect();
    vec![
        ("status", if h.ok() { "OK".into() } else { "ALERT".into() }),
        ("last_scan", h.last_scan.clone().unwrap_or_else(|| "never".into())),
        ("last_delivery", h.last_delivery.clone().unwrap_or_else(|| "never".into())),
        ("queued_batches", h.queued.to_string()),
        ("rejected_batches", h.rejected.to_string()),
        ("failing_plugins", if failing.is_empty() { "none".into() } else { failing.join(",") }),
        ("highest_severity", h.highest_severity.map_or("none", |s| s.as_str()).into()),
        ("next_scan", h.next_scan.clone().unwrap_or_else(|| "unknown".into())),
        ("problems", if h.ok() { "none".into() } else { h.problems.iter().map(|p| p.name()).collect::<Vec<_>>().join(",") }),
    ]
}

fn problems(h: &Health, out: &mut String, prefix: &str) {
    for p in &h.problems {
        let _ = writeln!(out, "{prefix}{}", printable(&h.explain(*p)));
    }
}

fn plain(h: &Health) -> String {
    let mut out = String::new();
    for (name, value) in fields(h) {
        let _ = writeln!(out, "{:<17} {}", format!("{}:", name.replace('_', " ")), printable(&value));
    }
    problems(h, &mut out, "- ");
    out
}

fn ninja(h: &Health) -> String {
    let mut out = String::new();
    for (name, value) in fields(h) {
        let _ = writeln!(out, "plumbline_{name}={}", printable(&value));
    }
    let _ = writeln!(out, "plumbline_summary={}", printable(&h.summary()));
    out
}

fn datto(h: &Health) -> String {
    let result = bounded(&format!("STATUS={}", printable(&h.summary())), DATTO_RESULT_CHARS - 1);
    let mut out = format!("<-Start Result->\n{result}\n<-End Result->\n<-Start Diagnostic->\n");
    for (name, value) in fields(h) {
        let _ = writeln!(out, "{name}={}", printable(&value));
    }
    problems(h, &mut out, "");
    out.push_str("<-End Diagnostic->\n");
    out
}

fn nable(h: &Health, windows: bool) -> Rendered {
    let mut out = plain(h);
    let code = h.problems.first().map_or(0, |p| p.code());
    if code != 0 && !windows {
        let _ = writeln!(out, "N-sight code {code} (exit 1 here: Unix exit codes stop at 255)");
    }
    let stdout = bounded(&out, NABLE_OUTPUT_CHARS - 1);
    Rendered { stdout, stderr: String::new(), code: if windows || code == 0 { code } else { 1 } }
}

/// What makes Intune reinstall: the agent is not there or not working.
const INTUNE_BLOCKERS: [Problem; 4] =
    [Problem::NotEnrolled, Problem::ScanStale, Problem::DeliveryRefused, Problem::DeliveryBehind];

fn intune(h: &Health) -> Rendered {
    let blocking: Vec<Problem> = h.problems.iter().copied().filter(|p| INTUNE_BLOCKERS.contains(p)).collect();
    if blocking.is_empty() {
        let stdout = format!("Plumbline agent installed and working: {}\n", printable(&h.summary()));
        return Rendered { stdout, stderr: String::new(), code: 0 };
    }
    let mut stderr = String::new();
    for p in blocking {
        let _ = writeln!(stderr, "{}", printable(&h.explain(p)));
    }
    Rendered { stdout: String::new(), stderr, code: 1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Schedule;
    use crate::register::Severity;
    use crate::service::health::tests::{run, spool, NOW};

    fn healthy() -> Health {
        Health::assess(true, Some(&run("2026-12-01T06:10:00Z", &[], Some(Severity::Low))), &spool(0, 0), &Schedule::default(), Severity::High, NOW)
    }

    fn failing(plugins: &[&str], highest: Severity, finished: &str, rejected: usize) -> Health {
        Health::assess(true, Some(&run(finished, plugins, Some(highest))), &spool(rejected, rejected), &Schedule::default(), Severity::High, NOW)
    }

    #[test]
    fn plain_lists_every_field_and_the_fixes() {
        let r = render(Rmm::Plain, &healthy());
        assert_eq!(r.code, 0);
        for want in ["status:           OK", "last scan:        2026-12-01T06:10:00Z", "queued batches:   0", "highest severity: low"] {
            assert!(r.stdout.contains(want), "{want}:\n{}", r.stdout);
        }
        let r = render(Rmm::Plain, &failing(&["smtp-relay"], Severity::Critical, "2026-12-01T06:10:00Z", 0));
        assert_eq!(r.code, 1);
        assert!(r.stdout.contains("failing plugins:  smtp-relay") && r.stdout.contains("- plugins failed"), "{}", r.stdout);
    }

    #[test]
    fn ninja_prints_fields_for_custom_fields_and_exits_1_to_alert() {
        let r = render(Rmm::Ninja, &failing(&["a", "b"], Severity::High, "2026-12-01T06:10:00Z", 0));
        assert_eq!(r.code, 1);
        for want in ["plumbline_status=ALERT\n", "plumbline_failing_plugins=a,b\n", "plumbline_highest_severity=high\n", "plumbline_problems=plugins_failing,findings\n"] {
            assert!(r.stdout.contains(want), "{want}:\n{}", r.stdout);
        }
        assert!(r.stdout.lines().all(|l| l.starts_with("plumbline_") && l.contains('=')), "{}", r.stdout);
        assert_eq!(render(Rmm::Ninja, &healthy()).code, 0);
    }

    #[test]
    fn datto_puts_one_bounded_status_between_the_markers() {
        let mut h = failing(&["x"; 40], Severity::Critical, "2026-11-20T00:00:00Z", 2);
        h.failing_plugins.iter_mut().enumerate().for_each(|(i, p)| p.name = format!("plugin-with-a-long-name-{i}"));
        let r = render(Rmm::Datto, &h);
        assert_eq!(r.code, 1, "non-zero raises the monitor's alert");
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!((lines[0], lines[2], lines[3]), ("<-Start Result->", "<-End Result->", "<-Start Diagnostic->"));
        assert!(lines[1].starts_with("STATUS=ALERT scan_stale:") && lines[1].chars().count() < DATTO_RESULT_CHARS, "{}", lines[1]);
        assert_eq!(*lines.last().unwrap(), "<-End Diagnostic->");
        let ok = render(Rmm::Datto, &healthy());
        assert_eq!(ok.code, 0);
        assert!(ok.stdout.contains("<-Start Result->\nSTATUS=OK: last scan"), "{}", ok.stdout);
    }

    #[test]
    fn nable_exits_with_the_first_problem_s_code_above_1000() {
        let h = failing(&[], Severity::High, "2026-12-01T06:10:00Z", 0);
        assert_eq!(nable(&h, true).code, 1007, "findings at or above high");
        let h = failing(&["p"], Severity::High, "2026-11-01T00:00:00Z", 1);
        assert_eq!(nable(&h, true).code, 1003, "the stale scan comes first");
        let unix = nable(&h, false);
        assert_eq!(unix.code, 1);
        assert!(unix.stdout.contains("N-sight code 1003"), "{}", unix.stdout);
        assert_eq!(nable(&healthy(), true).code, 0);
        assert!(nable(&h, true).stdout.chars().count() < NABLE_OUTPUT_CHARS);
    }

    #[test]
    fn intune_detects_a_working_agent_only_and_ignores_findings() {
        let r = render(Rmm::Intune, &failing(&["p"], Severity::Critical, "2026-12-01T06:10:00Z", 0));
        assert_eq!(r.code, 0, "findings and a failing plugin are not a broken install");
        assert!(r.stdout.starts_with("Plumbline agent installed and working"), "{}", r.stdout);
        let not = Health::assess(false, None, &spool(0, 0), &Schedule::default(), Severity::High, NOW);
        let r = render(Rmm::Intune, &not);
        assert_eq!((r.code, r.stdout.as_str()), (1, ""), "not detected: nothing on stdout");
        assert!(r.stderr.contains("not enrolled"), "{}", r.stderr);
        let r = render(Rmm::Intune, &failing(&[], Severity::Low, "2026-11-01T00:00:00Z", 0));
        assert_eq!(r.code, 1, "a schedule that stopped is not working");
        // Intune runs the detection right after the install: enrolled, not scanned yet.
        let fresh = Health::assess(true, None, &spool(0, 0), &Schedule::default(), Severity::High, NOW);
        assert_eq!(fresh.problems, [Problem::NeverScanned]);
        let r = render(Rmm::Intune, &fresh);
        assert!(r.code == 0 && !r.stdout.is_empty(), "detected: {r:?}");
    }
}
