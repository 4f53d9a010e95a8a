//! Which configured plugins have no component file, and which plugin in the
//! folder a misspelled section most likely meant.

use super::Resolved;
use std::fmt;
use std::path::{Path, PathBuf};

/// An enabled `[plugins.NAME]` section whose component file is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPlugin {
    /// The section's name.
    pub name: String,
    /// The file it would load.
    pub file: PathBuf,
    /// The plugin in `plugin_dir` the name is closest to; only for sections
    /// without `path`, whose name is what picks the file.
    pub suggestion: Option<String>,
}

/// `[plugins.NAME] (FILE; did you mean `OTHER`?)`
impl fmt::Display for MissingPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[plugins.{}] ({}", self.name, self.file.display())?;
        if let Some(s) = &self.suggestion {
            write!(f, "; did you mean `{s}`?")?;
        }
        write!(f, ")")
    }
}

impl Resolved {
    /// The enabled plugins whose component file does not exist. Checked
    /// when the config is loaded, so that a typo is told as what it is
    /// rather than as a plugin that failed to run.
    pub fn missing_plugins(&self) -> Vec<MissingPlugin> {
        let mut available: Option<Vec<String>> = None;
        let mut missing = Vec::new();
        for (name, section) in self.config.plugins.iter().filter(|(_, p)| p.enabled) {
            let file = self.plugin_path(name);
            if file.is_file() {
                continue;
            }
            let suggestion = match section.path {
                Some(_) => None,
                None => closest(name, available.get_or_insert_with(|| plugins_in(&self.plugin_dir))),
            };
            missing.push(MissingPlugin { name: name.clone(), file, suggestion });
        }
        missing
    }
}

/// The plugin names (`NAME.wasm`) in `dir`; none when it cannot be read.
fn plugins_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// The candidate a typo of `name` would be (plugin names, setting keys): a few edits away, and close
/// relative to its length, so that a short unrelated name is not offered.
pub fn closest(name: &str, candidates: &[String]) -> Option<String> {
    let wanted = name.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&wanted, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 3 && *d * 3 <= c.chars().count().max(wanted.chars().count()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

#[cfg(test)]
mod tests {
    use super::closest;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn typos_find_the_plugin_meant() {
        let have = names(&["exchange-connectors", "smtp-relay", "teams-webhooks", "webhook-finder"]);
        assert_eq!(closest("exchange-conectors", &have).as_deref(), Some("exchange-connectors"));
        assert_eq!(closest("smtp_relay", &have).as_deref(), Some("smtp-relay"));
        assert_eq!(closest("Teams-Webhooks", &have).as_deref(), Some("teams-webhooks"));
        assert_eq!(closest("teams-webhook", &have).as_deref(), Some("teams-webhooks"));
    }

    #[test]
    fn unrelated_names_get_no_suggestion() {
        let have = names(&["exchange-connectors", "smtp-relay"]);
        assert_eq!(closest("absent", &have), None);
        assert_eq!(closest("my-own-plugin", &have), None);
        assert_eq!(closest("x", &names(&["y"])), None, "one edit in one letter is not a typo");
    }
}
