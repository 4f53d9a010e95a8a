//! One scan: every configured plugin, each in its own sandbox, merged into
//! one [`ScanResult`]. A plugin that fails is reported as failed; the
//! others' results stand.

use crate::platform::clock::{now_ms, rfc3339};
use crate::capabilities::host_info::ProgressSink;
use crate::capabilities::Network;
use crate::config::Resolved;
use crate::register::{PluginStatus, ScanResult};
use crate::runtime::{limits, LoadedPlugin, PluginError, PluginReport, Runtime, ScanInput};
use crate::service::stop::Stop;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Build the network context and runtime a config asks for.
pub fn runtime_for(config: &Resolved) -> anyhow::Result<Runtime> {
    let net = Arc::new(Network::from_config(&config.config)?);
    Runtime::new(Some(&config.cache_dir), net)
}

/// Gives each plugin, by name, the sink its progress reports go to.
pub type Progress<'a> = &'a (dyn Fn(&str) -> Arc<dyn ProgressSink> + Sync);

/// Run every enabled plugin once, concurrently.
pub async fn run(config: &Resolved, runtime: &Runtime) -> ScanResult {
    run_with(config, runtime, None, &Stop::never()).await
}

/// [`run`], with each plugin's progress reports sent where `progress` says.
pub async fn run_with_progress(config: &Resolved, runtime: &Runtime, progress: Option<Progress<'_>>) -> ScanResult {
    run_with(config, runtime, progress, &Stop::never()).await
}

/// [`run`], until `stop` is requested: a plugin call in progress then
/// finishes and its results count; a plugin not yet at its next step (load,
/// describe, scan) is reported as not run, so the collector keeps what it
/// last reported (a failed plugin makes nothing disappear there).
pub async fn run_until_stopped(config: &Resolved, runtime: &Runtime, stop: &Stop) -> ScanResult {
    run_with(config, runtime, None, stop).await
}

/// [`run`] with both: progress reports where `progress` says, until `stop`.
pub async fn run_with(config: &Resolved, runtime: &Runtime, progress: Option<Progress<'_>>, stop: &Stop) -> ScanResult {
    run_at(config, runtime, progress, stop, now_ms()).await
}

/// [`run_with`], with the plugins told the scan started at `started_ms`: a
/// replay starts when its recording did, so checks on age see the same ages.
pub async fn run_at(
    config: &Resolved,
    runtime: &Runtime,
    progress: Option<Progress<'_>>,
    stop: &Stop,
    started_ms: u64,
) -> ScanResult {
    let jobs = config
        .config
        .plugins
        .iter()
        .filter(|(_, p)| p.enabled)
        .map(|(name, p)| {
            let timeout = p.timeout_secs.map(Duration::from_secs).unwrap_or(limits::DEFAULT_SCAN_TIMEOUT);
            scan_one(config, runtime, name, timeout, started_ms, progress.map(|p| p(name)), stop)
        });
    let outcomes = futures::future::join_all(jobs).await;

    let mut result = ScanResult {
        tenant_id: config.config.tenant_id.clone(),
        site_id: config.config.site_id.clone(),
        started_at: rfc3339(started_ms),
        finished_at: String::new(),
        plugins: Vec::new(),
        connectors: Vec::new(),
        findings: Vec::new(),
    };
    for (status, report) in outcomes {
        if let Some(mut r) = report {
            result.connectors.append(&mut r.connectors);
            result.findings.append(&mut r.findings);
        }
        result.plugins.push(status);
    }
    result.connectors.sort_by(|a, b| a.key.cmp(&b.key));
    result
        .findings
        .sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.connector_key.cmp(&b.connector_key)).then_with(|| a.check_id.cmp(&b.check_id)));
    result.finished_at = rfc3339(now_ms());
    result
}

/// [`PluginStatus::status`] of a plugin that its configuration stopped
/// (settings that do not fit what it declares, a refused signature or pin):
/// the config's to fix, so the scan exits 2, not 3.
pub const CONFIG_STATUS: &str = "config";

