//! `plumbline service run` with the real binary against the stand-in
//! collector: one scan delivered and recorded (`--once`, the systemd
//! timer's unit); a stop request in the middle of a plugin call, which lets
//! the call finish and leaves a consistent spool; the long-lived loop,
//! which scans a missed step at start, idles, and stops on SIGTERM; and
//! never two scans at once; batches that wait are pushed between scans.
#![cfg(unix)]

use crate::delivery::{delivery_section, enroll, enrolled_site, spooled, text};
use crate::support::{lit, Site};
use plumbline_agent::service::lock::ScanLock;
use plumbline_agent::service::state;
use plumbline_tests::plugins;
use plumbline_tests::stub_collector::StubCollector;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a step the test waits for may take: compiling a plugin in a
/// debug build on a busy machine is the slow part.
pub(crate) const PATIENCE: Duration = Duration::from_secs(180);

/// `plumbline ARGS` in the background, its stderr (the service's log) in
/// `log`.
pub(crate) fn spawn(args: &[&str], log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_plumbline"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("PLUMBLINE_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("plumbline starts")
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Wait until `log` holds `needle` (or the process has ended).
pub(crate) fn wait_for_log(log: &Path, needle: &str, child: &mut Child) -> String {
    wait_for_logged(log, needle, 1, child)
}

/// Wait until `log` holds `needle` `times` times.
pub(crate) fn wait_for_logged(log: &Path, needle: &str, times: usize, child: &mut Child) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = read(log);
        if now.matches(needle).count() >= times {
            return now;
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            panic!("never logged {needle:?}:\n{}", read(log));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn terminate(child: &Child) {
    // SAFETY: sending a signal to our own child has no memory effects.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
}

pub(crate) fn wait_exit(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the service did not stop");
}

fn last_run(site: &Site) -> state::LastRun {
    state::load(&site.path("spool")).unwrap().expect("a last-run record")
}

#[test]
fn service_run_once_delivers_one_scan_and_records_it() {
    let stub = StubCollector::start();
    let site = Site::new();
    let exports = site.demo_exports();
    let config = site.config(&format!("{}\n{}", delivery_section(&site, ""), Site::exchange_offline_section(&exports)));
    let config = config.to_string_lossy().into_owned();
    assert_eq!(enroll(&site, &config, &stub, "enroll-token-1").status.code(), Some(0));

    let out = site.run(&["service", "run", "--once", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("plumbline: ") && said.contains("plugins: 1 ok, 0 failed"), "the summary line: {said}");
    assert!(said.contains("delivery: 1 delivered, 0 queued, 0 rejected"), "{said}");
    assert!(out.stdout.is_empty(), "a service prints no register to stdout");
    let stored = stub.stored();
    assert_eq!(stored.len(), 1);
    assert!(spooled(&site).is_empty());

    let run = last_run(&site);
    let scan = run.scan.expect("the scan is recorded");
    assert_eq!((run.by.as_str(), scan.connectors, scan.plugins), ("service", stored[0].batch.connectors.len(), 1));
    assert_eq!(scan.findings, stored[0].batch.findings.len());
    assert_eq!(scan.highest_severity, stored[0].batch.findings.iter().map(|f| f.severity).max());
    assert!(scan.failed_plugins.is_empty() && !scan.stopped);
    let delivery = run.delivery.expect("the delivery is recorded");
    assert_eq!((delivery.spooled, delivery.delivered, delivery.queued, delivery.error), (Some(1), 1, 0, None));
    let delivered_at = run.last_delivered_at.expect("the collector had it");

    // The collector is down: the batch waits, the record says why, and the
    // last good delivery is still the one before.
    stub.go_down();
    let out = site.run(&["service", "run", "--once", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "a down collector is not a failure: {}", text(&out));
    let run = last_run(&site);
    let delivery = run.delivery.unwrap();
    assert_eq!((delivery.spooled, delivery.queued), (Some(2), 1));
    assert!(delivery.error.unwrap().contains("unreachable"));
    assert_eq!(run.last_delivered_at.as_deref(), Some(delivered_at.as_str()));
}

/// A server on port 25 of a loopback address of its own (smtp-relay only
/// connects to the SMTP ports) that accepts one connection and holds it
/// until told to close.
fn holding_server() -> (String, std::sync::mpsc::Receiver<()>, std::sync::mpsc::Sender<()>) {
    let ip = plumbline_tests::postfix::free_loopback(&[25]).expect("a free loopback address");
    let listener = std::net::TcpListener::bind((ip, 25)).expect("bind port 25 (needs root)");
    let target = format!("{ip}:25");
    let (accepted_tx, accepted) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let _ = accepted_tx.send(());
            let _ = release_rx.recv();
            // Half a greeting, then the close: the plugin records an error
            // for this endpoint and its scan succeeds.
            let _ = conn.write_all(b"220-held");
        }
    });
    (target, accepted, release)
}

#[test]
fn a_stop_in_the_middle_of_a_plugin_call_lets_it_finish_and_spools_its_result() {
    let stub = StubCollector::start();
    let (target, accepted, release) = holding_server();
    let site = Site::new();
    let section = format!(
        "[plugins.smtp-relay]\npath = {}\ntimeout_secs = 300\n[plugins.smtp-relay.grants]\ntcp = ['{target}']\n\
         [plugins.smtp-relay.settings]\ntargets = '{target}'\nread_timeout_ms = 60000\nhost_budget_ms = 200000\n",
        lit(&plugins::plugin("smtp-relay"))
    );
    let config = site.config(&format!("{}\n{section}", delivery_section(&site, "")));
    let config = config.to_string_lossy().into_owned();
    assert_eq!(enroll(&site, &config, &stub, "enroll-token-1").status.code(), Some(0));

    let log = site.path("service.log");
    let mut child = spawn(&["service", "run", "--once", "--config", &config], &log);
    // The plugin is inside its scan, waiting on the held connection.
    accepted.recv_timeout(PATIENCE).expect("the plugin connected");
    terminate(&child);
    wait_for_log(&log, "stop requested", &mut child);
    release.send(()).unwrap();
    let code = wait_exit(&mut child);
    let said = read(&log);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("plugins: 1 ok, 0 failed"), "the call in progress finished: {said}");
    assert!(said.contains("0 delivered, 1 queued"), "{said}");

    // Spooled whole, not pushed; the record says the scan was cut short.
    assert_eq!(stub.ingest_requests(), 0);
    assert_eq!(spooled(&site).len(), 1);
    assert!(!std::fs::read_dir(site.path("spool")).unwrap().flatten().any(|e| e.path().extension().is_some_and(|x| x == "tmp")));
    let run = last_run(&site);
    assert!(run.scan.unwrap().stopped);
    assert!(run.delivery.unwrap().error.unwrap().contains("asked to stop"));

    // The next start sends it, with what the plugin found.
    let out = site.run(&["spool", "flush", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stored = stub.stored();
    let key = format!("smtp-relay/smtp:{target}");
    assert!(stored[0].batch.connectors.iter().any(|c| c.key == key), "{:?}", stored[0].batch.connectors);
}

pub(crate) fn vm_rss_kib(pid: u32) -> u64 {
    let status = read(&PathBuf::from(format!("/proc/{pid}/status")));
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS in /proc/PID/status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn the_service_loop_catches_up_a_missed_step_idles_and_stops_on_sigterm() {
    let stub = StubCollector::start();
    // Weekly, so no step falls between the two starts below.
    let (site, config) = enrolled_site(&stub, "[schedule]\nevery = '7d'\njitter = '0s'");
    let log = site.path("service.log");

    // No scan recorded: the missed step is caught up at once.
    let mut child = spawn(&["service", "run", "--config", &config], &log);
    assert!(stub.wait_until(PATIENCE, |s| s.stored().len() == 1), "{}", read(&log));
    // Once before the scan (now), once after it (the next step).
    wait_for_logged(&log, "next scan at", 2, &mut child);
    let next = last_run(&site).next_scan_at.expect("the next step is recorded");
    let rss = vm_rss_kib(child.id());
    eprintln!("idle RSS between scans (debug build, no plugins): {rss} KiB");
    terminate(&child);
    assert_eq!(wait_exit(&mut child), Some(0), "{}", read(&log));
    assert!(read(&log).contains("service stopped"), "{}", read(&log));

    // Started again after this step's scan: it waits for the next step.
    let log = site.path("service-2.log");
    let mut child = spawn(&["service", "run", "--config", &config], &log);
    let said = wait_for_log(&log, "next scan at", &mut child);
    assert!(said.contains(&format!("next scan at {next}")), "{said}");
    terminate(&child);
    assert_eq!(wait_exit(&mut child), Some(0), "{}", read(&log));
    assert_eq!(stub.stored().len(), 1, "no second scan");
}

#[test]
fn batches_that_could_not_be_delivered_are_pushed_between_scans() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "[schedule]\nevery = '7d'\njitter = '0s'\nflush_every = '10s'");
    let log = site.path("service.log");
    stub.go_down();
    let mut child = spawn(&["service", "run", "--config", &config], &log);
    wait_for_logged(&log, "next scan at", 2, &mut child);
    assert_eq!(spooled(&site).len(), 1, "the scan's batch waits: {}", read(&log));
    assert!(last_run(&site).last_delivered_at.is_none());
    stub.come_up();
    assert!(stub.wait_until(PATIENCE, |s| s.stored().len() == 1), "{}", read(&log));
    let said = wait_for_log(&log, "between scans: delivery: 1 delivered, 0 queued", &mut child);
    assert!(spooled(&site).is_empty(), "{said}");
    terminate(&child);
    assert_eq!(wait_exit(&mut child), Some(0), "{}", read(&log));
    assert!(last_run(&site).last_delivered_at.is_some(), "status sees the delivery");
}

#[test]
fn never_two_scans_at_once() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "");
    let held = ScanLock::try_acquire(&site.path("spool")).unwrap();
    let out = site.run(&["run", "--config", &config]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("a scan is already running") && text(&out).contains(&format!("pid {}", std::process::id())), "{}", text(&out));
    // The timer's unit skips its turn and says why; it is not a failure.
    let out = site.run(&["service", "run", "--once", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("skipped"), "{}", text(&out));
    assert_eq!(stub.ingest_requests(), 0);
    drop(held);
    let out = site.run(&["service", "run", "--once", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stub.stored_sequences(), vec![1]);
}
