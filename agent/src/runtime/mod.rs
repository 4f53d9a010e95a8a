//! The sandbox: wasmtime with the component model, async on tokio.
//!
//! Each `describe` and each `scan` runs in a fresh `Store` with named limits
//! (memory, an epoch-checked deadline and a wall-clock timeout, report size).
//! A plugin that traps, loops, runs out of memory or returns too much fails
//! on its own with a clear [`PluginError`]; nothing it does reaches another
//! plugin's store.
//!
//! Two error layers: a trap means the plugin crashed (or the host has a
//! bug); a WIT `result` error is the plugin telling us something went wrong.
//! Both are wrapped with the plugin's name and version.

pub mod cache;
pub mod declarations;
pub mod limits;
mod load;
mod report;
pub mod trust;
pub mod wit;

use crate::capabilities::host_info::HostFacts;
use crate::capabilities::{Declared, HostState, Limiter, Network, Permissions};
use crate::config::Grants;
use crate::register::{ConnectorEntry, FindingEntry};
use cache::CompileCache;
use load::Loader;
use trust::{SignatureState, TrustPolicy};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{Engine, Store, UpdateDeadline};
use wit::{Linkers, PluginPre};

/// Marker in the trap raised when a plugin runs past its deadline.
const DEADLINE_TRAP: &str = "plumbline: plugin ran past its deadline";

/// Why a plugin failed. Always names the plugin (file, or name@version).
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The component file could not be read.
    #[error("cannot read plugin {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The file is not a component for a contract this agent knows.
    #[error("{path} is not a usable Plumbline plugin: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The operator's trust settings refuse the component: its pin or its
    /// publisher signature. Like [`PluginError::Settings`], the config's to fix.
    #[error("plugin {path} was refused: {message}")]
    Refused {
        /// The file.
        path: PathBuf,
        /// What was expected, what was found, and what to do.
        message: String,
    },
    /// The plugin crashed (a trap).
    #[error("plugin {plugin} crashed (trap): {message}")]
    Trap {
        /// name@version.
        plugin: String,
        /// The trap.
        message: String,
    },
    /// The plugin ran past its time limit.
    #[error("plugin {plugin} exceeded its time limit of {secs} s and was stopped")]
    Timeout {
        /// name@version.
        plugin: String,
        /// The limit.
        secs: u64,
    },
    /// The plugin asked for more memory than allowed.
    #[error("plugin {plugin} exceeded its memory limit of {mib} MiB and was stopped")]
    Memory {
        /// name@version.
        plugin: String,
        /// The limit.
        mib: usize,
    },
    /// The plugin's report is over the size cap.
    #[error("plugin {plugin} returned an oversized report: {message}")]
    ReportTooLarge {
        /// name@version.
        plugin: String,
        /// Sizes.
        message: String,
    },
    /// The plugin returned an error from `scan`.
    #[error("plugin {plugin} reported an error ({kind}): {message}")]
    Guest {
        /// name@version.
        plugin: String,
        /// config, denied, malformed, upstream or other.
        kind: String,
        /// Its message.
        message: String,
    },
    /// The operator's settings do not fit what the plugin declared.
    #[error("plugin {plugin}: [plugins.{section}.settings]: {message}")]
    Settings {
        /// name@version.
        plugin: String,
        /// The config section.
        section: String,
        /// Every problem, with "did you mean" where a key is close to a declared one.
        message: String,
    },
    /// The agent was asked to stop before this plugin's turn came.
    #[error("plugin {plugin} was not run: the agent was asked to stop before it started; it runs at the next scan")]
    Stopped {
        /// The config section's name.
        plugin: String,
    },
    /// The plugin broke the contract in some other way.
    #[error("plugin {plugin}: {message}")]
    Contract {
        /// name@version or file.
        plugin: String,
        /// What.
        message: String,
    },
}

impl PluginError {
    /// The operator's configuration stopped the plugin (its settings, its
    /// trust), not the plugin itself: the scan exits as a config error.
    pub fn is_config(&self) -> bool {
        matches!(self, PluginError::Settings { .. } | PluginError::Refused { .. })
    }
}