/// The status of a plugin not run yet: an error until it has.
pub fn pending(name: &str) -> PluginStatus {
    PluginStatus {
        name: name.to_string(),
        version: None,
        sha256: None,
        status: "error".into(),
        error: None,
        connectors: 0,
        findings: 0,
        warnings: Vec::new(),
        duration_ms: 0,
    }
}

/// Load, describe and check one configured plugin before it scans: its
/// file against its trust settings, its name against the section's, its
/// settings against what it declares. Also how a policy from the collector
/// is checked before it is applied. `stopped` is asked between the steps.
pub async fn prepare(
    config: &Resolved,
    runtime: &Runtime,
    name: &str,
    status: &mut PluginStatus,
    stopped: &dyn Fn() -> Result<(), PluginError>,
) -> Result<(LoadedPlugin, crate::runtime::Description, Vec<(String, String)>), PluginError> {
    stopped()?;
    let path = config.plugin_path(name);
    let loaded: LoadedPlugin = runtime.load_within(&path, &config.trust(name), limits::COMPILE_TIMEOUT).await?;
    status.sha256 = Some(loaded.sha256.clone());
    stopped()?;
    let desc = runtime.describe(&loaded).await?;
    status.version = Some(desc.version.clone());
    if desc.name != name {
        return Err(PluginError::Contract {
            plugin: desc.label(),
            message: format!(
                "{} holds plugin `{}`, but the config section is [plugins.{name}]; rename one to match",
                path.display(),
                desc.name
            ),
        });
    }
    let settings = config.settings(name);
    // A plugin that declares its settings gets only declared ones, of
    // their kind; one that declares none (every 0.1.0 plugin) gets them
    // unchecked, as before.
    if let Err(problem) = crate::runtime::declarations::check_settings(&desc.settings, &settings) {
        let (plugin, section, message) = (desc.label(), name.to_string(), problem.to_string());
        return Err(PluginError::Settings { plugin, section, message });
    }
    if desc.settings.is_empty() && !settings.is_empty() {
        tracing::warn!(
            plugin = name,
            "this plugin (contract {}) declares no settings, so [plugins.{name}.settings] is passed on unchecked",
            desc.contract
        );
    }
    Ok((loaded, desc, settings))
}

async fn scan_one(
    config: &Resolved,
    runtime: &Runtime,
    name: &str,
    timeout: Duration,
    started_ms: u64,
    progress: Option<Arc<dyn ProgressSink>>,
    stop: &Stop,
) -> (PluginStatus, Option<PluginReport>) {
    let begin = Instant::now();
    let mut status = pending(name);
    let stopped = || match stop.is_requested() {
        true => Err(PluginError::Stopped { plugin: name.to_string() }),
        false => Ok(()),
    };
    let outcome: Result<PluginReport, PluginError> = async {
        let (loaded, desc, settings) = prepare(config, runtime, name, &mut status, &stopped).await?;
        let input = ScanInput {
            tenant_id: config.config.tenant_id.clone(),
            site_id: config.config.site_id.clone(),
            settings,
            grants: config.grants.get(name).cloned().unwrap_or_default(),
            base_dir: config.base_dir.clone(),
            timeout,
            started_at_ms: started_ms,
            progress,
        };
        stopped()?;
        runtime.scan(&loaded, &desc, input).await
    }
    .await;
    status.duration_ms = begin.elapsed().as_millis() as u64;
    match outcome {
        Ok(report) => {
            status.status = "ok".into();
            status.connectors = report.connectors.len();
            status.findings = report.findings.len();
            status.warnings = report.warnings.clone();
            tracing::info!(plugin = name, connectors = status.connectors, findings = status.findings, "plugin scan done");
            (status, Some(report))
        }
        Err(e) => {
            // The error carries guest text: one bounded line, whatever it holds.
            tracing::error!(plugin = name, "{}", crate::capabilities::log::sanitize(&e.to_string()));
            status.error = Some(e.to_string());
            if e.is_config() {
                status.status = CONFIG_STATUS.into();
            }
            (status, None)
        }
    }
}
