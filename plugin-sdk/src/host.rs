//! Facts about the running host.

use crate::bindings::plumbline::plugin::host_info;

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
