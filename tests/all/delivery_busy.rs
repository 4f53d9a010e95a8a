//! A spool that another process is pushing: a scan still spools its batch
//! at once, and the batches go in order once the push is free.

use crate::delivery::{batch_name, enrolled_site, spooled, stdout, text};
use plumbline_tests::stub_collector::{Hold, StubCollector};
use std::time::{Duration, Instant};

/// A flush held by a collector that never answers once made a scan wait the
/// whole spool lock wait (5 minutes) and then drop its batch. Now the lock
/// is held only while the spool changes: the scan spools at once and leaves
/// the push to the flush in progress.
#[cfg(unix)]
#[test]
fn a_scan_during_a_stuck_flush_spools_its_batch_at_once() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "");
    stub.go_down();
    let out = site.run(&["run", "--config", &config]);
    assert_eq!(spooled(&site), vec![batch_name(1)], "{}", text(&out));
    stub.come_up();
    stub.set_hold(Hold::BeforeStore);
    // `spool flush` holds no scan lock: a scheduled scan may start while it pushes.
    let mut stuck = std::process::Command::new(env!("CARGO_BIN_EXE_plumbline"))
        .args(["spool", "flush", "--config", &config])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("plumbline starts");
    assert!(stub.wait_until(Duration::from_secs(60), |s| s.ingest_requests() == 1), "the push never arrived");

    let started = Instant::now();
    let out = site.run(&["run", "--config", &config]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(took < Duration::from_secs(30), "the scan waited {took:?} for the stuck flush");
    assert!(text(&out).contains("is pushing this spool and sends these batches too"), "{}", text(&out));
    assert_eq!(spooled(&site), vec![batch_name(1), batch_name(2)], "both batches wait, in order");
    let pushes = stub.ingest_requests();
    assert!(stub.stored().is_empty(), "the second run did not push alongside the first ({pushes} requests)");

    stuck.kill().unwrap();
    stuck.wait().unwrap();
    stub.set_hold(Hold::Never);
    let out = site.run(&["spool", "flush", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).contains("2 delivered"), "{}", text(&out));
    assert_eq!(stub.stored_sequences(), vec![1, 2]);
    assert!(spooled(&site).is_empty());
}
