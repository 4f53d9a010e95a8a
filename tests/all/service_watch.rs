//! The long-lived `plumbline service run` watching between scans, with the
//! real binary and real files: a good config change is loaded without a
//! restart and a bad one refused while the running set keeps scanning; a
//! new script with a webhook URL in webhook-finder's granted folder
//! rescans webhook-finder alone, and the real collector's register gets
//! the URL's fingerprint (never the URL) while the other plugin's
//! connectors stand; a declared folder outside the grants is not watched;
//! over the cap, a folder falls back to the schedule with a warning.
#![cfg(unix)]

use crate::delivery::{delivery_section, enroll, text};
use crate::end_to_end::{get, Collector};
use crate::service::{read, spawn, terminate, wait_exit, wait_for_log, wait_for_logged, PATIENCE};
use crate::support::{lit, Site};
use plumbline_protocol::read_api::RegisterView;
use plumbline_tests::plugins;
use plumbline_tests::stub_collector::StubCollector;
use std::path::{Path, PathBuf};
use std::process::Child;

const FINDER: &str = "webhook-finder";
const PROBE: &str = "fixture-contract-probe";
/// A week between steps, no delay: every scan after the first is one the
/// watches started.
const SCHEDULE: &str = "[schedule]\nevery = '7d'\njitter = '0s'\nrescan_after_change = '1s'\n";

/// The service, stopped (or killed) when the test ends however it ends.
struct Service {
    child: Child,
    log: PathBuf,
}

impl Service {
    fn start(config: &str, log: PathBuf) -> Service {
        Service { child: spawn(&["service", "run", "--config", config], &log), log }
    }

    fn wait_for(&mut self, needle: &str) -> String {
        wait_for_log(&self.log, needle, &mut self.child)
    }

    fn wait_for_times(&mut self, needle: &str, times: usize) -> String {
        wait_for_logged(&self.log, needle, times, &mut self.child)
    }

    fn log(&self) -> String {
        read(&self.log)
    }

    fn stop(mut self) {
        terminate(&self.child);
        assert_eq!(wait_exit(&mut self.child), Some(0), "{}", self.log());
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// webhook-finder over `folders` (granted and searched), with `settings`.
fn finder_section(folders: &[&Path], settings: &str) -> String {
    let list: Vec<String> = folders.iter().map(|f| lit(f)).collect();
    let paths: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
    format!(
        "[plugins.{FINDER}]\npath = {}\n[plugins.{FINDER}.grants]\nfiles = [{}]\n[plugins.{FINDER}.settings]\n\
         paths = '{}'\n{settings}\n",
        lit(&plugins::plugin(FINDER)),
        list.join(", "),
        paths.join(",")
    )
}

fn workflow_url(sig: &str) -> String {
    format!(
        "https://prod-42.westeurope.logic.azure.com:443/workflows/42424242424242424242424242424242/triggers/manual/\
         paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}"
    )
}

fn fingerprint(url: &str) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(url.as_bytes())))
}

/// `max_files` of webhook-finder's search entry in a stored batch.
fn max_files(batch: &plumbline_protocol::batch::ScanBatch) -> String {
    let search = batch.connectors.iter().find(|c| c.attributes.contains_key("max_files")).expect("the search entry");
    search.attributes["max_files"].clone()
}

fn write_config(site: &Site, body: &str) -> String {
    site.config(body).to_string_lossy().into_owned()
}