/// What a plugin says about itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Description {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// One line.
    pub description: String,
    /// Categories, kebab-case.
    pub categories: Vec<String>,
    /// Capabilities it asks for.
    pub declared: Declared,
    /// The contract version it targets, e.g. `0.2.0`.
    pub contract: &'static str,
    /// The settings it reads; empty when it declares none (every 0.1.0
    /// plugin), and then its settings are passed on unchecked.
    pub settings: Vec<SettingSpec>,
    /// The Microsoft 365 permissions and roles it needs.
    pub permissions: Vec<RequiredPermission>,
    /// Granted folders whose changes should trigger a rescan.
    pub watch: Vec<String>,
}

/// What values a declared setting takes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "choices")]
pub enum SettingKind {
    /// Any text.
    Text,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A whole number of the unit its name says.
    Duration,
    /// A path.
    Path,
    /// Comma-separated items.
    List,
    /// One of these words.
    Choice(Vec<String>),
}

impl SettingKind {
    /// As the config's reader knows it: `integer`, `offline|live`.
    pub fn label(&self) -> String {
        match self {
            SettingKind::Text => "text".into(),
            SettingKind::Integer => "integer".into(),
            SettingKind::Boolean => "boolean".into(),
            SettingKind::Duration => "duration".into(),
            SettingKind::Path => "path".into(),
            SettingKind::List => "list".into(),
            SettingKind::Choice(words) => words.join("|"),
        }
    }
}

/// One declared setting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SettingSpec {
    /// The key.
    pub name: String,
    /// Its values.
    pub kind: SettingKind,
    /// Whether the scan needs it.
    pub required: bool,
    /// The default, as text.
    pub default: Option<String>,
    /// One line.
    pub doc: String,
}

/// One Microsoft 365 permission or role a plugin needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequiredPermission {
    /// `graph`, `exchange`, `exchange-role`, `entra-role`, `power-platform`.
    pub api: String,
    /// Its name.
    pub name: String,
    /// What for.
    pub why: String,
    /// The setting naming the credential profile whose token carries it.
    pub credential_setting: Option<String>,
}

impl Description {
    /// `name@version`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// A compiled plugin, ready to instantiate.
pub struct LoadedPlugin {
    /// The component file.
    pub path: PathBuf,
    /// sha256 of the file.
    pub sha256: String,
    /// Its publisher signature, as checked.
    pub signature: SignatureState,
    /// Whether the compile came from the cache.
    pub from_cache: bool,
    pre: PluginPre,
}

impl LoadedPlugin {
    /// The contract version the component targets, e.g. `0.1.0`.
    pub fn contract(&self) -> &'static str {
        self.pre.contract().version()
    }

    /// What it imports beyond the contract (WASI interfaces, which the host
    /// links deny-all), e.g. `wasi:cli/environment@0.2.0`; empty for a
    /// component that needs nothing but the contract. Asked only by
    /// `plugins inspect`, so a scan's load does not pay for it.
    pub fn other_imports(&self) -> Vec<String> {
        let component = self.pre.component();
        wit::other_imports(component.engine(), component)
    }
}

/// Everything one scan of one plugin needs from the caller.
pub struct ScanInput {
    /// Tenant id.
    pub tenant_id: String,
    /// Site id.
    pub site_id: String,
    /// The plugin's settings.
    pub settings: Vec<(String, String)>,
    /// The operator's grants for it.
    pub grants: Grants,
    /// Relative file paths are taken from here.
    pub base_dir: PathBuf,
    /// Wall-clock limit for the scan.
    pub timeout: Duration,
    /// Scan start, ms since the epoch.
    pub started_at_ms: u64,
    /// Where the plugin's progress reports go; none: dropped.
    pub progress: Option<Arc<dyn crate::capabilities::host_info::ProgressSink>>,
}

/// What one plugin reported, converted to register types.
#[derive(Debug, Clone)]
pub struct PluginReport {
    /// Entries.
    pub connectors: Vec<ConnectorEntry>,
    /// Findings.
    pub findings: Vec<FindingEntry>,
    /// Non-fatal problems.
    pub warnings: Vec<String>,
}

/// Advances the engine's epoch every [`limits::EPOCH_TICK`].
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The plugin host.
pub struct Runtime {
    engine: Engine,
    loader: Loader,
    net: Arc<Network>,
    _ticker: EpochTicker,
}

