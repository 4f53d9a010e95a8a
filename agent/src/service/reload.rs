//! A change to the files the service runs from, checked before it is run:
//! the config parsed and resolved (with the policy from the collector
//! merged in, verified as at every run), and every enabled plugin loaded
//! (signature, pin) and described (name, settings), as a scan would. A
//! [`Snapshot`] tells a real change from the service's own rewrite of the
//! same policy file.

use crate::config::Resolved;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the watched files hold now: the config's and the policy's bytes
/// (hashed), and each component's size and time of change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot(Vec<(PathBuf, String)>);

impl Snapshot {
    /// The files `config` runs from, as they are now.
    pub fn of(config: &Resolved) -> Snapshot {
        let mut files = vec![
            (config.source.clone(), hashed(&config.source)),
            (crate::policy::policy_file(&config.delivery), hashed(&crate::policy::policy_file(&config.delivery))),
        ];
        let mut components: Vec<PathBuf> = std::fs::read_dir(&config.plugin_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        components.extend(config.config.plugins.keys().map(|name| config.plugin_path(name)));
        components.sort();
        components.dedup();
        files.extend(components.into_iter().map(|p| {
            let stamp = std::fs::metadata(&p).map(|m| format!("{} {:?}", m.len(), m.modified().ok())).unwrap_or_default();
            (p, stamp)
        }));
        Snapshot(files)
    }
}

fn hashed(path: &Path) -> String {
    std::fs::read(path).map(|bytes| hex::encode(Sha256::digest(bytes))).unwrap_or_default()
}

/// What describing each enabled plugin gave: the folders it asks to have
/// watched, or why it did not load.
pub type Described = BTreeMap<String, Result<Vec<String>, String>>;

/// Load and describe every enabled plugin of `config`, as a scan does
/// before it scans (compiled components come from the cache).
pub async fn describe_all(config: &Resolved) -> Described {
    let mut out = Described::new();
    let enabled: Vec<&String> = config.config.plugins.iter().filter(|(_, p)| p.enabled).map(|(n, _)| n).collect();
    let runtime = match crate::scan::runtime_for(config) {
        Ok(r) => r,
        Err(e) => {
            for name in enabled {
                out.insert(name.clone(), Err(format!("the plugin runtime does not start: {e:#}")));
            }
            return out;
        }
    };
    for name in enabled {
        let mut status = crate::scan::pending(name);
        let described = crate::scan::prepare(config, &runtime, name, &mut status, &|| Ok(())).await;
        let described = described.map(|(_, desc, _)| desc.watch).map_err(|e| crate::capabilities::log::sanitize(&e.to_string()));
        out.insert(name.clone(), described);
    }
    out
}

/// Why `described` is refused: a plugin that does not load now, unless it
/// did not load in the running set either (`failing`: a change elsewhere
/// is not held up by a plugin that was already broken).
pub fn refusal(described: &Described, failing: &[String]) -> Option<String> {
    let new_failures: Vec<String> = described
        .iter()
        .filter_map(|(name, d)| d.as_ref().err().filter(|_| !failing.contains(name)).map(|e| format!("[plugins.{name}]: {e}")))
        .collect();
    (!new_failures.is_empty()).then(|| new_failures.join("; "))
}

/// The plugins of `described` that did not load.
pub fn failing(described: &Described) -> Vec<String> {
    described.iter().filter(|(_, d)| d.is_err()).map(|(n, _)| n.clone()).collect()
}

/// The folders each plugin that loaded asks to have watched.
pub fn declared(described: &Described) -> BTreeMap<String, Vec<String>> {
    described.iter().filter_map(|(n, d)| d.as_ref().ok().filter(|w| !w.is_empty()).map(|w| (n.clone(), w.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_broken_before_does_not_hold_up_a_change() {
        let mut d = Described::new();
        d.insert("a".into(), Ok(vec!["*".into()]));
        d.insert("b".into(), Err("no file".into()));
        assert_eq!(refusal(&d, &["b".into()]), None);
        assert_eq!(refusal(&d, &[]).unwrap(), "[plugins.b]: no file");
        assert_eq!(failing(&d), vec!["b".to_string()]);
        assert_eq!(declared(&d).keys().collect::<Vec<_>>(), vec!["a"]);
    }
}
