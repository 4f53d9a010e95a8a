//! The host capabilities a plugin can import: `http`, `tcp`, `files`, `log`
//! and `host-info`. Each checks every call against the plugin's effective
//! permissions (what it declared AND what the operator granted) and traces
//! the decision. A capability knows the plugin's name for its traces, but
//! never which scan is running. WASI is linked too, with nothing granted
//! ([`wasi`]), for guests such as Python that cannot start without it.

pub mod files;
pub mod forbidden;
pub mod host_info;
pub mod http;
pub mod log;
pub mod network;
pub mod permissions;
pub mod tape;
pub mod tcp;
mod tcp_tls;
pub mod wasi;

pub use network::Network;
pub use permissions::{Declared, Permissions};

use crate::runtime::limits;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::component::ResourceTable;

/// Everything one plugin instance's host calls can reach. One per Store,
/// so one per scan of one plugin.
pub struct HostState {
    /// `name@version`, for traces and errors.
    pub plugin: Arc<str>,
    /// What this plugin may do.
    pub perms: Arc<Permissions>,
    /// HTTP client, endpoint overrides and credentials.
    pub net: Arc<Network>,
    /// Tenant, site and settings.
    pub facts: Arc<host_info::HostFacts>,
    /// Relative file paths are taken from here.
    pub base_dir: PathBuf,
    /// Open resources (TCP connections, and WASI's streams and pollables).
    pub table: ResourceTable,
    /// WASI with nothing granted ([`wasi::deny_all`]).
    pub wasi: wasmtime_wasi::WasiCtx,
    /// Memory and table limits, remembering what tripped them.
    pub limiter: Limiter,
    /// Wall-clock deadline checked on every epoch tick.
    pub deadline: Instant,
    /// TCP connections currently open.
    pub open_connections: usize,
    /// What this plugin may still write to the operator's log.
    pub log_budget: Arc<log::LogBudget>,
    /// Its slots for blocking work (file system calls, name lookups).
    pub blocking_slots: Arc<tokio::sync::Semaphore>,
    /// Its HTTP requests in flight ([`limits::MAX_HTTP_IN_FLIGHT_PER_PLUGIN`]).
    pub http_slots: Arc<tokio::sync::Semaphore>,
    /// Where its progress reports go; none: nobody is watching.
    pub progress: Option<Arc<dyn host_info::ProgressSink>>,
    /// What it declared it needs, to name what a 403 lacks.
    pub hints: Arc<forbidden::PermissionHints>,
}

/// Store limits over the whole plugin, not one memory at a time: wasmtime
/// asks per memory and per table, so the limiter keeps the running totals.
/// It remembers a refusal, so the scan error can say "memory limit" rather
/// than a bare trap.
#[derive(Debug, Default)]
pub struct Limiter {
    /// Bytes held by all linear memories and tables of the store.
    pub total_bytes: usize,
    /// Elements in all tables of the store.
    pub table_elements: usize,
    /// Set (to the total asked for) when a growth was refused.
    pub memory_refused: Option<usize>,
}

impl Limiter {
    fn grow(&mut self, current: usize, desired: usize) -> wasmtime::Result<bool> {
        let asked = self.total_bytes.saturating_sub(current).saturating_add(desired);
        if asked > limits::MAX_MEMORY_BYTES {
            self.memory_refused = Some(asked);
            return Err(wasmtime::format_err!(
                "plugin exceeded its memory limit of {} MiB (its memories and tables would hold {} MiB)",
                limits::MAX_MEMORY_BYTES >> 20,
                asked >> 20
            ));
        }
        self.total_bytes = asked;
        Ok(true)
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(current, desired)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let elements = self.table_elements.saturating_sub(current).saturating_add(desired);
        if elements > limits::MAX_TABLE_ELEMENTS {
            return Ok(false);
        }
        let bytes = |n: usize| n.saturating_mul(limits::TABLE_ELEMENT_BYTES);
        let allowed = self.grow(bytes(current), bytes(desired))?;
        self.table_elements = elements;
        Ok(allowed)
    }

    fn instances(&self) -> usize {
        limits::MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        limits::MAX_TABLES
    }

    fn memories(&self) -> usize {
        limits::MAX_MEMORIES
    }
}

/// Record a capability decision. Every host call goes through here. The
/// target and the reason carry guest text, so both are made safe to log;
/// denials count against the plugin's log budget (allowed calls are traced
/// at debug level, and bounded by the other limits).
pub(crate) fn trace_decision(
    budget: &log::LogBudget,
    plugin: &str,
    capability: &str,
    target: &str,
    allowed: bool,
    why: &str,
) {
    let (target, why) = (log::sanitize(target), log::sanitize(why));
    if allowed {
        tracing::debug!(plugin, capability, target, decision = "allow", "{why}");
    } else if budget.admit(target.len() + why.len()) {
        tracing::warn!(plugin, capability, target, decision = "deny", "{why}");
    }
}

impl HostState {
    /// [`trace_decision`] for this plugin.
    pub(crate) fn trace(&self, plugin: &str, capability: &str, target: &str, allowed: bool, why: &str) {
        trace_decision(&self.log_budget, plugin, capability, target, allowed, why);
    }
}
