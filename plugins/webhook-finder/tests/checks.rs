//! Keys, entries and findings through the public native API: text in an
//! in-memory tree → walk → assess.

use plumbline_plugin_sdk::files::{DirEntry, EntryKind};
use plumbline_plugin_sdk::{ConnectorRecord, Finding, Report, ScanError, Severity};
use std::collections::BTreeMap;
use webhook_finder::checks::*;
use webhook_finder::config::*;
use webhook_finder::walk::{walk, Files};
use webhook_finder::{assess, Config};

const SIG: &str = "sIgnATURE_s3cret-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const GROUP_AT_TENANT: &str = "aaaaaaaa-1111-2222-3333-bbbbbbbbbbbb@cccccccc-4444-5555-6666-dddddddddddd";

fn legacy() -> String {
    format!("https://outlook.office.com/webhook/{GROUP_AT_TENANT}/IncomingWebhook/11112222333344445555666677778888/eeeeeeee-0000-0000-0000-ffffffffffff")
}
fn b2() -> String {
    format!("https://contoso.webhook.office.com/webhookb2/{GROUP_AT_TENANT}/IncomingWebhook/99990000aaaabbbbccccddddeeeeffff/eeeeeeee-0000-0000-0000-ffffffffffff/V2secretsecret")
}
fn logic() -> String {
    format!("https://prod-01.northeurope.logic.azure.com:443/workflows/abcdefabcdefabcdefabcdefabcdef12/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}")
}
fn pp(sig: bool) -> String {
    let mut u = "https://abcdef0123456789abcdef0123456789.07.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/12121212121212121212121212121212/triggers/manual/paths/invoke?api-version=1".to_string();
    if sig {
        u.push_str(&format!("&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"));
    }
    u
}

/// One flat directory `/site` of files (name → (text, world-readable)).
#[derive(Default)]
struct Flat(BTreeMap<String, (String, bool)>);

impl Flat {
    fn with(mut self, name: &str, text: impl Into<String>, world_readable: bool) -> Self {
        self.0.insert(name.into(), (text.into(), world_readable));
        self
    }
}

impl Files for Flat {
    fn list_dir(&mut self, path: &str) -> Result<Vec<DirEntry>, ScanError> {
        assert_eq!(path, "/site");
        Ok(self
            .0
            .iter()
            .map(|(name, (text, wr))| DirEntry {
                name: name.clone(),
                kind: EntryKind::File,
                size: text.len() as u64,
                world_readable: *wr,
            })
            .collect())
    }
    fn read(&mut self, path: &str, _max: u64) -> Result<Vec<u8>, ScanError> {
        let name = path.strip_prefix("/site/").unwrap();
        Ok(self.0[name].0.clone().into_bytes())
    }
}

fn config() -> Config {
    Config {
        paths: vec!["/site".into()],
        max_depth: DEFAULT_MAX_DEPTH,
        max_files: DEFAULT_MAX_FILES,
        max_dirs: DEFAULT_MAX_DIRS,
        max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
        exclude: vec![],
    }
}

fn scan(site: &str, mut fs: Flat) -> Report {
    let c = config();
    let walked = walk(&mut fs, &c).unwrap();
    assess(site, &c, &walked)
}

fn entry<'a>(r: &'a Report, file: &str) -> &'a ConnectorRecord {
    r.connectors
        .iter()
        .find(|c| c.get_attr("file") == Some(&format!("/site/{file}")))
        .unwrap_or_else(|| panic!("no entry for {file}: {:#?}", r.connectors))
}

fn findings<'a>(r: &'a Report, key: &str) -> Vec<&'a Finding> {
    r.findings.iter().filter(|f| f.connector_key == key).collect()
}