impl Runtime {
    /// A runtime caching compiles in `cache_dir` (none: always compile).
    pub fn new(cache_dir: Option<&Path>, net: Arc<Network>) -> anyhow::Result<Self> {
        let mut config = wasmtime::Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(limits::MAX_WASM_STACK_BYTES)
            .async_stack_size(limits::ASYNC_STACK_BYTES);
        // `perf report` names a plugin's functions only from a perf map
        // (/tmp/perf-PID.map) the engine writes as it compiles or loads;
        // for profiling a bench, never on by default.
        if std::env::var_os("PLUMBLINE_WASM_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(anyhow::Error::from)?;
        let linkers = Linkers::new(&engine).map_err(anyhow::Error::from)?;
        let cache = match cache_dir {
            Some(dir) => Some(Arc::new(CompileCache::new(dir, &engine).map_err(|e| {
                anyhow::anyhow!("cannot use the compiled-plugin cache {}: {e}", dir.display())
            })?)),
            None => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let (e, s) = (engine.clone(), stop.clone());
        std::thread::Builder::new()
            .name("plumbline-epoch".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    std::thread::sleep(limits::EPOCH_TICK);
                    e.increment_epoch();
                }
            })?;
        Ok(Runtime {
            loader: Loader { engine: engine.clone(), linkers, cache },
            engine,
            net,
            _ticker: EpochTicker { stop },
        })
    }

    /// Read, verify against `trust` and compile (or load from cache) a
    /// component file, on this thread.
    pub fn load(&self, path: &Path, trust: &TrustPolicy) -> Result<LoadedPlugin, PluginError> {
        self.loader.load(path, trust)
    }

