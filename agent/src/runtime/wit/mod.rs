//! Host bindings for each frozen contract version, and the one place that
//! knows which version a component targets.
//!
//! `since_v0_2_0` binds `wit/since_v0.2.0` and is `latest`: the capabilities
//! implement its host traits. `since_v0_1_0` binds `wit/since_v0.1.0`; its
//! host traits forward to the latest ones and its types are converted in
//! that module alone, so old plugins keep working. Each version has its own
//! linker; a component is matched to one by the package version in its
//! import names.

pub mod since_v0_1_0;
pub mod since_v0_2_0;

/// The newest contract version this host speaks.
pub use since_v0_2_0 as latest;

use crate::capabilities::HostState;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store};

/// Contract versions this host can load, newest first.
pub const SUPPORTED_CONTRACTS: &[&str] = &["plumbline:plugin@0.2.0", "plumbline:plugin@0.1.0"];

/// The package every contract version's interfaces live in.
const PACKAGE: &str = "plumbline:plugin/";

/// A contract version this host binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// `plumbline:plugin@0.1.0`.
    V0_1,
    /// `plumbline:plugin@0.2.0`.
    V0_2,
}

impl Contract {
    /// Newest first, as a component without contract imports is tried.
    pub const ALL: [Contract; 2] = [Contract::V0_2, Contract::V0_1];

    /// `0.2.0`.
    pub fn version(self) -> &'static str {
        match self {
            Contract::V0_1 => "0.1.0",
            Contract::V0_2 => "0.2.0",
        }
    }
}

/// One linker per contract version, each with every host import of that
/// version.
#[derive(Clone)]
pub struct Linkers {
    v0_1: Linker<HostState>,
    v0_2: Linker<HostState>,
}

impl Linkers {
    /// Both linkers for `engine`.
    pub fn new(engine: &Engine) -> wasmtime::Result<Self> {
        let mut v0_2 = Linker::new(engine);
        latest::Plugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut v0_2, |s| s)?;
        // 0.2 only: a 0.1 plugin predates WASI-importing guests, so it keeps
        // the linker it was tested with.
        crate::capabilities::wasi::add_to_linker(&mut v0_2)?;
        let mut v0_1 = Linker::new(engine);
        since_v0_1_0::Plugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut v0_1, |s| s)?;
        Ok(Linkers { v0_1, v0_2 })
    }

    /// The versions `component` may target: the one its imports name, or,
    /// when it imports nothing of the contract, every version newest first
    /// (the exports' types then decide). `Err` names a version this host
    /// does not bind.
    pub fn candidates(engine: &Engine, component: &Component) -> Result<Vec<Contract>, String> {
        let mut named: Option<String> = None;
        for (name, _) in component.component_type().imports(engine) {
            let Some(rest) = name.strip_prefix(PACKAGE) else { continue };
            let version = rest.split_once('@').map(|(_, v)| v).unwrap_or("");
            match &named {
                Some(v) if v != version => {
                    return Err(format!("it imports two contract versions, {v} and {version}"));
                }
                _ => named = Some(version.to_string()),
            }
        }
        match named.as_deref() {
            None => Ok(Contract::ALL.to_vec()),
            Some(v) => match Contract::ALL.iter().find(|c| c.version() == v) {
                Some(c) => Ok(vec![*c]),
                None => Err(format!("it targets contract plumbline:plugin@{v}")),
            },
        }
    }

    /// Pre-instantiate `component` for `contract`.
    pub fn instantiate_pre(&self, contract: Contract, component: &Component) -> wasmtime::Result<PluginPre> {
        Ok(match contract {
            Contract::V0_2 => PluginPre::V0_2(latest::PluginPre::new(self.v0_2.instantiate_pre(component)?)?),
            Contract::V0_1 => PluginPre::V0_1(since_v0_1_0::PluginPre::new(self.v0_1.instantiate_pre(component)?)?),
        })
    }
}

/// The component's imports that are not the contract's, sorted: for
/// `plugins inspect`, so that an operator sees whether a plugin brings a
/// runtime that expects WASI (linked deny-all) or needs nothing but the host.
pub fn other_imports(engine: &Engine, component: &Component) -> Vec<String> {
    let mut names: Vec<String> =
        component.component_type().imports(engine).map(|(n, _)| n.to_string()).filter(|n| !n.starts_with(PACKAGE)).collect();
    names.sort();
    names
}

/// A component ready to instantiate, in the version it targets; calls give
/// and take the latest types.
pub enum PluginPre {
    /// A 0.1.0 component.
    V0_1(since_v0_1_0::PluginPre<HostState>),
    /// A 0.2.0 component.
    V0_2(latest::PluginPre<HostState>),
}

impl PluginPre {
    /// The version it targets.
    pub fn contract(&self) -> Contract {
        match self {
            PluginPre::V0_1(_) => Contract::V0_1,
            PluginPre::V0_2(_) => Contract::V0_2,
        }
    }

    /// The compiled component.
    pub fn component(&self) -> &Component {
        match self {
            PluginPre::V0_1(pre) => pre.instance_pre().component(),
            PluginPre::V0_2(pre) => pre.instance_pre().component(),
        }
    }

    /// Instantiate and call `describe`.
    pub async fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<latest::PluginInfo> {
        match self {
            PluginPre::V0_2(pre) => pre.instantiate_async(&mut *store).await?.call_describe(store).await,
            PluginPre::V0_1(pre) => {
                let info = pre.instantiate_async(&mut *store).await?.call_describe(store).await?;
                Ok(since_v0_1_0::plugin_info(info))
            }
        }
    }

    /// Instantiate and call `scan`.
    pub async fn scan(
        &self,
        store: &mut Store<HostState>,
        ctx: &latest::ScanContext,
    ) -> wasmtime::Result<Result<latest::Report, latest::ScanError>> {
        match self {
            PluginPre::V0_2(pre) => pre.instantiate_async(&mut *store).await?.call_scan(store, ctx).await,
            PluginPre::V0_1(pre) => {
                let old = since_v0_1_0::scan_context(ctx);
                let out = pre.instantiate_async(&mut *store).await?.call_scan(store, &old).await?;
                Ok(out.map(since_v0_1_0::report).map_err(since_v0_1_0::scan_error))
            }
        }
    }
}
