//! The demo site folder in demo/webhooks/ gives the references and findings
//! it is meant to show, read from the local disk the way the host reads it.

mod common;

use common::Disk;
use plumbline_plugin_sdk::settings::Settings;
use plumbline_plugin_sdk::{Attribute, Severity};
use std::path::PathBuf;
use webhook_finder::checks::*;
use webhook_finder::detect::{Encoding, Kind};
use webhook_finder::register::{LEGACY_RETIRED, WORKFLOW};
use webhook_finder::walk::{walk, Reference};
use webhook_finder::{assess, Config};

fn demo_dir() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../demo/webhooks")
        .canonicalize()
        .expect("demo/webhooks exists")
        .to_string_lossy()
        .into_owned()
}

fn config(dir: &str) -> Config {
    let settings = Settings::new(&[Attribute {
        name: "paths".into(),
        value: dir.into(),
    }]);
    Config::from_settings(&settings).unwrap()
}

fn by_file<'a>(refs: &'a [Reference], suffix: &str) -> &'a Reference {
    let found: Vec<&Reference> = refs.iter().filter(|r| r.path.ends_with(suffix)).collect();
    assert_eq!(found.len(), 1, "{suffix}: {refs:#?}");
    found[0]
}

/// Every part of the demo URLs that is secret, and URL fragments that must
/// never show up in a report.
const SECRETS: [&str; 14] = [
    "DEMO-ONLY-not-a-real-sig",
    "DEMO-zabbix-not-a-real-sig",
    "DEMO-relay-not-a-real-sig",
    "V2demoONLYnotArealKey",
    "feed-face",
    "0000000000000000000000000000dead",
    "000000000000000000000000000beef0",
    "0000000000000000000000000000c0de",
    "@5f0c1a8e",
    "IncomingWebhook/",
    "/workflows/",
    "triggers/manual",
    "sig=",
    "%2F",
];

#[test]
fn demo_references() {
    let dir = demo_dir();
    let mut disk = Disk::new();
    let walked = walk(&mut disk, &config(&dir)).unwrap();
    let refs = &walked.references;
    assert_eq!(refs.len(), 7, "{refs:#?}");

    let r = by_file(refs, "scripts/backup-alert.ps1");
    assert_eq!((r.kind, r.host.as_str()), (Kind::LegacyConnector, "outlook.office.com"));
    assert_eq!((r.lines.clone(), r.occurrences), (vec![12, 13], 2), "the same URL twice is one reference");

    let r = by_file(refs, "scripts/channel-map.txt");
    assert_eq!((r.kind, r.host.as_str(), r.line()), (Kind::LegacyConnector, "outlook.office365.com", 5));
    assert_eq!(walked.stats.utf16_files, 1, "PowerShell 5.1 Out-File is UTF-16LE");

    let r = by_file(refs, "monitoring/prtg-notify.json");
    assert_eq!((r.kind, r.encoding, r.line()), (Kind::IncomingWebhookB2, Encoding::JsonEscaped, 6));
    assert_eq!(r.host, "northwinddental.webhook.office.com");

    let r = by_file(refs, "monitoring/zabbix-media-teams.xml");
    assert_eq!((r.kind, r.encoding, r.line(), r.has_sig), (Kind::WorkflowLogicApps, Encoding::HtmlEscaped, 12, true));
    assert_eq!(r.workflow_id.as_deref(), Some("cafebabecafebabecafebabecafebabe"));

    let r = by_file(refs, "rmm/teams-alert.sh");
    assert_eq!((r.kind, r.encoding, r.line(), r.has_sig), (Kind::WorkflowLogicApps, Encoding::Plain, 8, true));
    assert_eq!(r.host, "prod-12.westeurope.logic.azure.com");

    let r = by_file(refs, "rmm/new-flow.ps1");
    assert_eq!((r.kind, r.line(), r.has_sig), (Kind::WorkflowPowerPlatform, 5, false));

    let r = by_file(refs, "rmm/relay.ini");
    assert_eq!((r.kind, r.encoding, r.line(), r.has_sig), (Kind::WorkflowPowerPlatform, Encoding::UrlEncoded, 6, true));
    assert_eq!(r.workflow_id.as_deref(), Some("feedfacefeedfacefeedfacefeedface"));

    assert!(!refs.iter().any(|r| r.path.ends_with(".bin") || r.path.ends_with("README.md")));
    assert_eq!(walked.stats.skipped_binary, 1, "rmm/agent-cache.bin");
    assert!(walked.gaps.is_empty());
}

#[test]
fn demo_report() {
    let dir = demo_dir();
    let walked = walk(&mut Disk::new(), &config(&dir)).unwrap();
    let report = assess("northwind-hq", &config(&dir), &walked);
    assert_eq!(report.connectors.len(), 8, "7 references and the search entry");
    let search = report.connectors.iter().find(|c| c.key == "webhook:search:northwind-hq").unwrap();
    assert_eq!(search.get_attr("complete"), Some("true"));
    assert_eq!(search.get_attr("references"), Some("7"));
    assert_eq!(search.get_attr("retired_references"), Some("3"));

    let entry = |suffix: &str| {
        report
            .connectors
            .iter()
            .find(|c| c.get_attr("file").is_some_and(|f| f.ends_with(suffix)))
            .unwrap_or_else(|| panic!("no entry for {suffix}"))
    };
    for (file, state) in [
        ("backup-alert.ps1", LEGACY_RETIRED),
        ("channel-map.txt", LEGACY_RETIRED),
        ("prtg-notify.json", LEGACY_RETIRED),
        ("teams-alert.sh", WORKFLOW),
        ("zabbix-media-teams.xml", WORKFLOW),
        ("new-flow.ps1", WORKFLOW),
        ("relay.ini", WORKFLOW),
    ] {
        let e = entry(file);
        assert_eq!(e.migration_state.as_deref(), Some(state), "{file}");
        assert!(e.key.starts_with("webhook:") && e.key.len() == 8 + 16 + 1 + 12, "{}", e.key);
        assert!(e.get_attr("url_fingerprint").unwrap().starts_with("sha256:"));
    }
    assert_eq!(entry("backup-alert.ps1").get_attr("lines"), Some("12, 13"));
    assert_eq!(entry("new-flow.ps1").auth_type.as_deref(), Some("oauth"));
    assert_eq!(entry("teams-alert.sh").auth_type.as_deref(), Some("sas-signature"));

    let checks_on = |file: &str| -> Vec<(&str, Severity)> {
        let key = &entry(file).key;
        report
            .findings
            .iter()
            .filter(|f| &f.connector_key == key)
            .map(|f| (f.check_id.as_str(), f.severity))
            .collect()
    };
    for file in ["backup-alert.ps1", "channel-map.txt", "prtg-notify.json"] {
        assert_eq!(checks_on(file), vec![(RETIRED_CONNECTOR_URL, Severity::High)], "{file}");
    }
    assert!(checks_on("new-flow.ps1").is_empty(), "no sig, no finding");
    for file in ["teams-alert.sh", "zabbix-media-teams.xml", "relay.ini"] {
        // File modes depend on the checkout; the finding follows them.
        let want = if entry(file).get_attr("file_world_readable") == Some("true") {
            (WORKFLOW_SIG_WORLD_READABLE, Severity::High)
        } else {
            (WORKFLOW_SIG_IN_FILE, Severity::Low)
        };
        assert_eq!(checks_on(file), vec![want], "{file}");
    }

    let shown = format!("{report:?}");
    for secret in SECRETS {
        assert!(!shown.contains(secret), "{secret} leaked into the report");
    }
}
