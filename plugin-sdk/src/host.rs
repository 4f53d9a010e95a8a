//! Facts about the running host, the budgets this scan runs under, and
//! progress reports for the operator.

use crate::bindings::plumbline::plugin::host_info;
use crate::ScanLimits;

/// Now, in milliseconds since the Unix epoch (UTC).
pub fn now_ms() -> u64 {
    host_info::now_ms()
}

/// The tenant this agent reports for.
pub fn tenant_id() -> String {
    host_info::tenant_id()
}

/// The site this agent runs at.
pub fn site_id() -> String {
    host_info::site_id()
}

/// The report's byte and item budgets, the list lengths of `send_all` and
/// `connect_all`, and the time left: cut to these rather than to numbers
/// of the plugin's own.
pub fn limits() -> ScanLimits {
    host_info::limits()
}

/// Tell the operator how far the scan has got: `done` of `total` (if
/// known) units of `what`, e.g. `progress(1200, Some(20000), "flow permissions")`.
pub fn progress(done: u64, total: Option<u64>, what: &str) {
    host_info::progress(done, total, what)
}
