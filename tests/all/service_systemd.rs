//! `plumbline service install|uninstall` on Linux, below a `--root` so no
//! running systemd is needed: the units it writes pass the real
//! `systemd-analyze verify`, the real `systemctl --root` enables the timer,
//! (both timers: the scan's and the flush's), and the timer's calendar steps are the ones the agent's own loop keeps
//! (checked with `systemd-analyze calendar`).
#![cfg(target_os = "linux")]

use crate::delivery::text;
use crate::support::{lit, Site};
use plumbline_agent::config::Config;
use std::path::Path;
use std::process::Command;

fn tool(name: &str) -> Command {
    let found = Command::new("sh").args(["-c", &format!("command -v {name}")]).output().unwrap();
    assert!(found.status.success(), "{name} is missing: scripts/install-deps installs it (Debian package systemd)");
    Command::new(name)
}

/// `systemd-analyze verify` on unit files: its exit code, and the lines it
/// said about them, less the one about timers.target, which exists only
/// on a machine that boots with systemd.
fn verify(units: &[&Path]) -> (bool, Vec<String>) {
    let out = tool("systemd-analyze").arg("verify").args(units).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let lines = said
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("non-existent unit timers.target"))
        .map(str::to_string)
        .collect();
    (out.status.success(), lines)
}

fn site_config(site: &Site, schedule: &str) -> String {
    let exports = site.demo_exports();
    let body = format!(
        "{schedule}\n{}\n[delivery]\nspool_dir = {}\nkey_file = {}\n",
        Site::exchange_offline_section(&exports),
        lit(&site.path("state/spool")),
        lit(&site.path("state/keys/agent.key"))
    );
    site.config(&body).to_string_lossy().into_owned()
}

