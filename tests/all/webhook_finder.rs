//! webhook-finder as a real component in the real host, on a copy of the
//! demo site folder (demo/webhooks) with file modes, links, a large file
//! and an excluded directory added here (git does not keep modes or links
//! reliably, and the repository stays small).
#![cfg(unix)]

use crate::support::{error_of, lit, status, Site, local};
use plumbline_agent::register::{ConnectorEntry, ScanResult, Severity};
use plumbline_tests::plugins;
use std::path::{Path, PathBuf};

const PLUGIN: &str = "webhook-finder";

/// Every secret part of the demo URLs (and of the URLs this test adds), and
/// URL fragments that must never reach a report or a log line.
const SECRETS: [&str; 17] = [
    // sigs and the webhookb2 key
    "DEMO-ONLY-not-a-real-sig",
    "DEMO-zabbix-not-a-real-sig",
    "DEMO-relay-not-a-real-sig",
    "V2demoONLYnotArealKey",
    "OUTSIDE-sig-must-not-be-read",
    "LARGE-sig-must-not-be-read",
    // group and connector ids
    "feed-face",
    "0000000000000000000000000000dead",
    "000000000000000000000000000beef0",
    "0000000000000000000000000000c0de",
    "@5f0c1a8e",
    // URL structure
    "IncomingWebhook/",
    "/webhook/",
    "/webhookb2/",
    "/workflows/",
    "sig=",
    "%2F",
];

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn set_modes(dir: &Path, mode: u32) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            set_modes(&e.path(), mode);
        } else {
            set_mode(&e.path(), mode);
        }
    }
}

/// A Workflows URL with a sig (fake), for files that must not be read.
fn workflow_url(sig: &str) -> String {
    format!(
        "https://prod-99.westeurope.logic.azure.com:443/workflows/99999999999999999999999999999999/\
         triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}"
    )
}

/// The demo folder at `webhooks/`, with:
/// - every file private (0600) except rmm/teams-alert.sh (0644);
/// - `outside/secret.ps1` beside the grant, linked from inside it as a file
///   (`rmm/linked.ps1`) and as a directory (`linked-dir`);
/// - `logs/alerts.log`, larger than `max_file_bytes`;
/// - `rmm/node_modules/teams-notify/index.js`, in an excluded directory.
struct DemoSite {
    site: Site,
    webhooks: PathBuf,
    outside: PathBuf,
}

const MAX_FILE_BYTES: usize = 64 * 1024;

impl DemoSite {
    fn new() -> Self {
        let site = Site::new();
        let webhooks = site.path("webhooks");
        copy_tree(&plugins::root().join("demo/webhooks"), &webhooks);
        let outside = site.path("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(
            outside.join("secret.ps1"),
            format!("$u = '{}'\n", workflow_url("OUTSIDE-sig-must-not-be-read")),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.join("secret.ps1"), webhooks.join("rmm/linked.ps1")).unwrap();
        std::os::unix::fs::symlink(&outside, webhooks.join("linked-dir")).unwrap();
        std::fs::create_dir_all(webhooks.join("logs")).unwrap();
        let mut large = format!("{}\n", workflow_url("LARGE-sig-must-not-be-read"));
        while large.len() <= MAX_FILE_BYTES {
            large.push_str("2026-11-25T06:30:00Z backup ok\n");
        }
        std::fs::write(webhooks.join("logs/alerts.log"), large).unwrap();
        let nm = webhooks.join("rmm/node_modules/teams-notify");
        std::fs::create_dir_all(&nm).unwrap();
        std::fs::write(nm.join("index.js"), format!("module.exports = '{}';\n", workflow_url("DEMO-ONLY-not-a-real-sig-1"))).unwrap();
        set_modes(&webhooks, 0o600);
        set_mode(&webhooks.join("rmm/teams-alert.sh"), 0o644);
        DemoSite { site, webhooks, outside }
    }

    fn config(&self, grant: &Path, paths: &str, extra: &str) -> PathBuf {
        self.site.config(&format!(
            "[plugins.{PLUGIN}]\npath = {}\n[plugins.{PLUGIN}.grants]\nfiles = [{}]\n\
             [plugins.{PLUGIN}.settings]\npaths = '{paths}'\nmax_file_bytes = {MAX_FILE_BYTES}\n{extra}",
            lit(&plugins::plugin(PLUGIN)),
            lit(grant),
        ))
    }
}

