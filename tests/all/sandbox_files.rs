//! Hostile plugins against the file capability and the operator's log: no
//! race between the check and the read, no read that blocks for ever, and
//! no flood or forged line in the log.

use crate::support::{error_of, Site};

/// Distinct answers the race fixture got, one per line.
fn answers(site: &Site, target: &std::path::Path, granted: &std::path::Path, rounds: usize, timeout: u64) -> String {
    let body = Site::fixture_section(
        "fixture-file-race",
        &format!(
            "timeout_secs = {timeout}\n[plugins.fixture-file-race.grants]\nfiles = ['{}']\n[plugins.fixture-file-race.settings]\ntarget = '{}'\nrounds = {rounds}",
            granted.display(),
            target.display()
        ),
    );
    let config = site.config(&body);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let result = runtime.block_on(site.scan(&config));
    let e = error_of(&result, "fixture-file-race");
    let (_, seen) = e.split_once("(other): ").unwrap_or_else(|| panic!("not the fixture's report: {e}"));
    seen.to_string()
}

/// The path was checked, then opened again by name: a link swapped in
/// between was followed. Now the read comes from the handle that was
/// checked, so the secret never comes back, however the swaps fall.
#[cfg(unix)]
#[test]
fn a_link_swapped_in_during_reads_never_yields_the_secret() {
    let site = Site::new();
    let granted = site.path("granted");
    std::fs::create_dir_all(&granted).unwrap();
    let secret = site.path("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-CONTENT").unwrap();
    let target = granted.join("report.json");
    std::fs::write(&target, "fine").unwrap();

    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let flips = std::sync::Arc::new(AtomicU64::new(0));
    let flipper = {
        let (stop, flips) = (stop.clone(), flips.clone());
        let (granted, target, secret) = (granted.clone(), target.clone(), secret.clone());
        std::thread::spawn(move || {
            let (file, link) = (granted.join(".file.tmp"), granted.join(".link.tmp"));
            while !stop.load(Ordering::Relaxed) {
                std::fs::write(&file, "fine").unwrap();
                std::fs::rename(&file, &target).unwrap();
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(&secret, &link).unwrap();
                std::fs::rename(&link, &target).unwrap();
                flips.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    // Scan again until the reads really overlapped with many swaps: on a
    // busy machine one scan may finish before the flipper gets going.
    let mut seen = String::new();
    for _ in 0..20 {
        let before = flips.load(Ordering::Relaxed);
        seen.push_str(&answers(&site, &target, &granted, 5_000, 60));
        seen.push('\n');
        if flips.load(Ordering::Relaxed) - before >= 100 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    let flips = flips.load(Ordering::Relaxed);
    assert!(flips >= 100, "the test must really race ({flips} swaps)");
    assert!(!seen.contains("TOP-SECRET"), "the secret came back through a swapped link: {seen}");
    assert!(seen.lines().any(|l| l == "read: fine"), "reads of the granted file still work: {seen}");
}

/// A FIFO in a granted tree once blocked the read for ever (the plugin
/// then died at its time limit). It opens without blocking now and is
/// refused as not a regular file.
#[cfg(unix)]
#[test]
fn a_fifo_is_refused_at_once_rather_than_read_for_ever() {
    let site = Site::new();
    let granted = site.path("granted");
    std::fs::create_dir_all(&granted).unwrap();
    let fifo = granted.join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let began = std::time::Instant::now();
    let seen = answers(&site, &fifo, &granted, 1, 20);
    assert_eq!(seen, "error: other", "a FIFO is not a regular file: {seen}");
    assert!(began.elapsed() < std::time::Duration::from_secs(15), "the read waited on the FIFO");
}

/// 5,000 log lines and 5,000 denials, each carrying a forged line behind a
/// newline: the operator's log gets at most the budget, one line saying how
/// many were dropped, and no forged line of its own.
#[test]
fn a_flooding_plugin_gets_its_budget_and_cannot_forge_lines() {
    let site = Site::new();
    let config = site.config(&Site::fixture_section("fixture-log-flood", ""));
    let out = site.run(&["scan", "--config", &config.to_string_lossy(), "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.iter().any(|l| l.trim_start().starts_with("FORGED")), "a forged line reached the log");
    assert!(!stderr.contains('\x1b') && !stderr.contains('\r'), "control characters reached the log");
    let from_plugin = lines.iter().filter(|l| l.contains("fixture-log-flood")).count();
    assert!(from_plugin <= 1_000 + 5, "{from_plugin} lines from one plugin");
    assert!(from_plugin >= 1_000, "the budget is 1,000 lines, not fewer: {from_plugin}");
    let dropped = lines.iter().find(|l| l.contains("were dropped")).expect("one line says how many were dropped");
    assert!(dropped.contains("9000 log lines") || dropped.contains("dropped=9000"), "{dropped}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["plugins"][0]["status"], "ok", "the flood itself is not a failure");
}
