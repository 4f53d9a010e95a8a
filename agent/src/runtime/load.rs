//! Loading a component: read it (size-capped), hash it, check its pin and
//! signature, compile it or take the compile from the cache, and check that
//! it fits a contract this agent binds. Cloneable, so that a load can run on a blocking thread.

use super::cache::CompileCache;
use super::trust::{Refusal, TrustPolicy};
use super::{limits, wit, LoadedPlugin, PluginError};
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::Component;
use wasmtime::Engine;
use wit::Linkers;

/// What a load needs: the engine, a linker per contract version with every
/// host import, and the compile cache.
#[derive(Clone)]
pub(super) struct Loader {
    pub(super) engine: Engine,
    pub(super) linkers: Linkers,
    pub(super) cache: Option<Arc<CompileCache>>,
}

impl Loader {
    /// Read, verify against `trust` and compile (or load from cache) a
    /// component file.
    pub fn load(&self, path: &Path, trust: &TrustPolicy) -> Result<LoadedPlugin, PluginError> {
        let read_err = |message: String| PluginError::Read { path: path.to_path_buf(), message };
        let meta = std::fs::metadata(path).map_err(|e| read_err(e.to_string()))?;
        if meta.len() > limits::MAX_COMPONENT_BYTES {
            return Err(read_err(format!(
                "{} bytes is over the {}-byte limit for a plugin",
                meta.len(),
                limits::MAX_COMPONENT_BYTES
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| read_err(e.to_string()))?;
        let invalid = |message: String| PluginError::Invalid { path: path.to_path_buf(), message };
        // First, as no signature could make a core module loadable.
        if !wasmparser_is_component(&bytes) {
            return Err(invalid(
                "not a WebAssembly component (a core module? build plugins with `cargo xtask build-plugins`)".into(),
            ));
        }
        // On these bytes, before the cache is asked: the cache is keyed by
        // their sha256, so what it returns is the compile of what was checked.
        let (signature, sha256) = trust.check(&bytes).map_err(|r| match r {
            Refusal::Unreadable(message) => invalid(message),
            Refusal::Denied(message) => PluginError::Refused { path: path.to_path_buf(), message },
        })?;
        let cached = self.cache.as_ref().and_then(|c| c.load(&self.engine, &sha256));
        let from_cache = cached.is_some();
        let component = match cached {
            Some(c) => c,
            None => {
                let c = Component::new(&self.engine, &bytes).map_err(|e| invalid(format!("{e:#}")))?;
                if let Some(cache) = &self.cache {
                    if let Err(e) = cache.store(&sha256, &c) {
                        tracing::warn!(path = %path.display(), "could not cache the compiled plugin: {e:#}");
                    }
                }
                c
            }
        };
        let supported = wit::SUPPORTED_CONTRACTS.join(", ");
        let candidates = Linkers::candidates(&self.engine, &component)
            .map_err(|m| invalid(format!("{m}; this agent supports {supported}")))?;
        let mut last = None;
        for contract in candidates {
            match self.linkers.instantiate_pre(contract, &component) {
                Ok(pre) => return Ok(LoadedPlugin { path: path.to_path_buf(), sha256, signature, from_cache, pre }),
                Err(e) => last = Some((contract, e)),
            }
        }
        let (contract, e) = last.expect("at least one contract version is tried");
        Err(invalid(format!(
            "it does not fit contract plumbline:plugin@{} ({e:#}); this agent supports {supported}",
            contract.version()
        )))
    }
}

/// Components have layer 1 in the preamble; core modules layer 0.
fn wasmparser_is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[0..4] == *b"\0asm" && bytes[6..8] == [0x01, 0x00]
}
