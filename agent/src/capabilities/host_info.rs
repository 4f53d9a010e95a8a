//! `host-info`: the time, tenant and site ids, and the plugin's settings.

use super::HostState;
use crate::runtime::wit::latest::plumbline::plugin::host_info::Host;
use crate::runtime::wit::latest::Attribute;

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
}

impl crate::runtime::wit::latest::plumbline::plugin::types::Host for HostState {}
