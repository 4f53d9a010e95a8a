//! `host-info`: the time, tenant and site ids, the plugin's settings, the
//! budgets it runs under, and its progress reports.

use super::HostState;
use crate::runtime::limits;
use crate::runtime::wit::latest::plumbline::plugin::host_info::Host;
use crate::runtime::wit::latest::{Attribute, ScanLimits};
use std::time::Instant;

/// Where one plugin's progress reports go (a progress bar, a log line).
/// Made per plugin by whoever runs the scan, so the capability passes
/// reports on without knowing the scan.
pub trait ProgressSink: Send + Sync {
    /// `done` of `total` units of `what` (already made safe to print).
    fn report(&self, done: u64, total: Option<u64>, what: &str);
}

/// What the host tells a plugin about where it runs.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// Tenant id.
    pub tenant_id: String,
    /// Site id.
    pub site_id: String,
    /// The operator's settings for this plugin.
    pub settings: Vec<(String, String)>,
}

impl Host for HostState {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(crate::platform::clock::now_ms())
    }

    async fn tenant_id(&mut self) -> wasmtime::Result<String> {
        Ok(self.facts.tenant_id.clone())
    }

    async fn site_id(&mut self) -> wasmtime::Result<String> {
        Ok(self.facts.site_id.clone())
    }

    async fn settings(&mut self) -> wasmtime::Result<Vec<Attribute>> {
        Ok(self
            .facts
            .settings
            .iter()
            .map(|(name, value)| Attribute {
                name: name.clone(),
                value: value.clone(),
            })
            .collect())
    }

    async fn limits(&mut self) -> wasmtime::Result<ScanLimits> {
        Ok(ScanLimits {
            max_report_bytes: limits::MAX_REPORT_BYTES as u64,
            max_report_items: limits::MAX_REPORT_ITEMS as u32,
            time_left_ms: self.deadline.saturating_duration_since(Instant::now()).as_millis() as u64,
            max_batch: limits::MAX_BATCH as u32,
            max_open_connections: limits::MAX_TCP_CONNECTIONS as u32,
        })
    }

    async fn progress(&mut self, done: u64, total: Option<u64>, what: String) -> wasmtime::Result<()> {
        if let Some(sink) = &self.progress {
            let what = super::log::sanitize(&plumbline_protocol::cells::bounded(&what, limits::MAX_PROGRESS_TEXT_CHARS));
            sink.report(done, total.map(|t| t.max(done)), &what);
        }
        Ok(())
    }
}

impl crate::runtime::wit::latest::plumbline::plugin::types::Host for HostState {}
