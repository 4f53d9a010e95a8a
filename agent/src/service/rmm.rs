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
//!
//! What the long-lived service watches between scans (see [`WatchRecord`])
//! is added to each format but Intune's, whose detection it is not: as
//! lines in `plain` and `nable`, as `watching`, `schedule_only` and
//! `not_watched` fields in `ninja` and `datto`, so that a folder that fell
//! back to the schedule shows in the RMM's custom fields.

use super::health::{Health, Problem};
use super::watch::record::WatchRecord;
use plumbline_protocol::cells::{bounded, printable};
use std::fmt::Write as _;

/// Datto RMM user-defined fields hold 255 characters.
pub const DATTO_RESULT_CHARS: usize = 255;
/// N-able N-sight keeps this much of a check's output.
pub const NABLE_OUTPUT_CHARS: usize = 10_000;
/// A watch field's value is cut here: it lists folders, and an RMM's
/// custom text field is a line, not a report (`plain` has them whole).
pub const WATCH_FIELD_CHARS: usize = 200;

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

/// Say `health`, and what the service watches if it runs, as `rmm` expects.
pub fn render(rmm: Rmm, health: &Health, watching: Option<&WatchRecord>) -> Rendered {
    let failing = if health.ok() { 0 } else { 1 };
    match rmm {
        Rmm::Plain => Rendered { stdout: plain(health, watching), stderr: String::new(), code: failing },
        Rmm::Ninja => Rendered { stdout: ninja(health, watching), stderr: String::new(), code: failing },
        Rmm::Datto => Rendered { stdout: datto(health, watching), stderr: String::new(), code: failing },
        Rmm::Nable => nable(health, watching, cfg!(windows)),
        Rmm::Intune => intune(health),
    }
}

