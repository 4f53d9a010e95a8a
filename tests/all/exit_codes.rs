//! Exit codes as an RMM check reads them, through the real binary: each
//! code for its case, the precedence when several apply, a closed stdout,
//! and the table in `--help` and the README being the same.

use crate::delivery::{enrolled_site, text};
use crate::support::{lit, shared_compile_cache, Site};
use plumbline_tests::plugins;
use plumbline_tests::stub_collector::StubCollector;
use std::process::{Command, Stdio};

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

fn last_line(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim_end().lines().last().unwrap_or_default().to_string()
}

/// The demo's Exchange exports (high findings) and a plugin that traps.
fn findings_and_a_crash(site: &Site) -> String {
    let exports = site.demo_exports();
    [Site::exchange_offline_section(&exports), Site::fixture_section("fixture-trap", "")].join("\n")
}

#[test]
fn the_exit_codes_in_help_are_the_readme_s() {
    let site = Site::new();
    let help = String::from_utf8(site.run(&["--help"]).stdout).unwrap();
    let table = &help[help.find("Exit codes").expect("--help lists the exit codes")..];
    for code in 0..=4 {
        assert!(table.contains(&format!("\n  {code}  ")), "code {code} missing from:\n{table}");
    }
    let readme = std::fs::read_to_string(plugins::root().join("README.md")).unwrap();
    assert!(readme.contains(table.trim_end()), "README.md must hold `plumbline --help`'s table verbatim:\n{table}");
    for command in ["scan", "run"] {
        let help = String::from_utf8(site.run(&[command, "--help"]).stdout).unwrap();
        assert!(help.contains(table.trim_end()), "{command} --help:\n{help}");
    }
}

#[test]
fn a_failed_plugin_exits_3_even_with_fail_on_and_the_summary_says_it_failed() {
    let site = Site::new();
    let config = site.config(&findings_and_a_crash(&site));
    let config = config.to_string_lossy().into_owned();
    for extra in [&[][..], &["--fail-on", "high"][..]] {
        let out = site.run(&[&["scan", "--config", config.as_str()][..], extra].concat());
        assert_eq!(code(&out), Some(3), "a failed plugin beats findings ({extra:?}): {}", text(&out));
        let last = last_line(&out);
        assert!(last.starts_with("plumbline: INCOMPLETE: fixture-trap failed"), "{last}");
        assert!(last.contains("plugins: 1 ok, 1 failed"), "{last}");
    }

    // A settings typo stops the only plugin: "0 critical" is no all-clear,
    // and it is the config's to fix, so it exits 2 ahead of a crash's 3.
    let site = Site::new();
    let exports = site.demo_exports();
    let section = Site::exchange_offline_section(&exports).replace("mode = 'offline'", "mode = 'ofline'");
    let config = site.config(&[section, Site::fixture_section("fixture-trap", "")].join("\n"));
    let out = site.run(&["scan", "--config", &config.to_string_lossy(), "--fail-on", "critical", "--format", "json"]);
    assert_eq!(code(&out), Some(2), "{}", text(&out));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |name: &str| printed["plugins"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["status"].clone();
    assert_eq!((status("exchange-connectors"), status("fixture-trap")), ("config".into(), "error".into()));
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("plumbline: INCOMPLETE: exchange-connectors, fixture-trap failed"), "{summary}");
}

