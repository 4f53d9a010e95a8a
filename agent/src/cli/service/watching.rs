//! The long-lived service between scans, with its watches
//! ([`plumbline_agent::service::watch`]): a change to the config, the
//! policy or a plugin file is checked (parsed, verified, every plugin
//! described) and loaded, or refused with one line while the running set
//! keeps scanning; a change in a folder a plugin asked to have watched
//! rescans that plugin alone, and delivers a batch of it alone (the
//! collector judges disappearance per plugin that reported, so the other
//! plugins' connectors stand).

use super::super::scan::{scan_and_deliver, RESCAN};
use plumbline_agent::config::{Config, Resolved};
use plumbline_agent::service::reload::{self, Snapshot};
use plumbline_agent::service::watch::debounce::Debounce;
use plumbline_agent::service::watch::record::WatchRecord;
use plumbline_agent::service::watch::{plan, Changes, Watching, PLATFORM_LIMIT_FIX};
use plumbline_agent::service::stop::Stop;
use plumbline_agent::service::ServiceError;
use std::path::Path;
use std::time::{Duration, Instant};

/// The set the service scans with, and what it watches for it.
pub struct Running {
    /// The config, with the policy merged in, last loaded.
    pub config: Resolved,
    /// Its files as last loaded.
    accepted: Snapshot,
    /// Its files as last examined (loaded or refused): the same again is
    /// no change (the policy file is rewritten with the same policy).
    examined: Snapshot,
    /// Its plugins that did not load.
    failing: Vec<String>,
    watching: Watching,
    debounce: Debounce,
    limit_warned: bool,
}

impl Running {
    /// Describe the plugins of `config` and watch what they ask for.
    pub async fn start(config: Resolved) -> Running {
        let described = reload::describe_all(&config).await;
        let watching = watch(&config, &described);
        let snapshot = Snapshot::of(&config);
        Running {
            accepted: snapshot.clone(),
            examined: snapshot,
            failing: reload::failing(&described),
            debounce: Debounce::new(config.schedule.rescan_after_change),
            watching,
            config,
            limit_warned: false,
        }
    }

    /// The watches end: nothing is watched any more.
    pub fn stopped(&self) {
        WatchRecord::remove(&self.config.delivery.spool_dir);
    }

    /// Wait for a change (none due: it takes it in and returns).
    pub async fn changed(&mut self) {
        self.watching.changed().await;
        let changes = self.watching.take();
        if changes.limit_reached && !self.limit_warned {
            self.limit_warned = true;
            tracing::warn!(
                "a new directory in a watched folder could not be watched: {PLATFORM_LIMIT_FIX}; changes in it are \
                 scanned at the schedule's steps only"
            );
        }
        self.debounce.absorb(changes, Instant::now());
    }

    /// How long until a change is due, if one waits.
    pub fn due_in(&self) -> Option<Duration> {
        self.debounce.next_due().map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// The changes due now.
    pub fn take_due(&mut self) -> Option<Changes> {
        let due = self.debounce.take_due(Instant::now());
        (due.reload || !due.plugins.is_empty()).then_some(due)
    }

    /// A full scan is about to start: it covers every change so far.
    pub fn scan_starts(&mut self) {
        self.watching.take();
        self.debounce.clear();
    }

    /// At a step: the config as it is now with the policy merged in, as
    /// every step reads it; checked whole if its files are not the ones
    /// last loaded (a change the watches did not see, or one refused).
    pub async fn at_step(&mut self, path: &Path) {
        if Snapshot::of(&self.config) != self.accepted {
            return self.check_and_load(path).await;
        }
        match Config::load(path) {
            Ok(config) => self.config = plumbline_agent::policy::apply(config).await,
            Err(e) => tracing::error!("{e}; the service keeps the config it last loaded until this is fixed"),
        }
    }

    /// The watches saw a change: if the files differ from those last
    /// examined, check them and load them, or refuse them and keep the
    /// running set.
    pub async fn reload(&mut self, path: &Path) {
        if Snapshot::of(&self.config) == self.examined {
            return tracing::debug!("the watched files hold what they held; nothing to reload");
        }
        self.check_and_load(path).await
    }

    async fn check_and_load(&mut self, path: &Path) {
        self.examined = Snapshot::of(&self.config);
        let local = match Config::load(path) {
            Ok(c) => c,
            Err(e) => {
                return tracing::error!(
                    "refused the changed config: {e}; the service keeps scanning with the config it last loaded \
                     until this is fixed"
                );
            }
        };
        let config = plumbline_agent::policy::apply(local).await;
        let described = reload::describe_all(&config).await;
        if let Some(why) = reload::refusal(&described, &self.failing) {
            return tracing::error!(
                "refused the changed config or plugins: {why}; the service keeps scanning with the plugins it last \
                 loaded until this is fixed"
            );
        }
        // The old watches end before the new ones start: the same folders
        // are watched again, not twice.
        drop(std::mem::replace(&mut self.watching, Watching::none()));
        self.watching = watch(&config, &described);
        self.failing = reload::failing(&described);
        self.debounce.set_wait(config.schedule.rescan_after_change);
        self.accepted = Snapshot::of(&config);
        self.examined = self.accepted.clone();
        tracing::info!(
            plugins = described.len(),
            watched = self.watching.record.watched.len(),
            "reloaded {} and its plugins; the next scans use them",
            path.display()
        );
        self.config = config;
    }

    /// Rescan `plugin` alone and deliver its batch.
    pub async fn rescan(&self, plugin: &str, config_arg: Option<&Path>, stop: &Stop) {
        let mut only = self.config.clone();
        only.config.plugins.retain(|name, p| name == plugin && p.enabled);
        if only.config.plugins.is_empty() {
            return;
        }
        tracing::info!(plugin, "a watched folder changed: rescanning this plugin alone");
        match scan_and_deliver(&only, config_arg, stop, None, RESCAN).await {
            Ok(ran) => tracing::info!(plugin, connectors = ran.result.connectors.len(), "rescan delivered"),
            Err(e) if matches!(e.downcast_ref::<ServiceError>(), Some(ServiceError::Busy { .. })) => {
                tracing::warn!("{e:#}")
            }
            Err(e) => tracing::error!(plugin, "this rescan failed: {e:#}; the next step scans it again"),
        }
    }
}

/// Start the watches for `config` and record them for `plumbline status`.
fn watch(config: &Resolved, described: &reload::Described) -> Watching {
    let policy = plumbline_agent::policy::policy_file(&config.delivery);
    let targets = plan::targets(config, &policy, &reload::declared(described));
    let watching = Watching::start(&targets, config.schedule.max_watched_dirs);
    for w in &watching.record.watched {
        tracing::info!(plugin = %w.plugin, "watching {} ({} directories): a change rescans this plugin", w.path, w.dirs);
    }
    if let Err(e) = watching.record.save(&config.delivery.spool_dir) {
        tracing::warn!("{e}; `plumbline status` does not show what is watched");
    }
    watching
}
