//! What the service watches: the files it runs from, and the folders
//! plugins ask to have watched, each only inside that plugin's granted
//! directories (a declaration is guest text: one that reaches outside the
//! grants is refused, never watched).

use crate::config::{lexical_normalize, paths_normalize, FileGrant, Resolved};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A directory watched for the files the service runs from; a change to
/// one of `files`, or to a component (`*.wasm`) when `components` is set,
/// asks for a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlDir {
    /// The directory (files are replaced by rename, so their directory is
    /// what is watched).
    pub dir: PathBuf,
    /// The files in it that matter.
    pub files: Vec<PathBuf>,
    /// Any `*.wasm` in it matters: the plugin folder.
    pub components: bool,
}

/// A folder a plugin asked to have watched, inside its grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// The plugin's config section.
    pub plugin: String,
    /// The folder.
    pub path: PathBuf,
}

/// A declared folder that is not watched, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The plugin's config section.
    pub plugin: String,
    /// What it declared (bounded guest text).
    pub declared: String,
}

/// Everything to watch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// The config file's, the policy's and the plugins' directories.
    pub control: Vec<ControlDir>,
    /// Plugins' folders.
    pub folders: Vec<Folder>,
    /// Declared folders outside the grants.
    pub refused: Vec<Refused>,
}

/// What to watch for `config`, given what each plugin declared
/// (`declared`: its `watch` list from describe).
pub fn targets(config: &Resolved, policy_file: &Path, declared: &BTreeMap<String, Vec<String>>) -> Targets {
    let mut control: Vec<ControlDir> = Vec::new();
    let mut add = |file: &Path, components: bool| {
        let Some(dir) = file.parent() else { return };
        let dir = lexical_normalize(dir);
        let at = match control.iter().position(|c| c.dir == dir) {
            Some(i) => i,
            None => {
                control.push(ControlDir { dir: dir.clone(), files: Vec::new(), components: false });
                control.len() - 1
            }
        };
        let entry = &mut control[at];
        entry.components |= components;
        if !components {
            entry.files.push(lexical_normalize(file));
        }
    };
    add(&config.source, false);
    add(policy_file, false);
    add(&config.plugin_dir.join("any.wasm"), true);
    for (name, plugin) in &config.config.plugins {
        if plugin.enabled && plugin.path.is_some() {
            add(&config.plugin_path(name), false);
        }
    }
    let mut targets = Targets { control, ..Targets::default() };
    for (plugin, dirs) in declared {
        let grants = config.grants.get(plugin).map(|g| g.files.as_slice()).unwrap_or_default();
        let (watched, refused) = folders(dirs, grants, &config.base_dir);
        targets.folders.extend(watched.into_iter().map(|path| Folder { plugin: plugin.clone(), path }));
        targets.refused.extend(refused.into_iter().map(|declared| Refused { plugin: plugin.clone(), declared }));
    }
    targets
}

/// The folders of one plugin's `declared` list that lie inside `grants`
/// (`*`: all of them), and the declared ones that do not. Relative paths
/// are taken from `base`, as the file capability takes them.
pub fn folders(declared: &[String], grants: &[FileGrant], base: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let granted: Vec<PathBuf> = grants.iter().map(|g| lexical_normalize(&g.dir)).collect();
    let mut watched: Vec<PathBuf> = Vec::new();
    let mut refused = Vec::new();
    for d in declared {
        let wanted: Vec<PathBuf> = match d.trim() {
            "*" => granted.clone(),
            "" => {
                refused.push(d.clone());
                continue;
            }
            text => {
                let path = lexical_normalize(&base.join(paths_normalize(text)));
                if !granted.iter().any(|g| path.starts_with(g)) {
                    refused.push(d.clone());
                    continue;
                }
                vec![path]
            }
        };
        for path in wanted {
            if !watched.contains(&path) {
                watched.push(path);
            }
        }
    }
    // A folder inside another watched one is watched with it already.
    let all = watched.clone();
    watched.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q)));
    (watched, refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(dirs: &[&str]) -> Vec<FileGrant> {
        dirs.iter().map(|d| FileGrant::new(Path::new(d))).collect()
    }

    fn text(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn star_is_every_grant_and_nested_folders_are_watched_once() {
        let (w, r) = folders(&text(&["*", "/srv/scripts/sub"]), &grants(&["/srv/scripts", "/opt/monitoring"]), Path::new("/etc"));
        assert_eq!(w, vec![PathBuf::from("/srv/scripts"), PathBuf::from("/opt/monitoring")]);
        assert!(r.is_empty());
    }

    #[test]
    fn a_folder_outside_the_grants_is_refused_however_it_is_spelled() {
        let g = grants(&["/srv/scripts"]);
        for outside in ["/etc", "/srv/scripts/../../etc", "/srv/scriptsX", "..", "relative/dir", ""] {
            let (w, r) = folders(&text(&[outside]), &g, Path::new("/etc/plumbline"));
            assert!(w.is_empty(), "{outside:?} watched: {w:?}");
            assert_eq!(r, text(&[outside]));
        }
        let (w, _) = folders(&text(&["/srv/scripts/./jobs"]), &g, Path::new("/"));
        assert_eq!(w, vec![PathBuf::from("/srv/scripts/jobs")]);
        let (w, r) = folders(&text(&["*"]), &[], Path::new("/"));
        assert!(w.is_empty() && r.is_empty(), "no grants: nothing to watch");
    }
}