#[test]
fn a_mistyped_plugin_dir_is_a_configuration_error_said_once() {
    let site = Site::new();
    let good = Site::exchange_offline_section(&site.demo_exports());
    let typo = site.path("plugins-typo");
    let body = format!(
        "tenant_id = 't'\nsite_id = 's'\nplugin_dir = {}\ncache_dir = {}\nplugin_trust = {{ publishers = ['{}'] }}\n\
         [plugins.smtp-relay]\n[plugins.teams-webhooks]\n",
        lit(&typo),
        lit(&shared_compile_cache()),
        plugins::publisher()
    );
    let config = site.path("typo.toml");
    std::fs::write(&config, &body).unwrap();
    let out = site.run(&["scan", "--config", &config.to_string_lossy(), "--fail-on", "info"]);
    assert_eq!(code(&out), Some(2), "{}", text(&out));
    assert!(last_line(&out).contains("plugins: 0 ok, 2 failed"), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let said: Vec<&str> = err.lines().filter(|l| l.starts_with("plumbline: error: no plugin file")).collect();
    assert_eq!(said.len(), 1, "one message for one typo: {err}");
    assert!(said[0].contains("[plugins.smtp-relay]") && said[0].contains("[plugins.teams-webhooks]"), "{err}");
    assert!(said[0].contains(&format!("plugin_dir {} does not exist", typo.display())), "{err}");

    // The plugins that are there still run and print; the code still says
    // the config is wrong, ahead of their findings.
    std::fs::write(&config, format!("{body}{good}")).unwrap();
    let out = site.run(&["scan", "--config", &config.to_string_lossy(), "--format", "json", "--fail-on", "high"]);
    assert_eq!(code(&out), Some(2), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the scan's JSON");
    let plugins = doc["plugins"].as_array().unwrap();
    let ok: Vec<&str> = plugins.iter().filter(|p| p["status"] == "ok").map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(ok, ["exchange-connectors"]);
}

#[test]
fn a_misspelled_plugin_section_is_a_configuration_error_that_names_the_plugin_meant() {
    let site = Site::new();
    let exports = site.demo_exports();
    let path_line = format!("path = {}\n", lit(&plugins::plugin("exchange-connectors")));
    let typo = Site::exchange_offline_section(&exports)
        .replace(&path_line, "")
        .replace("exchange-connectors", "exchange-conectors");
    // With its own path, the name does not pick the file: no guess.
    let absent = site.path("absent.wasm");
    let config = site.config(&format!("{typo}\n[plugins.smtp-relai]\npath = {}\n", lit(&absent)));
    for format in ["table", "json"] {
        let out = site.run(&["scan", "--config", &config.to_string_lossy(), "--format", format]);
        assert_eq!(code(&out), Some(2), "{format}: {}", text(&out));
        let all = text(&out);
        assert_eq!(all.matches("did you mean").count(), 1, "said once ({format}): {all}");
        let err = String::from_utf8_lossy(&out.stderr);
        let said: Vec<&str> = err.lines().filter(|l| l.starts_with("plumbline: error: no plugin file")).collect();
        assert_eq!(said.len(), 1, "{format}: {err}");
        let meant = "[plugins.exchange-conectors] (";
        assert!(said[0].contains(meant) && said[0].contains("did you mean `exchange-connectors`?"), "{err}");
        assert!(said[0].contains(&format!("[plugins.smtp-relai] ({})", absent.display())), "{err}");
    }
}

#[test]
fn a_refused_delivery_exits_4_ahead_of_a_failed_plugin_and_findings() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "");
    let mut body = std::fs::read_to_string(&config).unwrap();
    body.push_str(&findings_and_a_crash(&site));
    std::fs::write(&config, &body).unwrap();

    stub.revoke(&stub.agents()[0].agent_id);
    let out = site.run(&["run", "--config", &config, "--fail-on", "high"]);
    assert_eq!(code(&out), Some(4), "{}", text(&out));
    assert_eq!(last_line(&out), "delivery: 0 delivered, 0 queued, 1 rejected");
    let out = site.run(&["spool", "flush", "--config", &config]);
    assert_eq!(code(&out), Some(0), "nothing left to refuse: {}", text(&out));

    stub.reinstate(&stub.agents()[0].agent_id);
    let out = site.run(&["run", "--config", &config, "--fail-on", "high"]);
    assert_eq!(code(&out), Some(3), "delivered, but a plugin failed: {}", text(&out));
    assert_eq!(last_line(&out), "delivery: 1 delivered, 0 queued, 0 rejected");

    // A missing plugin file outranks even a refusal.
    stub.revoke(&stub.agents()[0].agent_id);
    std::fs::write(&config, format!("{body}\n[plugins.absent]\npath = {}\n", lit(&site.path("absent.wasm")))).unwrap();
    let out = site.run(&["run", "--config", &config]);
    assert_eq!(code(&out), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("1 rejected") && said.contains("no plugin file for [plugins.absent]"), "{said}");
}

/// `plumbline ... | head -c10`: the reader leaves before the agent writes.
fn with_stdout_closed(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plumbline"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("PLUMBLINE_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("plumbline starts");
    drop(child.stdout.take());
    child.wait_with_output().expect("plumbline ends")
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let site = Site::new();
    let config = site.config(&Site::exchange_offline_section(&site.demo_exports()));
    let config = config.to_string_lossy();
    for format in ["json", "table", "csv"] {
        let out = with_stdout_closed(&["scan", "--config", &config, "--format", format]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), Some(0), "{format}: {err}");
        assert!(!err.contains("error") && !err.contains("Broken pipe") && !err.contains("panicked"), "{format}: {err}");
    }
    let out = with_stdout_closed(&["scan", "--config", &config, "--fail-on", "high"]);
    assert_eq!(code(&out), Some(1), "the exit code is the scan's: {}", String::from_utf8_lossy(&out.stderr));

    // `run` goes on to deliver after its reader has gone.
    let stub = StubCollector::start();
    let (_site, config) = enrolled_site(&stub, "");
    let out = with_stdout_closed(&["run", "--config", &config]);
    assert_eq!(code(&out), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stub.stored_sequences(), vec![1]);
    let out = with_stdout_closed(&["spool", "status", "--config", &config]);
    assert_eq!(code(&out), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn doctor_path_exits_1_unless_the_plugin_may_read_it() {
    let site = Site::new();
    let exports = site.demo_exports();
    let config = site.config(&Site::exchange_offline_section(&exports));
    let config = config.to_string_lossy();
    let ask = |path: &str| {
        site.run(&["doctor", "--config", &config, "--plugin", "exchange-connectors", "--path", path])
    };
    let inside = exports.join("Get-InboundConnector.json");
    for (path, want, answer) in [
        (inside.to_string_lossy().into_owned(), 0, "allowed: "),
        (config.to_string(), 1, "denied: "),
        (exports.join("nope.json").to_string_lossy().into_owned(), 1, "not found"),
    ] {
        let out = ask(&path);
        assert_eq!(code(&out), Some(want), "{path}: {}", text(&out));
        assert!(last_line(&out).starts_with(answer), "{path}: {}", text(&out));
    }
}
