//! Watching between scans (the long-lived `plumbline service run`): the
//! files the service runs from (its config, the policy from the collector,
//! the plugin files), so a change is checked and loaded without a restart;
//! and the folders plugins ask to have watched (webhook-finder's scripts),
//! so a change there rescans that plugin alone, without waiting for the
//! next step.
//!
//! - [`plan`]: what to watch; a plugin's folders only inside its grants.
//! - [`debounce`]: when a change is acted on.
//! - [`record`]: what is watched, for `plumbline status`.
//!
//! Watching is bounded: `[schedule] max_watched_dirs` caps the watches over
//! all plugins, and a folder over it, or over the system's own limit
//! (inotify's `fs.inotify.max_user_watches`), is rescanned on the schedule
//! alone, with one warning saying so. Events are folded as they arrive into
//! [`Changes`] (a flag and a set of plugin names), so a flood of them costs
//! no memory.

pub mod debounce;
pub mod plan;
pub mod record;

use notify::{EventKind, RecursiveMode, Watcher};
use plan::{ControlDir, Folder, Targets};
use record::{RefusedFolder, ScheduleOnly, WatchRecord, WatchedFolder};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What changed since it was last asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The config, the policy or a plugin file: reload.
    pub reload: bool,
    /// Plugins whose watched folders changed: rescan them.
    pub plugins: BTreeSet<String>,
    /// The system's watch limit was reached while a new directory was added.
    pub limit_reached: bool,
}

/// Where each event goes.
struct Routes {
    control: Vec<ControlDir>,
    folders: Vec<Folder>,
}

impl Routes {
    fn route(&self, path: &Path, into: &mut Changes) {
        for c in &self.control {
            let in_dir = path.parent() == Some(c.dir.as_path());
            if in_dir && (c.files.iter().any(|f| f == path) || (c.components && path.extension().is_some_and(|x| x == "wasm"))) {
                into.reload = true;
            }
        }
        for f in &self.folders {
            if path.starts_with(&f.path) {
                into.plugins.insert(f.plugin.clone());
            }
        }
    }

    /// Every route at once: the backend lost events (its queue overflowed).
    fn all(&self, into: &mut Changes) {
        into.reload = true;
        into.plugins.extend(self.folders.iter().map(|f| f.plugin.clone()));
    }
}

struct Shared {
    changes: Mutex<Changes>,
    wake: tokio::sync::Notify,
}

/// The running watches; dropping it ends them.
pub struct Watching {
    _watcher: Option<notify::RecommendedWatcher>,
    shared: Arc<Shared>,
    /// What is watched, and what is not.
    pub record: WatchRecord,
}

/// Whether an event is a change of content: reading a file (a scan does)
/// opens and closes it, and may touch its access time.
fn is_change(kind: &EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, ModifyKind};
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

/// The watches one folder takes: one per directory in it, with inotify
/// (and kqueue); one for the whole tree on Windows and with FSEvents.
/// Counted up to `limit + 1`, which is enough to know it does not fit.
pub fn watches_for(path: &Path, limit: usize) -> usize {
    if cfg!(any(windows, target_os = "macos")) {
        return 1;
    }
    let mut count = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        count += 1;
        if count > limit {
            break;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        // Links are not followed (nor are they by the watcher), so a link
        // loop cannot make the walk endless.
        stack.extend(entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()));
    }
    count
}

/// What to tell an operator about the system's watch limit.
pub const PLATFORM_LIMIT_FIX: &str = "the system's limit on file watches is reached (inotify's \
     fs.inotify.max_user_watches); raise it, e.g. `sysctl fs.inotify.max_user_watches=524288` and the same in \
     /etc/sysctl.d/ to keep it";

