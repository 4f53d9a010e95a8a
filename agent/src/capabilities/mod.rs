//! The host capabilities a plugin can import: `http`, `tcp`, `files`, `log`
//! and `host-info`. Each checks every call against the plugin's effective
//! permissions (what it declared AND what the operator granted) and traces
//! the decision. A capability knows the plugin's name for its traces, but
//! never which scan is running.

pub mod files;
pub mod host_info;
pub mod http;
pub mod log;
pub mod network;
pub mod permissions;
pub mod tcp;
mod tcp_tls;

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
    /// Open resources (TCP connections).
    pub table: ResourceTable,
    /// Memory and table limits, remembering what tripped them.
    pub limiter: Limiter,
    /// Wall-clock deadline checked on every epoch tick.
    pub deadline: Instant,
    /// TCP connections currently open.
    pub open_connections: usize,
}

/// Store limits that remember a refusal, so the scan error can say
/// "memory limit" rather than a bare trap.
#[derive(Debug, Default)]
pub struct Limiter {
    /// Set when a memory growth was refused.
    pub memory_refused: Option<usize>,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > limits::MAX_MEMORY_BYTES {
            self.memory_refused = Some(desired);
            return Err(wasmtime::format_err!(
                "plugin exceeded its memory limit of {} MiB (asked for {} MiB)",
                limits::MAX_MEMORY_BYTES >> 20,
                desired >> 20
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= limits::MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        limits::MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        limits::MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        limits::MAX_INSTANCES
    }
}

/// Record a capability decision. Every host call goes through here.
pub(crate) fn trace_decision(plugin: &str, capability: &str, target: &str, allowed: bool, why: &str) {
    if allowed {
        tracing::debug!(plugin, capability, target, decision = "allow", "{why}");
    } else {
        tracing::warn!(plugin, capability, target, decision = "deny", "{why}");
    }
}
