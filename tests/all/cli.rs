//! The `plumbline` binary as an RMM script sees it: exit codes, formats,
//! plain output.

use crate::support::{lit, Site};
use plumbline_tests::plugins;
use std::path::PathBuf;

#[test]
fn inspect_shows_identity_and_requested_capabilities() {
    let site = Site::new();
    let out = site.run(&["plugins", "inspect", &plugins::fixture_plugin("fixture-http-snoop").to_string_lossy()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("name:        fixture-http-snoop"), "{text}");
    assert!(text.contains("graph.microsoft.com"), "{text}");
    assert!(text.contains("sha256:"), "{text}");
}

#[test]
fn inspect_shows_the_settings_table_and_the_required_permissions() {
    let site = Site::new();
    let out = site.run(&["plugins", "inspect", &plugins::plugin("teams-webhooks").to_string_lossy()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("contract:    plumbline:plugin@0.2.0"), "{text}");
    assert!(text.contains("imports:     the contract only"), "a Rust plugin built by the SDK imports no WASI: {text}");
    let row = text.lines().find(|l| l.trim_start().starts_with("mode ")).unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("offline|live") && row.contains("offline") && row.contains("Microsoft Graph"), "{row}");
    assert!(text.lines().any(|l| l.trim_start().starts_with("NAME") && l.contains("KIND") && l.contains("DEFAULT")), "{text}");
    assert!(text.contains("graph          TeamsAppInstallation.ReadForTeam.All (token of the profile in `credential`)"), "{text}");

    let out = site.run(&["plugins", "inspect", &plugins::v0_1_plugin("exchange-connectors").to_string_lossy()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("contract:    plumbline:plugin@0.1.0"), "{text}");
    assert!(text.contains("settings:  (not declared: a contract 0.1.0 plugin"), "{text}");
    assert!(text.contains("required permissions:  (nothing)"), "{text}");
}

/// docs/plugins.md is what the plugins declare today: a setting added,
/// renamed or redocumented in a plugin without regenerating the page fails
/// here, with the command that regenerates it.
#[test]
fn the_plugin_reference_page_is_what_the_plugins_declare() {
    let site = Site::new();
    // Through a config, whose compile cache the other tests share.
    let config = site.config("").to_string_lossy().to_string();
    let out = site.run(&["plugins", "docs", "--config", &config]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fresh = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(plugins::root().join("docs/plugins.md")).unwrap();
    assert!(committed.contains(plumbline_agent::plugin_docs::HAND_WRITTEN), "the authors' guide follows the generated part");
    assert_eq!(
        plumbline_agent::plugin_docs::generated_part(&committed).trim_end(),
        fresh.trim_end(),
        "docs/plugins.md is stale: plumbline plugins docs --dir target/plugins --out docs/plugins.md"
    );
    for name in ["exchange-connectors", "power-automate-flows", "smtp-relay", "teams-webhooks", "webhook-finder"] {
        assert!(fresh.contains(&format!("\n## {name}\n")), "{name}");
    }
    assert!(fresh.contains("| `recent_days` | integer | `30` |"), "{fresh}");
}

/// `plugins inspect` takes a configured plugin's name as well as a path;
/// an unknown name says where it looked.
#[test]
fn inspect_takes_a_plugin_name() {
    let site = Site::new();
    let config = site.config("").to_string_lossy().to_string();
    let out = site.run(&["plugins", "inspect", "teams-webhooks", "--config", &config]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("name:        teams-webhooks"));
    let out = site.run(&["plugins", "inspect", "teams-webhoks", "--config", &config]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("there is no plugin \"teams-webhoks\"") && err.contains("plugins list"), "{err}");
}

#[test]
fn list_shows_every_plugin_in_the_directory() {
    let site = Site::new();
    let dir = plugins::fixture_plugin("fixture-trap").parent().unwrap().to_path_buf();
    let out = site.run(&["plugins", "list", "--dir", &dir.to_string_lossy()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["fixture-loop", "fixture-trap", "fixture-memory-hog"] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    let trap = text.lines().find(|l| l.starts_with("fixture-trap ")).unwrap();
    assert!(trap.contains(" 0.2.0 "), "the contract each targets: {trap}");
}

/// The table fits the width it is given (only a command someone will paste
/// may run over, whole), says each check once, worst first, and `--wide`
/// prints everything whole.
#[test]
fn the_table_fits_its_width_and_groups_findings_by_check() {
    let site = Site::new();
    let exports = site.demo_exports();
    let config = site.config(&Site::exchange_offline_section(&exports));
    let config = config.to_string_lossy().to_string();
    let doc: serde_json::Value =
        serde_json::from_slice(&site.run(&["scan", "--config", &config, "--format", "json"]).stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();

    let out = site.run_with(&["scan", "--config", &config], &[("COLUMNS", "80")]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("plumbline: ") && lines.last().unwrap().starts_with("plumbline: "), "{text}");
    for line in &lines[..lines.len() - 1] {
        let cols = line.chars().count();
        let command = line.trim_start().starts_with(['`', '(']) || line.trim_start().split(' ').next().is_some_and(|w| {
            w.split_once('-').is_some_and(|(verb, noun)| verb.starts_with(char::is_uppercase) && noun.starts_with(char::is_uppercase))
        });
        assert!(cols <= 80 || command, "{cols} columns, and not a command:\n{line}\n\n{text}");
    }
    let mut checks: Vec<&str> = findings.iter().map(|f| f["check_id"].as_str().unwrap()).collect();
    checks.sort();
    checks.dedup();
    for check in &checks {
        let heads = lines.iter().filter(|l| !l.starts_with(' ') && l.contains(&format!("  {check}  ("))).count();
        assert_eq!(heads, 1, "{check} once:\n{text}");
    }
    let order: Vec<&str> = lines.iter().filter_map(|l| l.split_whitespace().next()).filter(|w| {
        ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"].contains(w)
    }).collect();
    let rank = |s: &str| ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"].iter().position(|r| *r == s).unwrap();
    assert!(order.windows(2).all(|w| rank(w[0]) >= rank(w[1])), "worst first: {order:?}");

    let wide = String::from_utf8(site.run_with(&["scan", "--config", &config, "--wide"], &[("COLUMNS", "80")]).stdout).unwrap();
    assert!(!wide.contains('…'), "{wide}");
    for c in doc["connectors"].as_array().unwrap() {
        assert!(wide.contains(c["key"].as_str().unwrap()) && wide.contains(c["name"].as_str().unwrap()), "{c}\n{wide}");
    }
    for f in findings {
        assert!(wide.contains(f["remediation"].as_str().unwrap()), "each fix whole, on one line");
    }
}

#[test]
fn scan_json_exit_codes_and_summary() {
    let site = Site::new();
    let exports = site.demo_exports();
    let config = site.config(&Site::exchange_offline_section(&exports));
    let config = config.to_string_lossy().to_string();

    let out = site.run(&["scan", "--config", &config, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let connectors = doc["connectors"].as_array().unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert!(!connectors.is_empty() && !findings.is_empty());
    let p = &doc["plugins"][0];
    assert_eq!(p["name"], "exchange-connectors");
    assert_eq!(p["status"], "ok");
    assert_eq!(p["sha256"].as_str().unwrap().len(), 64);
    assert!(String::from_utf8_lossy(&out.stderr).contains("plumbline: "));

    let has_high = findings.iter().any(|f| f["severity"] == "high" || f["severity"] == "critical");
    assert!(has_high, "the demo tenant has high findings");
    let out = site.run(&["scan", "--config", &config, "--fail-on", "high"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "no ANSI colour when not a terminal");
    let last = text.trim_end().lines().last().unwrap();
    assert!(last.starts_with("plumbline: ") && last.contains("connectors") && last.contains("failed"), "{last}");

    let out = site.run(&["scan", "--config", &config, "--format", "csv"]);
    assert_eq!(out.status.code(), Some(0));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().next().unwrap(), plumbline_protocol::cells::REGISTER_COLUMNS.join(","), "the collector's CSV starts with these");
    assert_eq!(csv.lines().count(), connectors.len() + 1);
    let context: Vec<&str> = csv.lines().filter(|l| l.ends_with(",context")).collect();
    assert_eq!(context.len(), 1, "the organisation's settings are the one context record: {csv}");
    assert!(context[0].contains("exchange:organization"), "{}", context[0]);

    // OCSF: one line per finding, each valid against the published schema.
    let out = site.run(&["scan", "--config", &config, "--format", "ocsf"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let schema = plumbline_tests::schemas::ocsf();
    let ndjson = String::from_utf8(out.stdout).unwrap();
    assert_eq!(ndjson.lines().count(), findings.len(), "{ndjson}");
    for line in ndjson.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(plumbline_tests::schemas::errors(&schema, &event), Vec::<String>::new(), "{line}");
        assert_eq!((event["class_uid"].as_u64(), event["status"].as_str()), (Some(2003), Some("New")));
        assert!(event["resources"][0]["name"].is_string(), "the connector is named: {line}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("plumbline: "), "the summary goes to stderr");
}

#[test]
fn configuration_errors_exit_2_with_a_message() {
    let site = Site::new();
    let bad = site.path("bad.toml");
    std::fs::write(&bad, "tenant_id = 't'\nsite_id = 's'\n[plugins.x.grants]\ntcp = ['nonsense']\n").unwrap();
    let out = site.run(&["scan", "--config", &bad.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("plugins.x.grants.tcp") && err.contains("HOST:PORTS"), "{err}");
    let out = site.run(&["scan", "--config", &site.path("missing.toml").to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    let out = site.run(&["scan", "--config", &bad.to_string_lossy(), "--fail-on", "severe"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors are exit 2 too");
}

/// A site whose one plugin, webhook-finder, searches `scripts/` (empty).
fn webhook_search(site: &Site) -> (PathBuf, String) {
    let dir = site.path("scripts");
    std::fs::create_dir_all(&dir).unwrap();
    let config = site.config(&format!(
        "[plugins.webhook-finder]\npath = {}\n[plugins.webhook-finder.grants]\nfiles = [{}]\n\
         [plugins.webhook-finder.settings]\npaths = {}\n",
        lit(&plugins::plugin("webhook-finder")),
        lit(&dir),
        lit(&dir)
    ));
    (dir, config.to_string_lossy().into_owned())
}

#[test]
fn counts_of_one_are_singular() {
    let site = Site::new();
    let (dir, config) = webhook_search(&site);
    let table = |site: &Site| {
        let out = site.run(&["scan", "--config", &config]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // An empty folder: the search itself is the one register entry, and
    // it is context, not a connector.
    let out = table(&site);
    assert!(out.contains(" 0 connectors, 1 context record, 0 findings, "), "{out}");
    assert!(out.trim_end().lines().last().unwrap().starts_with("plumbline: 0 connectors and 1 context record; "), "{out}");

    std::fs::copy(plugins::root().join("demo/webhooks/rmm/relay.ini"), dir.join("relay.ini")).unwrap();
    let out = table(&site);
    assert!(out.contains(" 1 connector, 1 context record, 1 finding, "), "{out}");
    assert!(out.trim_end().lines().last().unwrap().starts_with("plumbline: 1 connector and 1 context record; "), "{out}");
}

#[test]
fn the_log_is_filtered_by_plumbline_log_and_has_the_collector_s_timestamps() {
    let site = Site::new();
    let (_, config) = webhook_search(&site);
    let scan = |log: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_plumbline"))
            .args(["scan", "--config", &config, "--format", "json"])
            .env("PLUMBLINE_LOG", log)
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stderr).unwrap()
    };
    let err = scan("info");
    assert!(!err.contains('\x1b'), "stderr is a pipe: no ANSI colour: {err}");
    let done = err.lines().find(|l| l.contains("plugin scan done")).unwrap_or_else(|| panic!("{err}"));
    // UTC to the microsecond, as plumbline-collector's log (its cli tests).
    let (time, rest) = done.split_at(27);
    assert!(time.as_bytes()[19] == b'.' && time.ends_with('Z'), "{done}");
    assert!(time[20..26].bytes().all(|b| b.is_ascii_digit()) && rest.starts_with("  INFO "), "{done}");
    assert!(!scan("warn").contains(" INFO "), "PLUMBLINE_LOG=warn");
}