    /// [`Runtime::load`] on a blocking thread, given up after `deadline`:
    /// a hostile component that is slow to compile fails on its own
    /// instead of stalling the scan's other plugins.
    pub async fn load_within(&self, path: &Path, trust: &TrustPolicy, deadline: Duration) -> Result<LoadedPlugin, PluginError> {
        let (loader, file, trust) = (self.loader.clone(), path.to_path_buf(), trust.clone());
        match tokio::time::timeout(deadline, tokio::task::spawn_blocking(move || loader.load(&file, &trust))).await {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(e)) => Err(PluginError::Read { path: path.to_path_buf(), message: format!("loading failed: {e}") }),
            Err(_) => Err(PluginError::Timeout { plugin: path.display().to_string(), secs: deadline.as_secs() }),
        }
    }

    fn store(&self, plugin: &str, perms: Permissions, facts: HostFacts, base_dir: PathBuf, timeout: Duration) -> Store<HostState> {
        self.store_with(plugin, perms, facts, base_dir, timeout, None)
    }

    fn store_with(
        &self,
        plugin: &str,
        perms: Permissions,
        facts: HostFacts,
        base_dir: PathBuf,
        timeout: Duration,
        progress: Option<Arc<dyn crate::capabilities::host_info::ProgressSink>>,
    ) -> Store<HostState> {
        let state = HostState {
            plugin: plugin.into(),
            perms: Arc::new(perms),
            net: self.net.clone(),
            facts: Arc::new(facts),
            base_dir,
            table: wasmtime::component::ResourceTable::new(),
            wasi: crate::capabilities::wasi::deny_all(),
            limiter: Limiter::default(),
            deadline: Instant::now() + timeout,
            open_connections: 0,
            log_budget: Default::default(),
            blocking_slots: crate::capabilities::files::blocking_slots(),
            http_slots: Arc::new(tokio::sync::Semaphore::new(limits::MAX_HTTP_IN_FLIGHT_PER_PLUGIN)),
            progress,
            hints: Arc::default(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().deadline {
                Err(wasmtime::format_err!("{DEADLINE_TRAP}"))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    /// Ask a plugin who it is and what it needs.
    pub async fn describe(&self, plugin: &LoadedPlugin) -> Result<Description, PluginError> {
        let label = plugin.path.display().to_string();
        let mut store = self.store(
            &label,
            Permissions::none(&label),
            HostFacts { tenant_id: String::new(), site_id: String::new(), settings: Vec::new() },
            PathBuf::new(),
            limits::DESCRIBE_TIMEOUT,
        );
        let _dropped = DroppedLines(store.data().log_budget.clone(), label.clone());
        let call = plugin.pre.describe(&mut store);
        let info = match tokio::time::timeout(limits::DESCRIBE_TIMEOUT + limits::EPOCH_TICK * 10, call).await {
            Err(_) => return Err(PluginError::Timeout { plugin: label, secs: limits::DESCRIBE_TIMEOUT.as_secs() }),
            Ok(Err(e)) => return Err(classify(&label, &store, e, limits::DESCRIBE_TIMEOUT)),
            Ok(Ok(info)) => info,
        };
        report::description(info, plugin.contract()).map_err(|message| PluginError::Contract { plugin: label, message })
    }

    /// Run one scan of a described plugin in a fresh store.
    pub async fn scan(&self, plugin: &LoadedPlugin, desc: &Description, input: ScanInput) -> Result<PluginReport, PluginError> {
        let label = desc.label();
        let perms = Permissions::new(&desc.name, &desc.declared, &input.grants);
        let mut warnings = perms.warnings.clone();
        let facts = HostFacts {
            tenant_id: input.tenant_id.clone(),
            site_id: input.site_id.clone(),
            settings: input.settings.clone(),
        };
        let mut store = self.store_with(&label, perms, facts, input.base_dir.clone(), input.timeout, input.progress.clone());
        let needs = declarations::needs_by_profile(&desc.permissions, &input.settings, &desc.settings);
        let hints = Arc::new(crate::capabilities::forbidden::PermissionHints::new(&desc.name, needs));
        store.data_mut().hints = hints.clone();
        let ctx = wit::latest::ScanContext {
            tenant_id: input.tenant_id.clone(),
            site_id: input.site_id.clone(),
            started_at_ms: input.started_at_ms,
            settings: input
                .settings
                .iter()
                .map(|(n, v)| wit::latest::Attribute { name: n.clone(), value: v.clone() })
                .collect(),
        };
        let _dropped = DroppedLines(store.data().log_budget.clone(), label.clone());
        let call = plugin.pre.scan(&mut store, &ctx);
        // The epoch callback stops guest code at the deadline; this outer
        // timeout also stops a plugin stuck in a slow host call.
        let grace = limits::EPOCH_TICK * 50;
        let result = match tokio::time::timeout(input.timeout + grace, call).await {
            Err(_) => return Err(PluginError::Timeout { plugin: label, secs: input.timeout.as_secs() }),
            Ok(Err(e)) => return Err(classify(&label, &store, e, input.timeout)),
            Ok(Ok(r)) => r,
        };
        let wit_report = result.map_err(|e| {
            let (kind, message) = report::scan_error(e);
            PluginError::Guest { plugin: label.clone(), kind: kind.into(), message }
        })?;
        let mut converted = report::convert(&input.tenant_id, desc, wit_report)
            .map_err(|message| PluginError::ReportTooLarge { plugin: label.clone(), message })?;
        warnings.append(&mut converted.warnings);
        warnings.extend(hints.warnings());
        converted.warnings = warnings;
        Ok(converted)
    }
}

/// Says, once a call ends however it ends, how many of the plugin's log
/// lines its budget dropped.
struct DroppedLines(Arc<crate::capabilities::log::LogBudget>, String);

impl Drop for DroppedLines {
    fn drop(&mut self) {
        self.0.report(&self.1);
    }
}

/// Turn a wasmtime error into the right [`PluginError`].
fn classify(plugin: &str, store: &Store<HostState>, e: wasmtime::Error, timeout: Duration) -> PluginError {
    let plugin = plugin.to_string();
    if store.data().limiter.memory_refused.is_some() {
        return PluginError::Memory { plugin, mib: limits::MAX_MEMORY_BYTES >> 20 };
    }
    let text = format!("{e:?}");
    if text.contains(DEADLINE_TRAP) {
        return PluginError::Timeout { plugin, secs: timeout.as_secs() };
    }
    // The trap itself ("wasm `unreachable` instruction executed"), not the
    // whole wasm backtrace: one line for a register, the rest for the log.
    let message = match e.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or("unknown failure")
            .trim()
            .to_string(),
    };
    tracing::debug!(plugin = %plugin, "trap detail: {text}");
    PluginError::Trap { plugin, message }
}