#[test]
fn keys_survive_line_moves_but_not_file_or_site_changes() {
    let before = scan("site-a", Flat::default().with("alert.ps1", format!("$u = '{}'\n", legacy()), false));
    let moved = scan(
        "site-a",
        Flat::default().with("alert.ps1", format!("# header\n\n\n# more\n$u = '{}'\n", legacy()), false),
    );
    let (a, b) = (entry(&before, "alert.ps1"), entry(&moved, "alert.ps1"));
    assert_eq!(a.key, b.key, "a line move keeps the key");
    assert_eq!((a.get_attr("line"), b.get_attr("line")), (Some("1"), Some("5")));
    let f_a = &findings(&before, &a.key)[0];
    let f_b = &findings(&moved, &b.key)[0];
    assert_eq!(f_a.connector_key, f_b.connector_key, "so does the finding");

    let renamed = scan("site-a", Flat::default().with("alert2.ps1", format!("$u = '{}'\n", legacy()), false));
    assert_ne!(entry(&renamed, "alert2.ps1").key, a.key);
    let other_host = scan("site-b", Flat::default().with("alert.ps1", format!("$u = '{}'\n", legacy()), false));
    assert_ne!(entry(&other_host, "alert.ps1").key, a.key, "the same script on another host");
    assert_eq!(
        entry(&other_host, "alert.ps1").get_attr("url_fingerprint"),
        a.get_attr("url_fingerprint"),
        "the fingerprint links the same URL across hosts"
    );
}

#[test]
fn one_entry_and_the_right_finding_per_reference() {
    let report = scan(
        "s",
        Flat::default()
            .with("legacy.ps1", legacy(), false)
            .with("b2.json", format!("{{\"url\":\"{}\"}}", b2().replace('/', "\\/")), true)
            .with("public.sh", format!("URL=\"{}\"", logic()), true)
            .with("private.sh", format!("URL=\"{}\"", logic()), false)
            .with("pp-sig.ps1", format!("$u = \"{}\"", pp(true)), true)
            .with("pp-token.ps1", format!("$u = \"{}\"", pp(false)), true)
            .with("nothing.txt", "https://example.com/webhook/a@b/c/d", true),
    );
    assert_eq!(report.connectors.len(), 7, "6 references and the search entry");
    let checks = |file: &str| -> Vec<(String, Severity)> {
        findings(&report, &entry(&report, file).key)
            .iter()
            .map(|f| (f.check_id.clone(), f.severity))
            .collect()
    };
    assert_eq!(checks("legacy.ps1"), vec![(RETIRED_CONNECTOR_URL.into(), Severity::High)]);
    assert_eq!(checks("b2.json"), vec![(RETIRED_CONNECTOR_URL.into(), Severity::High)]);
    assert_eq!(checks("public.sh"), vec![(WORKFLOW_SIG_WORLD_READABLE.into(), Severity::High)]);
    assert_eq!(checks("private.sh"), vec![(WORKFLOW_SIG_IN_FILE.into(), Severity::Low)]);
    assert_eq!(checks("pp-sig.ps1"), vec![(WORKFLOW_SIG_WORLD_READABLE.into(), Severity::High)]);
    assert!(checks("pp-token.ps1").is_empty());

    let legacy = entry(&report, "legacy.ps1");
    assert_eq!(legacy.migration_state.as_deref(), Some("legacy-retired"));
    assert_eq!(legacy.get_attr("kind"), Some("legacy-connector"));
    assert_eq!(legacy.get_attr("host"), Some("outlook.office.com"));
    assert_eq!(legacy.get_attr("workflow_id"), None);
    let b2 = entry(&report, "b2.json");
    assert_eq!(b2.get_attr("kind"), Some("incoming-webhook-webhookb2"));
    assert_eq!(b2.get_attr("written_as"), Some("json-escaped"));
    assert_eq!(b2.get_attr("file_world_readable"), Some("true"));
    let public = entry(&report, "public.sh");
    assert_eq!(public.migration_state.as_deref(), Some("workflow"));
    assert_eq!(public.get_attr("kind"), Some("workflow-logic-apps"));
    assert_eq!(public.get_attr("workflow_id"), Some("abcdefabcdefabcdefabcdefabcdef12"));
    assert_eq!(public.get_attr("has_sig"), Some("true"));
    assert_eq!(entry(&report, "pp-token.ps1").get_attr("has_sig"), Some("false"));
    assert_eq!(entry(&report, "pp-token.ps1").get_attr("kind"), Some("workflow-power-platform"));

    // Every finding names a reported entry; every check id is a known one.
    for f in &report.findings {
        assert!(report.connectors.iter().any(|c| c.key == f.connector_key));
        let (_, sev) = CHECKS.iter().find(|(id, _)| *id == f.check_id).expect("known check id");
        assert_eq!(*sev, f.severity);
        assert!(f.detail.contains("/site/") && f.remediation.contains("/site/"), "{f:?}");
    }
}

