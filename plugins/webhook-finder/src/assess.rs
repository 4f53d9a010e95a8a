//! From the walk to the report: register entries and findings.

use crate::checks::{reference_check, search_check};
use crate::config::Config;
use crate::register::{reference_key, reference_record, search_key, search_record};
use crate::walk::Walked;
use plumbline_plugin_sdk::Report;
use std::collections::HashSet;

/// Build the register entries and findings for what the walk found on site
/// `site_id`.
///
/// Pure and deterministic: connectors sorted by key, findings by connector
/// key then check id.
pub fn assess(site_id: &str, config: &Config, walked: &Walked) -> Report {
    let mut report = Report::empty();
    let search = search_key(site_id);
    report.connectors.push(search_record(site_id, config, walked));
    report.findings.extend(search_check(&search, config, walked));
    let mut keys = UniqueKeys::default();
    keys.claim(search);
    for r in &walked.references {
        let key = keys.claim(reference_key(site_id, &r.path, &r.fingerprint));
        report.connectors.push(reference_record(&key, r));
        report.findings.extend(reference_check(&key, r));
    }
    report.connectors.sort_by(|a, b| a.key.cmp(&b.key));
    report
        .findings
        .sort_by(|a, b| (&a.connector_key, &a.check_id).cmp(&(&b.connector_key, &b.check_id)));
    report
}

/// Keys must be unique. Two references only share a key when two paths
/// normalise alike (`A.sh` and `a.sh` on a case-sensitive disk) or two
/// fingerprints share 16 hex digits: the second gets `~2`, `~3`, ...
#[derive(Default)]
struct UniqueKeys(HashSet<String>);

impl UniqueKeys {
    fn claim(&mut self, key: String) -> String {
        if self.0.insert(key.clone()) {
            return key;
        }
        let mut n = 2;
        loop {
            let candidate = format!("{key}~{n}");
            if self.0.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}
