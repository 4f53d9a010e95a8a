//! From what was read to the report: register entries and findings.

use plumbline_plugin_sdk::UniqueKeys;
use crate::checks::{self, Window};
use crate::model::ExchangeState;
use crate::register::{connector_key, inbound_record, organization_record, outbound_record};
use plumbline_plugin_sdk::Report;

/// Build the register entries and findings for `state`, as seen at `now_ms`
/// (milliseconds since the epoch) with a "recent" window of `recent_days`.
///
/// Pure and deterministic: the same input gives the same report, connectors
/// sorted by key and findings by connector key, then check id.
pub fn assess(state: &ExchangeState, tenant_id: &str, now_ms: i64, recent_days: u64) -> Report {
    let window = Window::new(now_ms, recent_days);
    let mut keys = UniqueKeys::default();
    let mut report = Report::empty();
    report
        .connectors
        .push(organization_record(state, tenant_id));
    for (i, c) in state.inbound.iter().flatten().enumerate() {
        let key = keys.claim(connector_key("inbound", c.id.key_part(), i));
        report.connectors.push(inbound_record(&key, c));
        checks::inbound_checks(&key, c, &window, &mut report.findings);
    }
    for (i, c) in state.outbound.iter().flatten().enumerate() {
        let key = keys.claim(connector_key("outbound", c.id.key_part(), i));
        report.connectors.push(outbound_record(&key, c));
        checks::outbound_checks(&key, c, &window, &mut report.findings);
    }
    checks::tenant_checks(
        state.organization.as_ref(),
        state.transport.as_ref(),
        &mut report.findings,
    );
    report.sorted()
}

