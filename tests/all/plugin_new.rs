//! `plumbline plugin new`: the crate it writes tests natively, builds into a
//! component by the test kit's route, and that component loads and scans,
//! all from a folder outside the workspace.

use crate::support::{lit, status, Site};
use plumbline_tests::plugins;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Native builds of generated crates: kept between runs so they stay warm,
/// and apart from the outer build's target dir, which cargo holds locked
/// while the tests run.
fn native_target_dir() -> PathBuf {
    plugins::root().join("target/plugin-new")
}

/// `cargo test` in `dir`, without the outer cargo's variables.
fn cargo_test(dir: &Path) -> std::process::Output {
    let mut cmd = Command::new("cargo");
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().to_string();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" || key == "RUSTFLAGS" {
            cmd.env_remove(&key);
        }
    }
    cmd.arg("test").current_dir(dir).env("CARGO_TARGET_DIR", native_target_dir()).output().expect("cargo runs")
}

#[test]
fn a_new_plugin_tests_natively_builds_and_scans_outside_the_workspace() {
    let site = Site::new();
    assert!(!site.dir.path().starts_with(plugins::root()), "the point is a folder outside the workspace");
    let out = site.run(&["plugin", "new", "inventory-probe", "--category", "workflow", "--dir", &site.dir.path().display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let crate_dir = site.path("inventory-probe");
    for f in ["Cargo.toml", "Cargo.lock", "src/lib.rs", "tests/assess.rs", "README.md"] {
        assert!(crate_dir.join(f).is_file(), "{f} was not written");
    }
    let readme = std::fs::read_to_string(crate_dir.join("README.md")).unwrap();
    assert!(readme.contains("--target wasm32-unknown-unknown") && readme.contains("files = ["), "{readme}");

    let tested = cargo_test(&crate_dir);
    let said = String::from_utf8_lossy(&tested.stdout);
    assert!(tested.status.success(), "{said}\n{}", String::from_utf8_lossy(&tested.stderr));
    assert!(said.contains("test result: ok. 2 passed"), "{said}");

    let (package, component) =
        xtask::build_outside(&crate_dir, &plugins::root().join("target/wasm")).expect("the wasm build");
    assert_eq!(package, "inventory-probe");
    let wasm = site.path("inventory-probe.wasm");
    std::fs::write(&wasm, component).unwrap();

    let inspected = site.run(&["plugins", "inspect", &wasm.display().to_string()]);
    let shown = String::from_utf8_lossy(&inspected.stdout);
    assert!(inspected.status.success(), "{}", String::from_utf8_lossy(&inspected.stderr));
    for want in ["name:        inventory-probe", "categories:  workflow", "export_dir", "contract:    plumbline:plugin@0.2.0"] {
        assert!(shown.contains(want), "{want:?} missing in\n{shown}");
    }

    let exports = site.path("exports");
    std::fs::create_dir_all(&exports).unwrap();
    std::fs::write(exports.join("inventory.json"), r#"[{"id": "f1", "name": "Payroll sync", "owner": "kim@contoso.com"}, {"id": "f2"}]"#).unwrap();
    let config = site.config(&format!(
        "[plugins.inventory-probe]\npath = {}\nallow_unsigned = true\n[plugins.inventory-probe.grants]\nfiles = [{}]\n\
         [plugins.inventory-probe.settings]\nexport_dir = {}\n",
        lit(&wasm),
        lit(&exports),
        lit(&exports)
    ));
    let result = tokio::runtime::Runtime::new().unwrap().block_on(site.scan(&config));
    let s = status(&result, "inventory-probe");
    assert_eq!((s.status.as_str(), s.connectors, s.findings), ("ok", 2, 1), "{s:?}");
    assert_eq!(result.findings[0].check_id, "inventory-probe.no-owner");
}

#[test]
fn plugin_new_checks_its_name_and_category_and_never_overwrites() {
    let site = Site::new();
    let dir = site.dir.path().display().to_string();
    let bad_name = site.run(&["plugin", "new", "Slack_Hooks", "--category", "workflow", "--dir", &dir]);
    assert_eq!(bad_name.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_name.stderr).contains("lower-case letters, digits and single dashes"));
    let bad_category = site.run(&["plugin", "new", "slack-hooks", "--category", "slack", "--dir", &dir]);
    let e = String::from_utf8_lossy(&bad_category.stderr);
    assert!(e.contains("not a category") && e.contains("incoming-webhook") && e.contains("smtp-relay"), "{e}");
    assert!(!site.path("slack-hooks").exists(), "nothing is written for a bad category");

    std::fs::create_dir_all(site.path("slack-hooks")).unwrap();
    std::fs::write(site.path("slack-hooks/keep.txt"), "mine").unwrap();
    let again = site.run(&["plugin", "new", "slack-hooks", "--category", "incoming-webhook", "--dir", &dir]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(site.path("slack-hooks/keep.txt")).unwrap(), "mine");
    assert!(!site.path("slack-hooks/Cargo.toml").exists());

    let no_sdk = site.run(&["plugin", "new", "other", "--category", "workflow", "--dir", &dir, "--sdk", &dir]);
    assert!(String::from_utf8_lossy(&no_sdk.stderr).contains("no plugin SDK at"), "{}", String::from_utf8_lossy(&no_sdk.stderr));
}