#[test]
fn a_config_change_is_loaded_without_a_restart_and_a_bad_one_is_refused() {
    let stub = StubCollector::start();
    let site = Site::new();
    let scripts = site.path("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::write(scripts.join("backup.ps1"), "Write-Host 'no webhook here'\n").unwrap();
    let body = |settings: &str| format!("{}{SCHEDULE}{}", delivery_section(&site, ""), finder_section(&[&scripts], settings));
    let config = write_config(&site, &body("max_files = 100"));
    assert_eq!(enroll(&site, &config, &stub, "enroll-token-1").status.code(), Some(0));
    let mut service = Service::start(&config, site.path("service.log"));
    assert!(stub.wait_until(PATIENCE, |s| s.stored().len() == 1), "the missed step: {}", service.log());
    service.wait_for_times("next scan at", 2);
    assert_eq!(max_files(&stub.stored()[0].batch), "100");

    // A good change: loaded at once, and the next scan (a rescan that a
    // changed script starts) runs with it.
    write_config(&site, &body("max_files = 123"));
    service.wait_for("reloaded");
    std::fs::write(scripts.join("backup.ps1"), "Write-Host 'changed'\n").unwrap();
    assert!(stub.wait_until(PATIENCE, |s| s.stored().len() == 2), "{}", service.log());
    assert_eq!(max_files(&stub.stored()[1].batch), "123", "{}", service.log());

    // A file that does not parse: refused, one line, and the running set
    // keeps scanning.
    std::fs::write(&config, "tenant_id = 'x\n").unwrap();
    let said = service.wait_for("keeps scanning with the config it last loaded");
    assert!(said.contains("refused the changed config: config file") && said.contains("is invalid"), "{said}");
    std::fs::write(scripts.join("backup.ps1"), "Write-Host 'changed again'\n").unwrap();
    assert!(stub.wait_until(PATIENCE, |s| s.stored().len() == 3), "{}", service.log());
    assert_eq!(max_files(&stub.stored()[2].batch), "123");

    // One that parses but the plugin does not accept (describe): refused too.
    write_config(&site, &body("max_filez = 5"));
    let said = service.wait_for("refused the changed config or plugins");
    assert!(said.contains("unknown setting `max_filez`; did you mean `max_files`?"), "{said}");
    std::fs::write(scripts.join("new.ps1"), "Write-Host 'new'\n").unwrap();
    assert!(stub.wait_until(PATIENCE, |s| s.stored().len() == 4), "{}", service.log());
    assert_eq!(max_files(&stub.stored()[3].batch), "123");
    assert_eq!(service.log().matches("reloaded").count(), 1, "{}", service.log());
    assert_eq!(service.log().matches("service started").count(), 1, "never restarted");
    service.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_script_with_a_webhook_url_rescans_webhook_finder_alone_into_the_register() {
    let site = Site::new();
    let db = format!("sqlite:{}", site.path("collector.db").display());
    let collector = Collector::start(&site, &db).await;
    let exports = site.demo_exports();
    let (scripts, monitoring) = (site.path("scripts"), site.path("monitoring"));
    for dir in [&scripts, &monitoring] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(monitoring.join("check.sh"), "echo ok\n").unwrap();
    let body = format!(
        "{}[delivery]\ncollector_ca_file = {}\nkey_file = {}\nspool_dir = {}\n\n{}{}",
        SCHEDULE,
        lit(&collector.cert_file),
        lit(&site.path("keys/agent.key")),
        lit(&site.path("spool")),
        Site::exchange_offline_section(&exports),
        finder_section(&[&scripts, &monitoring], "")
    );
    let config = write_config(&site, &body);
    let out = site.run(&["enroll", "--collector", &collector.base, "--token", &collector.enroll_token, "--config", &config]);
    assert!(out.status.success(), "enroll: {}", text(&out));

    let mut service = Service::start(&config, site.path("service.log"));
    service.wait_for_times("next scan at", 2);
    let before: RegisterView = get(&collector, "register").await;
    let exchange: Vec<String> =
        before.connectors.iter().filter(|c| c.entry.plugin == "exchange-connectors").map(|c| c.entry.key.clone()).collect();
    assert!(!exchange.is_empty(), "the first scan delivered both plugins");

    let url = workflow_url("WATCHED-not-a-real-sig");
    std::fs::write(scripts.join("new-alert.ps1"), format!("$hook = '{url}'\nInvoke-RestMethod $hook\n")).unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    let register = loop {
        let now: RegisterView = get(&collector, "register").await;
        if now.connectors.iter().any(|c| c.entry.attributes.get("url_fingerprint") == Some(&fingerprint(&url))) {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "the new URL never reached the register: {}", service.log());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let said = service.wait_for("rescan delivered");
    assert_eq!(said.matches("rescanning this plugin alone").count(), 1, "{said}");
    assert!(said.contains(&format!("plugin=\"{FINDER}\"")) || said.contains(&format!("plugin={FINDER}")), "{said}");
    // The rescan's batch held webhook-finder alone; the collector judged
    // disappearance for it alone, so exchange-connectors' entries stand.
    for key in &exchange {
        let c = register.connectors.iter().find(|c| &c.entry.key == key).unwrap_or_else(|| panic!("{key} is gone"));
        assert!(c.status == "present" && c.disappeared_at.is_none(), "{key} marked disappeared by a one-plugin batch: {c:?}");
    }
    let everything = serde_json::to_string(&register).unwrap();
    assert!(!everything.contains("WATCHED-not-a-real-sig") && !everything.contains("/workflows/42424242"), "the URL leaked");
    assert_eq!(collector.store.counts().await.unwrap().batches, 2, "the scan at start and the rescan");
    service.stop();
}

#[test]
fn only_granted_folders_are_watched_within_the_cap() {
    let stub = StubCollector::start();
    let site = Site::new();
    let (watched, unwatched, scripts) = (site.path("watched"), site.path("unwatched"), site.path("scripts"));
    for dir in [&watched, &unwatched, &scripts.join("sub/deeper")] {
        std::fs::create_dir_all(dir).unwrap();
    }
    // The probe asks for `watched` (granted), `unwatched` and `/etc` (not).
    let probe = format!(
        "[plugins.{PROBE}]\npath = {}\n[plugins.{PROBE}.grants]\nfiles = [{}]\n",
        lit(&plugins::fixture_plugin(PROBE)),
        lit(&watched)
    );
    let body = format!(
        "{}{SCHEDULE}max_watched_dirs = 2\n{probe}{}",
        delivery_section(&site, ""),
        finder_section(&[&scripts], "")
    );
    let config = write_config(&site, &body);
    assert_eq!(enroll(&site, &config, &stub, "enroll-token-1").status.code(), Some(0));
    let mut service = Service::start(&config, site.path("service.log"));
    service.wait_for_times("next scan at", 2);
    let said = service.log();
    for refused in ["\"unwatched\"", "\"/etc\""] {
        assert!(
            said.lines().any(|l| l.contains(refused) && l.contains("not inside its granted directories")),
            "{refused}: {said}"
        );
    }
    // scripts holds three directories; the cap is two, the probe's one.
    let warning = said.lines().find(|l| l.contains(&format!("not watching {}", scripts.display()))).expect(&said);
    assert!(warning.contains("max_watched_dirs = 2") && warning.contains("schedule's steps only"), "{warning}");

    let out = site.run(&["status", "--config", &config]);
    let status = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        status.contains(&format!("watching:      {} for {PROBE} (1 directories)", watched.display())),
        "{status}\n{}",
        service.log()
    );
    assert!(status.contains(&format!("schedule only: {} for {FINDER}", scripts.display())), "{status}");
    assert!(status.contains(&format!("not watched:   \"/etc\" declared by {PROBE}")), "{status}");
    assert!(!status.contains(&format!("watching:      {}", unwatched.display())), "{status}");
    // An RMM's custom fields show the fallback too.
    let out = site.run(&["status", "--rmm", "ninja", "--config", &config]);
    let ninja = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(ninja.contains(&format!("plumbline_schedule_only={FINDER}:{} (", scripts.display())), "{ninja}");
    assert!(ninja.contains(&format!("plumbline_watching={PROBE}:{}\n", watched.display())), "{ninja}");

    // A change in the refused folder or the one over the cap starts
    // nothing; one in the granted folder rescans the probe.
    std::fs::write(unwatched.join("x.txt"), "x").unwrap();
    std::fs::write(scripts.join("sub/x.ps1"), "x").unwrap();
    std::fs::write(watched.join("x.txt"), "x").unwrap();
    assert!(stub.wait_until(PATIENCE, |s| s.stored().len() == 2), "{}", service.log());
    let rescan = &stub.stored()[1].batch;
    assert_eq!(rescan.plugins.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), vec![PROBE], "{}", service.log());
    service.wait_for("rescan delivered");
    assert_eq!(service.log().matches("rescanning this plugin alone").count(), 1, "{}", service.log());
    service.stop();
    let out = site.run(&["status", "--config", &config]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("watching:"), "a stopped service watches nothing");
}