fn entry_for<'a>(r: &'a ScanResult, file: &str) -> &'a ConnectorEntry {
    let found: Vec<&ConnectorEntry> = r
        .connectors
        .iter()
        .filter(|c| c.attributes.get("file").is_some_and(|f| f.ends_with(file)))
        .collect();
    assert_eq!(found.len(), 1, "{file}: {:#?}", r.connectors);
    found[0]
}

fn checks_on(r: &ScanResult, key: &str) -> Vec<(String, Severity)> {
    r.findings
        .iter()
        .filter(|f| f.connector_key == key)
        .map(|f| (f.check_id.clone(), f.severity))
        .collect()
}

fn assert_no_secrets(text: &str, what: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret:?} appears in {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_every_kind_and_never_reveals_a_url() {
    let demo = DemoSite::new();
    let dir = demo.webhooks.display().to_string();
    let result = demo.site.scan(&demo.config(&demo.webhooks, &dir, "")).await;
    let st = status(&result, PLUGIN);
    assert_eq!(st.status, "ok", "{st:?}");
    assert!(st.warnings.is_empty(), "{st:?}");
    assert!(result.connectors.iter().all(|c| c.category == "webhook-reference" && c.plugin == PLUGIN));

    // (file, kind, line, migration state, written as)
    let expected = [
        ("scripts/backup-alert.ps1", "legacy-connector", "12", "legacy-retired", "plain"),
        ("scripts/channel-map.txt", "legacy-connector", "5", "legacy-retired", "plain"),
        ("monitoring/prtg-notify.json", "incoming-webhook-webhookb2", "6", "legacy-retired", "json-escaped"),
        ("monitoring/zabbix-media-teams.xml", "workflow-logic-apps", "12", "workflow", "html-escaped"),
        ("rmm/teams-alert.sh", "workflow-logic-apps", "8", "workflow", "plain"),
        ("rmm/new-flow.ps1", "workflow-power-platform", "5", "workflow", "plain"),
        ("rmm/relay.ini", "workflow-power-platform", "6", "workflow", "url-encoded"),
    ];
    for (file, kind, line, state, written) in expected {
        let e = entry_for(&result, file);
        let a = &e.attributes;
        assert_eq!(a.get("file").map(String::as_str), Some(format!("{dir}/{file}").as_str()));
        assert_eq!(a.get("kind").map(String::as_str), Some(kind), "{file}");
        assert_eq!(a.get("line").map(String::as_str), Some(line), "{file}");
        assert_eq!(e.migration_state.as_deref(), Some(state), "{file}");
        assert_eq!(a.get("written_as").map(String::as_str), Some(written), "{file}");
        assert!(a["url_fingerprint"].starts_with("sha256:") && a["url_fingerprint"].len() == 71);
        assert!(local(&e.key).starts_with("webhook:") && local(&e.key).len() == 37, "{}", e.key);
    }
    assert_eq!(result.connectors.len(), expected.len() + 1, "and the search entry");
    let backup = entry_for(&result, "scripts/backup-alert.ps1");
    assert_eq!(backup.attributes["lines"], "12, 13");
    assert_eq!(backup.attributes["host"], "outlook.office.com");
    let alert = entry_for(&result, "rmm/teams-alert.sh");
    assert_eq!(alert.attributes["workflow_id"], "deadbeefdeadbeefdeadbeefdeadbeef");
    assert_eq!(alert.attributes["host"], "prod-12.westeurope.logic.azure.com");
    assert_eq!(alert.attributes["has_sig"], "true");
    assert_eq!(alert.attributes["file_world_readable"], "true");
    assert_eq!(entry_for(&result, "rmm/new-flow.ps1").attributes["has_sig"], "false");

    let high = |id: &str| vec![(id.to_string(), Severity::High)];
    for file in ["scripts/backup-alert.ps1", "scripts/channel-map.txt", "monitoring/prtg-notify.json"] {
        assert_eq!(checks_on(&result, &entry_for(&result, file).key), high("webhook.retired-connector-url"), "{file}");
    }
    assert_eq!(checks_on(&result, &alert.key), high("webhook.workflow-sig-world-readable"));
    for file in ["monitoring/zabbix-media-teams.xml", "rmm/relay.ini"] {
        let want = vec![("webhook.workflow-sig-in-file".to_string(), Severity::Low)];
        assert_eq!(checks_on(&result, &entry_for(&result, file).key), want, "{file}");
    }
    assert!(checks_on(&result, &entry_for(&result, "rmm/new-flow.ps1").key).is_empty());
    let retired = result.findings.iter().find(|f| f.connector_key == backup.key).unwrap();
    assert!(retired.remediation.contains("scripts/backup-alert.ps1") && retired.remediation.contains("lines 12, 13"));

    // Not read: binaries, large files, excluded directories, links.
    for never in ["agent-cache.bin", "alerts.log", "node_modules", "linked", "outside", "README.md"] {
        assert!(
            !result.connectors.iter().any(|c| c.attributes.get("file").is_some_and(|f| f.contains(never))),
            "{never} should not have been read"
        );
    }
    let search = result.connectors.iter().find(|c| local(&c.key) == "webhook:search:test-site").unwrap();
    assert_eq!(search.attributes["complete"], "true");
    assert_eq!(search.attributes["references"], "7");
    assert!(search.is_context(), "the search is context, not a connector");
    assert_eq!(result.connectors.iter().filter(|c| c.is_context()).count(), 1);

    let everything = serde_json::to_string(&result).unwrap();
    assert_no_secrets(&everything, "the scan result");
    assert!(!everything.contains(&demo.outside.join("secret.ps1").display().to_string()));
}

#[test]
fn log_lines_never_carry_a_url() {
    let demo = DemoSite::new();
    let dir = demo.webhooks.display().to_string();
    let config = demo.config(&demo.webhooks, &dir, "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plumbline"))
        .args(["scan", "--config", &config.to_string_lossy(), "--format", "json"])
        .env("NO_COLOR", "1")
        .env("PLUMBLINE_LOG", "plumbline_agent=trace,info")
        .output()
        .expect("plumbline runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "exit 0 below --fail-on: {stderr}");
    assert!(stderr.contains("webhook-finder") && stderr.contains("found 7 webhook references"), "{stderr}");
    assert_no_secrets(&stderr, "the agent's trace log");
    assert_no_secrets(&stdout, "the JSON output");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_outside_the_grant_is_denied() {
    let demo = DemoSite::new();
    let paths = format!("{},{}", demo.webhooks.display(), demo.outside.display());
    let result = demo.site.scan(&demo.config(&demo.webhooks, &paths, "")).await;
    let e = error_of(&result, PLUGIN);
    assert!(e.contains("denied") && e.contains("outside every granted directory"), "{e}");
    assert!(e.contains("`paths`") && e.contains(&demo.outside.display().to_string()), "{e}");
    assert!(result.connectors.is_empty());

    let missing = demo.webhooks.join("no-such-dir");
    let result = demo.site.scan(&demo.config(&demo.webhooks, &missing.display().to_string(), "")).await;
    let e = error_of(&result, PLUGIN);
    assert!(e.contains("no-such-dir") && e.contains("not found"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounds_give_an_info_finding_not_a_failure() {
    let demo = DemoSite::new();
    let dir = demo.webhooks.display().to_string();
    let result = demo.site.scan(&demo.config(&demo.webhooks, &dir, "max_depth = 0\n")).await;
    assert_eq!(status(&result, PLUGIN).status, "ok");
    // Only files directly in webhooks/ are read: there are none.
    assert_eq!(result.connectors.len(), 1, "{:#?}", result.connectors);
    let search = &result.connectors[0];
    assert_eq!(search.attributes["complete"], "false");
    assert_eq!(search.attributes["gaps"], "max_depth");
    assert_eq!(checks_on(&result, &search.key), vec![("webhook.search-incomplete".to_string(), Severity::Info)]);

    let result = demo.site.scan(&demo.config(&demo.webhooks, &dir, "max_files = 2\n")).await;
    assert_eq!(status(&result, PLUGIN).status, "ok");
    let search = result.connectors.iter().find(|c| local(&c.key).starts_with("webhook:search:")).unwrap();
    assert_eq!(search.attributes["gaps"], "max_files");
    assert!(result.connectors.len() <= 3, "at most one reference per file read");
}
