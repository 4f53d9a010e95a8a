//! From probes to the report: one register entry per endpoint and its
//! findings.

use crate::checks::checks;
use crate::probe::Probe;
use crate::register::record;
use plumbline_plugin_sdk::Report;

/// The report for `probes`, with certificate expiry judged at `now_ms`.
/// Entries sorted by key, findings by key then check id.
pub fn assess(probes: &[Probe], now_ms: u64) -> Report {
    let mut report = Report::empty();
    for p in probes {
        report.connectors.push(record(p));
        checks(p, now_ms, &mut report.findings);
    }
    report.connectors.sort_by(|a, b| a.key.cmp(&b.key));
    report
        .findings
        .sort_by(|a, b| (&a.connector_key, &a.check_id).cmp(&(&b.connector_key, &b.check_id)));
    report
}