/// The watches as fields: `PLUGIN:PATH` lists, `none` when empty. Absent
/// when no service runs, so a field's last value is not taken as current.
fn watch_fields(w: Option<&WatchRecord>) -> Vec<(&'static str, String)> {
    let Some(w) = w else { return Vec::new() };
    let list = |items: Vec<String>| match items.is_empty() {
        true => "none".to_string(),
        false => bounded(&items.join(","), WATCH_FIELD_CHARS - 1),
    };
    vec![
        ("watching", list(w.watched.iter().map(|f| format!("{}:{}", f.plugin, f.path)).collect())),
        ("schedule_only", list(w.schedule_only.iter().map(|s| format!("{}:{} ({})", s.plugin, s.path, s.why)).collect())),
        ("not_watched", list(w.refused.iter().map(|r| format!("{}:{}", r.plugin, r.declared)).collect())),
    ]
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

fn plain(h: &Health, w: Option<&WatchRecord>) -> String {
    let mut out = String::new();
    for (name, value) in fields(h) {
        let _ = writeln!(out, "{:<17} {}", format!("{}:", name.replace('_', " ")), printable(&value));
    }
    problems(h, &mut out, "- ");
    for line in w.map(WatchRecord::lines).unwrap_or_default() {
        let _ = writeln!(out, "{}", printable(&line));
    }
    out
}

fn ninja(h: &Health, w: Option<&WatchRecord>) -> String {
    let mut out = String::new();
    for (name, value) in fields(h).into_iter().chain(watch_fields(w)) {
        let _ = writeln!(out, "plumbline_{name}={}", printable(&value));
    }
    let _ = writeln!(out, "plumbline_summary={}", printable(&h.summary()));
    out
}

fn datto(h: &Health, w: Option<&WatchRecord>) -> String {
    let result = bounded(&format!("STATUS={}", printable(&h.summary())), DATTO_RESULT_CHARS - 1);
    let mut out = format!("<-Start Result->\n{result}\n<-End Result->\n<-Start Diagnostic->\n");
    for (name, value) in fields(h).into_iter().chain(watch_fields(w)) {
        let _ = writeln!(out, "{name}={}", printable(&value));
    }
    problems(h, &mut out, "");
    out.push_str("<-End Diagnostic->\n");
    out
}

fn nable(h: &Health, w: Option<&WatchRecord>, windows: bool) -> Rendered {
    let mut out = plain(h, w);
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
    use crate::service::watch::record::{RefusedFolder, ScheduleOnly, WatchedFolder};

    fn healthy() -> Health {
        Health::assess(true, Some(&run("2026-12-01T06:10:00Z", &[], Some(Severity::Low))), &spool(0, 0), &Schedule::default(), Severity::High, NOW)
    }

    fn failing(plugins: &[&str], highest: Severity, finished: &str, rejected: usize) -> Health {
        Health::assess(true, Some(&run(finished, plugins, Some(highest))), &spool(rejected, rejected), &Schedule::default(), Severity::High, NOW)
    }

    #[test]
    fn plain_lists_every_field_and_the_fixes() {
        let r = render(Rmm::Plain, &healthy(), None);
        assert_eq!(r.code, 0);
        for want in ["status:           OK", "last scan:        2026-12-01T06:10:00Z", "queued batches:   0", "highest severity: low"] {
            assert!(r.stdout.contains(want), "{want}:\n{}", r.stdout);
        }
        let r = render(Rmm::Plain, &failing(&["smtp-relay"], Severity::Critical, "2026-12-01T06:10:00Z", 0), None);
        assert_eq!(r.code, 1);
        assert!(r.stdout.contains("failing plugins:  smtp-relay") && r.stdout.contains("- plugins failed"), "{}", r.stdout);
    }

    #[test]
    fn ninja_prints_fields_for_custom_fields_and_exits_1_to_alert() {
        let r = render(Rmm::Ninja, &failing(&["a", "b"], Severity::High, "2026-12-01T06:10:00Z", 0), None);
        assert_eq!(r.code, 1);
        for want in ["plumbline_status=ALERT\n", "plumbline_failing_plugins=a,b\n", "plumbline_highest_severity=high\n", "plumbline_problems=plugins_failing,findings\n"] {
            assert!(r.stdout.contains(want), "{want}:\n{}", r.stdout);
        }
        assert!(r.stdout.lines().all(|l| l.starts_with("plumbline_") && l.contains('=')), "{}", r.stdout);
        assert_eq!(render(Rmm::Ninja, &healthy(), None).code, 0);
    }

    #[test]
    fn datto_puts_one_bounded_status_between_the_markers() {
        let mut h = failing(&["x"; 40], Severity::Critical, "2026-11-20T00:00:00Z", 2);
        h.failing_plugins.iter_mut().enumerate().for_each(|(i, p)| p.name = format!("plugin-with-a-long-name-{i}"));
        let r = render(Rmm::Datto, &h, None);
        assert_eq!(r.code, 1, "non-zero raises the monitor's alert");
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!((lines[0], lines[2], lines[3]), ("<-Start Result->", "<-End Result->", "<-Start Diagnostic->"));
        assert!(lines[1].starts_with("STATUS=ALERT scan_stale:") && lines[1].chars().count() < DATTO_RESULT_CHARS, "{}", lines[1]);
        assert_eq!(*lines.last().unwrap(), "<-End Diagnostic->");
        let ok = render(Rmm::Datto, &healthy(), None);
        assert_eq!(ok.code, 0);
        assert!(ok.stdout.contains("<-Start Result->\nSTATUS=OK: last scan"), "{}", ok.stdout);
    }

    #[test]
    fn nable_exits_with_the_first_problem_s_code_above_1000() {
        let h = failing(&[], Severity::High, "2026-12-01T06:10:00Z", 0);
        assert_eq!(nable(&h, None, true).code, 1007, "findings at or above high");
        let h = failing(&["p"], Severity::High, "2026-11-01T00:00:00Z", 1);
        assert_eq!(nable(&h, None, true).code, 1003, "the stale scan comes first");
        let unix = nable(&h, None, false);
        assert_eq!(unix.code, 1);
        assert!(unix.stdout.contains("N-sight code 1003"), "{}", unix.stdout);
        assert_eq!(nable(&healthy(), None, true).code, 0);
        assert!(nable(&h, None, true).stdout.chars().count() < NABLE_OUTPUT_CHARS);
    }

    fn watching() -> WatchRecord {
        WatchRecord {
            watched: vec![WatchedFolder { plugin: "probe".into(), path: "/srv/scripts".into(), dirs: 3 }],
            schedule_only: vec![ScheduleOnly { plugin: "webhook-finder".into(), path: "/home".into(), why: "over max_watched_dirs = 2".into() }],
            refused: vec![RefusedFolder { plugin: "probe".into(), declared: "/etc".into() }],
            control: Vec::new(),
        }
    }

    #[test]
    fn the_watches_are_fields_for_ninja_and_datto_and_lines_for_plain_and_nable() {
        let w = watching();
        let ninja = render(Rmm::Ninja, &healthy(), Some(&w)).stdout;
        for want in [
            "plumbline_watching=probe:/srv/scripts\n",
            "plumbline_schedule_only=webhook-finder:/home (over max_watched_dirs = 2)\n",
            "plumbline_not_watched=probe:/etc\n",
        ] {
            assert!(ninja.contains(want), "{want}:\n{ninja}");
        }
        assert!(ninja.lines().all(|l| l.starts_with("plumbline_") && l.contains('=')), "{ninja}");
        assert!(!render(Rmm::Ninja, &healthy(), None).stdout.contains("watching"), "no service, no watch fields");
        let datto = render(Rmm::Datto, &healthy(), Some(&w)).stdout;
        let diagnostic = datto.split("<-Start Diagnostic->").nth(1).unwrap();
        assert!(diagnostic.contains("schedule_only=webhook-finder:/home"), "{datto}");
        assert!(!datto.split("<-End Result->").next().unwrap().contains("watching"), "the result stays the status");
        for rmm in [Rmm::Plain, Rmm::Nable] {
            let out = render(rmm, &healthy(), Some(&w)).stdout;
            assert!(out.contains("watching:      /srv/scripts for probe (3 directories)"), "{out}");
        }
        assert_eq!(render(Rmm::Intune, &healthy(), Some(&w)), render(Rmm::Intune, &healthy(), None), "not Intune's matter");
        let mut many = watching();
        many.watched = (0..100).map(|i| WatchedFolder { plugin: "p".into(), path: format!("/srv/{i}"), dirs: 1 }).collect();
        let ninja = render(Rmm::Ninja, &healthy(), Some(&many)).stdout;
        let field = ninja.lines().find(|l| l.starts_with("plumbline_watching=")).unwrap();
        assert!(field.chars().count() <= "plumbline_watching=".len() + WATCH_FIELD_CHARS, "{field}");
    }

    #[test]
    fn intune_detects_a_working_agent_only_and_ignores_findings() {
        let r = render(Rmm::Intune, &failing(&["p"], Severity::Critical, "2026-12-01T06:10:00Z", 0), None);
        assert_eq!(r.code, 0, "findings and a failing plugin are not a broken install");
        assert!(r.stdout.starts_with("Plumbline agent installed and working"), "{}", r.stdout);
        let not = Health::assess(false, None, &spool(0, 0), &Schedule::default(), Severity::High, NOW);
        let r = render(Rmm::Intune, &not, None);
        assert_eq!((r.code, r.stdout.as_str()), (1, ""), "not detected: nothing on stdout");
        assert!(r.stderr.contains("not enrolled"), "{}", r.stderr);
        let r = render(Rmm::Intune, &failing(&[], Severity::Low, "2026-11-01T00:00:00Z", 0), None);
        assert_eq!(r.code, 1, "a schedule that stopped is not working");
        // Intune runs the detection right after the install: enrolled, not scanned yet.
        let fresh = Health::assess(true, None, &spool(0, 0), &Schedule::default(), Severity::High, NOW);
        assert_eq!(fresh.problems, [Problem::NeverScanned]);
        let r = render(Rmm::Intune, &fresh, None);
        assert!(r.code == 0 && !r.stdout.is_empty(), "detected: {r:?}");
    }
}
