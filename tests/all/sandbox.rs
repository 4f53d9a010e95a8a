//! Hostile plugins, each a real component, in one scan with a good plugin:
//! each fails on its own with a clear error and the good plugin still reports.

use crate::support::{error_of, status, Site};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugins_fail_alone_and_the_good_one_still_reports() {
    let site = Site::new();
    let exports = site.demo_exports();
    let granted = site.path("granted");
    std::fs::create_dir_all(&granted).unwrap();
    std::fs::write(granted.join("ok.txt"), "fine").unwrap();
    std::fs::write(site.path("secret.txt"), "TOP-SECRET-CONTENT").unwrap();
    let escape_target = format!("{}/../secret.txt", granted.display());

    let body = [
        Site::exchange_offline_section(&exports),
        Site::fixture_section("fixture-loop", "timeout_secs = 2"),
        Site::fixture_section("fixture-memory-hog", ""),
        Site::fixture_section(
            "fixture-http-snoop",
            "[plugins.fixture-http-snoop.grants]\nhttp = ['graph.microsoft.com']",
        ),
        Site::fixture_section(
            "fixture-file-escape",
            &format!(
                "[plugins.fixture-file-escape.grants]\nfiles = ['{}']\n[plugins.fixture-file-escape.settings]\ntarget = '{escape_target}'",
                granted.display()
            ),
        ),
        Site::fixture_section("fixture-huge-report", ""),
        Site::fixture_section("fixture-trap", ""),
        Site::fixture_section("fixture-stack", ""),
        Site::fixture_section("fixture-multi-memory", ""),
    ]
    .join("\n");
    let result = site.scan(&site.config(&body)).await;

    let good = status(&result, "exchange-connectors");
    assert_eq!(good.status, "ok", "{good:?}");
    assert!(good.connectors > 0 && good.findings > 0, "{good:?}");
    assert!(result.connectors.iter().all(|c| c.plugin == "exchange-connectors"));

    let e = error_of(&result, "fixture-loop");
    assert!(e.contains("fixture-loop@0.1.0") && e.contains("time limit of 2 s"), "{e}");

    let e = error_of(&result, "fixture-memory-hog");
    assert!(e.contains("memory limit"), "{e}");

    let e = error_of(&result, "fixture-http-snoop");
    assert!(e.contains("denied") && e.contains("exfil.example.net") && e.contains("did not declare"), "{e}");

    let e = error_of(&result, "fixture-file-escape");
    assert!(e.contains("denied") && e.contains("outside every granted directory"), "{e}");
    let everything = serde_json::to_string(&result).unwrap();
    assert!(!everything.contains("TOP-SECRET-CONTENT"));

    let e = error_of(&result, "fixture-huge-report");
    assert!(e.contains("oversized report"), "{e}");

    let e = error_of(&result, "fixture-trap");
    assert!(e.contains("fixture-trap@0.1.0") && e.contains("crashed (trap)"), "{e}");

    let e = error_of(&result, "fixture-stack");
    assert!(e.contains("fixture-stack@0.1.0") && e.contains("crashed (trap)") && e.contains("stack"), "{e}");

    // Four memories of 200 MiB: each under the cap, together far over it.
    let e = error_of(&result, "fixture-multi-memory");
    assert!(e.contains("memory limit of 256 MiB"), "{e}");

    assert_eq!(result.failed_plugins(), 8);
}

/// A guest stack overflow once aborted the whole process (exit 134, "has
/// overflowed its stack"), so this runs the real binary: the process must
/// survive, report the plugin's failure and keep the good plugin's result.
#[test]
fn a_guest_stack_overflow_fails_that_plugin_and_the_agent_lives() {
    let site = Site::new();
    let exports = site.demo_exports();
    let body = [Site::exchange_offline_section(&exports), Site::fixture_section("fixture-stack", "")].join("\n");
    let config = site.config(&body);
    let out = site.run(&["scan", "--config", &config.to_string_lossy(), "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("overflowed its stack"), "{stderr}");
    assert!(out.status.code().is_some(), "killed by a signal: {out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let plugins = doc["plugins"].as_array().unwrap();
    let by_name = |n: &str| plugins.iter().find(|p| p["name"] == n).unwrap().clone();
    assert_eq!(by_name("exchange-connectors")["status"], "ok");
    let stack = by_name("fixture-stack");
    assert_eq!(stack["status"], "error", "{stack}");
    assert!(stack["error"].as_str().unwrap().contains("stack"), "{stack}");
    assert!(!doc["connectors"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_is_not_a_component_or_missing_fails_clearly() {
    let site = Site::new();
    let bogus = site.path("bogus.wasm");
    std::fs::write(&bogus, b"\0asm\x01\0\0\0").unwrap();
    let body = format!(
        "[plugins.bogus]\npath = '{}'\n[plugins.absent]\npath = '{}'\n",
        bogus.display(),
        site.path("absent.wasm").display()
    );
    let result = site.scan(&site.config(&body)).await;
    let e = error_of(&result, "bogus");
    assert!(e.contains("not a WebAssembly component"), "{e}");
    let e = error_of(&result, "absent");
    assert!(e.contains("cannot read plugin") && e.contains("absent.wasm"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_section_must_match_the_plugin_inside() {
    let site = Site::new();
    let body = format!(
        "[plugins.renamed]\npath = '{}'\n",
        plumbline_tests::plugins::fixture_plugin("fixture-trap").display()
    );
    let result = site.scan(&site.config(&body)).await;
    let e = error_of(&result, "renamed");
    assert!(e.contains("holds plugin `fixture-trap`") && e.contains("[plugins.renamed]"), "{e}");
}