#[test]
fn installed_units_pass_systemd_analyze_verify_and_the_timer_is_enabled_offline() {
    let site = Site::new();
    let config = site_config(&site, "[schedule]\nevery = '4h'\njitter = '20m'");
    let root = site.path("root");
    let root_s = root.to_string_lossy().into_owned();
    let binary = env!("CARGO_BIN_EXE_plumbline");
    let out = site.run(&["service", "install", "--root", &root_s, "--config", &config, "--binary", binary]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let dir = root.join("etc/systemd/system");
    let (service, timer) = (dir.join("plumbline.service"), dir.join("plumbline.timer"));
    let (flush, flush_timer) = (dir.join("plumbline-flush.service"), dir.join("plumbline-flush.timer"));
    let wants = dir.join("timers.target.wants/plumbline.timer");
    let flush_wants = dir.join("timers.target.wants/plumbline-flush.timer");
    for link in [&wants, &flush_wants] {
        assert!(std::fs::symlink_metadata(link).is_ok(), "systemctl --root enabled {}: {}", link.display(), text(&out));
    }

    let unit = std::fs::read_to_string(&service).unwrap();
    assert!(unit.contains(&format!("ExecStart={binary} service run --once --config {config}\n")), "{unit}");
    // The spool and keys moved out of /var/lib/plumbline stay writable.
    assert!(unit.contains(&format!("ReadWritePaths=-{}", site.path("state/spool").display())), "{unit}");
    let timer_text = std::fs::read_to_string(&timer).unwrap();
    assert!(timer_text.contains("OnCalendar=*-*-* 00/4:00:00 UTC\n") && timer_text.contains("RandomizedDelaySec=1200\n"), "{timer_text}");

    let (ok, said) = verify(&[&service, &timer, &flush, &flush_timer]);
    assert!(ok && said.is_empty(), "systemd-analyze verify: {said:#?}\n{unit}\n{timer_text}");
    let flush_text = std::fs::read_to_string(&flush).unwrap();
    assert!(flush_text.contains(&format!("ExecStart={binary} spool flush --config {config}\n")), "{flush_text}");

    // systemd's own rating of the hardening (0 safest, 10 none): "OK" is below 5.
    let out = tool("systemd-analyze").args(["security", "--offline=yes"]).arg(&service).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let level: f64 = said
        .lines()
        .find_map(|l| l.split("Overall exposure level for plumbline.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in {said}"));
    assert!(level < 5.0, "exposure {level}:\n{said}");

    // The check can fail: the same unit with one key misspelled does not pass.
    let bad = site.path("bad/plumbline.service");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, unit.replace("ProtectSystem=strict", "ProtectSystm=strict")).unwrap();
    let (_, said) = verify(&[&bad]);
    assert!(said.iter().any(|l| l.contains("Unknown key") && l.contains("ProtectSystm")), "{said:#?}");

    // start, stop and status need the live systemd, not a --root.
    let out = site.run(&["service", "start", "--root", &root_s]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("needs the running systemd"), "{}", text(&out));

    let out = site.run(&["service", "uninstall", "--root", &root_s]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for gone in [&service, &timer, &flush, &flush_timer] {
        assert!(!gone.exists(), "{} is still there: {}", gone.display(), text(&out));
    }
    assert!(std::fs::symlink_metadata(&wants).is_err() && std::fs::symlink_metadata(&flush_wants).is_err(), "{}", text(&out));
    assert!(text(&out).contains("the spool, the keys and the config are kept"), "{}", text(&out));
    let out = site.run(&["service", "uninstall", "--root", &root_s]);
    assert!(out.status.success() && text(&out).contains("not installed"), "{}", text(&out));
}

#[test]
fn without_a_running_systemd_nothing_is_installed_and_the_message_says_what_to_do() {
    if Path::new("/run/systemd/system").is_dir() {
        // Booted with systemd (a developer's machine): the install would be
        // real, which is no test's business. Here and in CI it is not.
        return;
    }
    let site = Site::new();
    let config = site_config(&site, "");
    let out = site.run(&["service", "install", "--config", &config, "--binary", env!("CARGO_BIN_EXE_plumbline")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not running systemd") && text(&out).contains("--root"), "{}", text(&out));
    assert!(!Path::new("/etc/systemd/system/plumbline.service").exists(), "nothing was written");
}

#[test]
fn a_config_that_does_not_load_installs_nothing() {
    let site = Site::new();
    let config = site_config(&site, "[schedule]\nevery = '7h'");
    let root = site.path("root");
    let out = site.run(&["service", "install", "--root", &root.to_string_lossy(), "--config", &config]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("every = \"7h\"") && text(&out).contains("6h, 8h"), "{}", text(&out));
    assert!(!root.exists(), "nothing was written");
}

/// The next step systemd computes for each accepted `every` is the one the
/// long-lived service (Windows) computes: both scan at the same times.
#[test]
fn every_accepted_schedule_is_a_calendar_systemd_reads_the_same_way() {
    for every in ["5m", "10m", "15m", "20m", "30m", "1h", "2h", "3h", "4h", "6h", "8h", "12h", "1d", "7d"] {
        let text = format!("tenant_id = 't'\nsite_id = 's'\n[schedule]\nevery = '{every}'\n");
        let schedule = Config::parse(&text, Path::new("/etc/plumbline/plumbline.toml")).unwrap().schedule;
        let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let before = schedule.next_step_after(now());
        let out = tool("systemd-analyze").args(["calendar", &schedule.on_calendar()]).output().unwrap();
        let after = schedule.next_step_after(now());
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{every}: {said}{}", String::from_utf8_lossy(&out.stderr));
        let elapse = said
            .lines()
            .find_map(|l| l.trim().strip_prefix("Next elapse: "))
            .unwrap_or_else(|| panic!("{every}: no next elapse in {said}"));
        // "Tue 2026-12-01 18:00:00 UTC"
        let stamp = elapse.split_whitespace().skip(1).take(2).collect::<Vec<_>>().join("T") + "Z";
        let at = time::OffsetDateTime::parse(&stamp, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{every}: {elapse:?}: {e}"))
            .unix_timestamp() as u64;
        assert!(at == before || at == after, "{every}: systemd says {elapse}, the agent {before}");
    }
}
