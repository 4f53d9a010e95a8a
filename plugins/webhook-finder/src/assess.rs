//! From the walk to the report: register entries and findings.

use plumbline_plugin_sdk::UniqueKeys;
use crate::checks::{reference_check, search_check};
use crate::config::Config;
use crate::register::{reference_key, reference_record, search_key, search_record};
use crate::walk::Walked;
use plumbline_plugin_sdk::Report;

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
    report.sorted()
}