#[test]
fn no_part_of_any_url_reaches_the_report() {
    let report = scan(
        "s",
        Flat::default()
            .with("a.ps1", format!("{}\n{}\n", legacy(), b2()), true)
            .with("b.json", format!("\"{}\"", logic().replace('/', "\\/").replace('&', "\\u0026")), true)
            .with("c.xml", format!("<v>{}</v>", pp(true).replace('&', "&amp;")), false),
    );
    assert_eq!(report.connectors.len(), 5);
    let shown = format!("{report:?}");
    for url in [legacy(), b2(), logic(), pp(true)] {
        assert!(!shown.contains(&url));
        // The query and every path segment after the host are secret.
        let after_host = url.splitn(4, '/').nth(3).unwrap();
        for part in after_host.split(['/', '?', '&']).filter(|p| p.len() > 12) {
            let part_is_workflow_id = part.len() == 32 && part.bytes().all(|c| c.is_ascii_hexdigit());
            if !part_is_workflow_id {
                assert!(!shown.contains(part), "{part} leaked");
            }
        }
    }
    for secret in [SIG, GROUP_AT_TENANT, "V2secretsecret", "sig="] {
        assert!(!shown.contains(secret), "{secret} leaked");
    }
}

#[test]
fn the_search_entry_reports_gaps_as_an_info_finding() {
    let report = scan("s", Flat::default().with("a.ps1", legacy(), false));
    let search = report.connectors.iter().find(|c| c.key == "webhook:search:s").unwrap();
    assert_eq!(search.get_attr("complete"), Some("true"));
    assert_eq!(search.get_attr("gaps"), Some("none"));
    assert!(findings(&report, "webhook:search:s").is_empty());

    let mut c = config();
    c.max_files = 1;
    let mut fs = Flat::default().with("a.ps1", legacy(), false).with("b.ps1", b2(), false);
    let walked = walk(&mut fs, &c).unwrap();
    let report = assess("s", &c, &walked);
    let search = report.connectors.iter().find(|c| c.key == "webhook:search:s").unwrap();
    assert_eq!(search.get_attr("complete"), Some("false"));
    assert_eq!(search.get_attr("gaps"), Some("max_files"));
    let f = findings(&report, "webhook:search:s");
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].check_id.as_str(), f[0].severity), (SEARCH_INCOMPLETE, Severity::Info));
    assert!(f[0].detail.contains("max_files"), "{}", f[0].detail);
    assert_eq!(report.connectors.len(), 2, "what was found before the bound is still reported");
}

#[test]
fn reports_are_deterministic() {
    let build = || {
        scan(
            "s",
            Flat::default()
                .with("z.ps1", legacy(), false)
                .with("a.sh", format!("{}\n{}", logic(), b2()), true),
        )
    };
    assert_eq!(build(), build());
    let r = build();
    let keys: Vec<&str> = r.connectors.iter().map(|c| c.key.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn keys_are_unique_even_when_paths_differ_only_in_case() {
    let r = scan(
        "s",
        Flat::default().with("A.ps1", legacy(), false).with("a.ps1", legacy(), false),
    );
    let (upper, lower) = (entry(&r, "A.ps1"), entry(&r, "a.ps1"));
    assert_eq!(format!("{}~2", upper.key), lower.key);
}

#[test]
fn the_same_url_written_two_ways_in_one_file_is_one_reference() {
    let text = format!("plain: {}\njson: \"{}\"\n", logic(), logic().replace('/', "\\/"));
    let r = scan("s", Flat::default().with("both.txt", text, false));
    let e = entry(&r, "both.txt");
    assert_eq!(e.get_attr("lines"), Some("1, 2"));
    assert_eq!(e.get_attr("occurrences"), Some("2"));
    assert_eq!(e.get_attr("written_as"), Some("plain"), "as first seen");
}