impl Watching {
    /// Start watching `targets`, at most `cap` directories of plugin
    /// folders. What cannot be watched is logged once and recorded; the
    /// schedule covers it.
    pub fn start(targets: &Targets, cap: usize) -> Watching {
        let shared = Arc::new(Shared { changes: Mutex::new(Changes::default()), wake: tokio::sync::Notify::new() });
        let mut record = WatchRecord {
            refused: targets
                .refused
                .iter()
                .map(|r| RefusedFolder { plugin: r.plugin.clone(), declared: r.declared.clone() })
                .collect(),
            ..WatchRecord::default()
        };
        for r in &targets.refused {
            tracing::warn!(
                plugin = %r.plugin,
                "the plugin asked to have {:?} watched, which is not inside its granted directories; it is not \
                 watched (grant the folder in [plugins.{}.grants] files if it should be)",
                r.declared,
                r.plugin
            );
        }
        let mut watched = Vec::new();
        let routes = Arc::new(Mutex::new(Routes { control: Vec::new(), folders: Vec::new() }));
        let handler = {
            let (shared, routes) = (shared.clone(), routes.clone());
            move |event: notify::Result<notify::Event>| {
                let mut changes = shared.changes.lock().unwrap_or_else(|e| e.into_inner());
                let routes = routes.lock().unwrap_or_else(|e| e.into_inner());
                match event {
                    Ok(e) if e.need_rescan() => routes.all(&mut changes),
                    Ok(e) if is_change(&e.kind) => e.paths.iter().for_each(|p| routes.route(p, &mut changes)),
                    Ok(_) => return,
                    Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => changes.limit_reached = true,
                    Err(e) => {
                        tracing::warn!("watching for changes: {e}; what it missed is scanned at the next step");
                        return;
                    }
                }
                drop(changes);
                shared.wake.notify_one();
            }
        };
        let config = notify::Config::default().with_follow_symlinks(false);
        let mut watcher = match notify::RecommendedWatcher::new(handler, config) {
            Ok(w) => w,
            Err(e) => {
                let why = match e.kind {
                    notify::ErrorKind::MaxFilesWatch => PLATFORM_LIMIT_FIX.to_string(),
                    _ => format!("the system's file watching cannot start ({e})"),
                };
                tracing::warn!("{why}; nothing is watched, changes are picked up at the schedule's steps");
                record.schedule_only =
                    targets.folders.iter().map(|f| schedule_only(f, &why)).collect();
                return Watching { _watcher: None, shared, record };
            }
        };
        for c in &targets.control {
            match watcher.watch(&c.dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    record.control.push(c.dir.display().to_string());
                    watched.push(c.clone());
                }
                Err(e) => tracing::debug!("not watching {}: {e}; changes there load at the next step", c.dir.display()),
            }
        }
        let mut used = 0;
        let mut folders = Vec::new();
        for f in &targets.folders {
            let cost = watches_for(&f.path, cap.saturating_sub(used));
            let why = if used + cost > cap {
                Some(format!(
                    "watching it takes {}{cost} watches, over [schedule] max_watched_dirs = {cap} ({used} in use); \
                     raise max_watched_dirs or grant narrower folders",
                    if cost > cap.saturating_sub(used) { "at least " } else { "" }
                ))
            } else {
                match watcher.watch(&f.path, RecursiveMode::Recursive) {
                    Ok(()) => None,
                    Err(e) => {
                        let _ = watcher.unwatch(&f.path);
                        Some(match e.kind {
                            notify::ErrorKind::MaxFilesWatch => PLATFORM_LIMIT_FIX.to_string(),
                            notify::ErrorKind::PathNotFound => "the folder does not exist".to_string(),
                            _ => format!("it cannot be watched ({e})"),
                        })
                    }
                }
            };
            match why {
                None => {
                    used += cost;
                    record.watched.push(WatchedFolder { plugin: f.plugin.clone(), path: f.path.display().to_string(), dirs: cost });
                    folders.push(f.clone());
                }
                Some(why) => {
                    tracing::warn!(
                        plugin = %f.plugin,
                        "not watching {}: {why}; changes there are scanned at the schedule's steps only",
                        f.path.display()
                    );
                    record.schedule_only.push(schedule_only(f, &why));
                }
            }
        }
        *routes.lock().unwrap_or_else(|e| e.into_inner()) = Routes { control: watched, folders };
        Watching { _watcher: Some(watcher), shared, record }
    }

    /// Nothing watched.
    pub fn none() -> Watching {
        let shared = Arc::new(Shared { changes: Mutex::new(Changes::default()), wake: tokio::sync::Notify::new() });
        Watching { _watcher: None, shared, record: WatchRecord::default() }
    }

    /// Wait until something changed.
    pub async fn changed(&self) {
        self.shared.wake.notified().await;
    }

    /// What changed since the last call, taken out.
    pub fn take(&self) -> Changes {
        std::mem::take(&mut *self.shared.changes.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn schedule_only(f: &Folder, why: &str) -> ScheduleOnly {
    ScheduleOnly { plugin: f.plugin.clone(), path: f.path.display().to_string(), why: why.to_string() }
}
