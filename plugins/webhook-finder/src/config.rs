//! The plugin's settings.

use plumbline_plugin_sdk::files::MAX_TEXT_BYTES;
use plumbline_plugin_sdk::settings::Settings;
use plumbline_plugin_sdk::{ScanError, SettingSpec};

/// Every setting, as `describe()` declares it.
pub fn declared() -> Vec<SettingSpec> {
    vec![
        SettingSpec::list("paths", "directories to search (granted to the plugin as files)").required(),
        SettingSpec::integer("max_depth", "directory levels below each path that are entered; 0: only the files in it")
            .default(DEFAULT_MAX_DEPTH),
        SettingSpec::integer("max_files", "files read at most in one scan").default(DEFAULT_MAX_FILES),
        SettingSpec::integer("max_dirs", "directories listed at most in one scan").default(DEFAULT_MAX_DIRS),
        SettingSpec::integer("max_file_bytes", "larger files are skipped unread").default(DEFAULT_MAX_FILE_BYTES),
        SettingSpec::integer("max_total_bytes", "bytes read at most in one scan").default(DEFAULT_MAX_TOTAL_BYTES),
        SettingSpec::list("exclude", "directory names never entered; empty: none").default(DEFAULT_EXCLUDE.join(",")),
    ]
}

/// Default `max_depth`: directory levels below each path.
pub const DEFAULT_MAX_DEPTH: u64 = 12;
/// Default `max_files`: files read in one scan.
pub const DEFAULT_MAX_FILES: u64 = 50_000;
/// Default `max_dirs`: directories listed in one scan.
pub const DEFAULT_MAX_DIRS: u64 = 20_000;
/// Default `max_file_bytes`: larger files are skipped unread.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
/// Default `max_total_bytes`: bytes read in one scan.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 512 * 1024 * 1024;
/// Default `exclude`: directory names never entered.
pub const DEFAULT_EXCLUDE: [&str; 2] = [".git", "node_modules"];
/// Largest `max_file_bytes` allowed: a plugin's memory is capped.
pub const MAX_FILE_BYTES_LIMIT: u64 = MAX_TEXT_BYTES;
/// Largest `max_depth` allowed.
pub const MAX_DEPTH_LIMIT: u64 = 64;
/// Distinct references (one URL in one file) reported at most: beyond that
/// the report would outgrow the host's report size cap.
pub const MAX_REFERENCES: usize = 2_000;

/// The parsed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Directories to search (`paths`, comma-separated; required).
    pub paths: Vec<String>,
    /// Directory levels below each path that are entered; 0 reads only the
    /// files directly in it.
    pub max_depth: u64,
    /// Files read at most.
    pub max_files: u64,
    /// Directories listed at most.
    pub max_dirs: u64,
    /// Files larger than this are skipped without being read.
    pub max_file_bytes: u64,
    /// Bytes read at most, over all files.
    pub max_total_bytes: u64,
    /// Directory names never entered (compared case-insensitively).
    pub exclude: Vec<String>,
}

impl Config {
    /// Read the settings.
    pub fn from_settings(settings: &Settings) -> Result<Config, ScanError> {
        let paths = settings.list("paths");
        if paths.is_empty() {
            return Err(ScanError::Config(
                "setting `paths` is missing or empty; set it to the directories to search, \
                 comma-separated (script folders, monitoring configs, RMM script caches), each \
                 also granted in [plugins.webhook-finder.grants] files"
                    .into(),
            ));
        }
        let at_least_one = |name: &str, default: u64| -> Result<u64, ScanError> {
            let v = settings.u64_or(name, default)?;
            if v == 0 {
                return Err(ScanError::Config(format!(
                    "setting `{name}` must be at least 1 (default {default})"
                )));
            }
            Ok(v)
        };
        let max_depth = settings.u64_or("max_depth", DEFAULT_MAX_DEPTH)?;
        if max_depth > MAX_DEPTH_LIMIT {
            return Err(ScanError::Config(format!(
                "setting `max_depth` must be at most {MAX_DEPTH_LIMIT}, got {max_depth}"
            )));
        }
        let max_file_bytes = at_least_one("max_file_bytes", DEFAULT_MAX_FILE_BYTES)?;
        if max_file_bytes > MAX_FILE_BYTES_LIMIT {
            return Err(ScanError::Config(format!(
                "setting `max_file_bytes` must be at most {MAX_FILE_BYTES_LIMIT} (16 MiB), got \
                 {max_file_bytes}: scripts and configs are small, and a plugin's memory is capped"
            )));
        }
        let exclude = match settings.get("exclude") {
            None => DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect(),
            Some(_) => settings.list("exclude"),
        };
        if let Some(bad) = exclude.iter().find(|e| e.contains(['/', '\\'])) {
            return Err(ScanError::Config(format!(
                "setting `exclude` takes directory names, not paths; got {bad:?}"
            )));
        }
        Ok(Config {
            paths,
            max_depth,
            max_files: at_least_one("max_files", DEFAULT_MAX_FILES)?,
            max_dirs: at_least_one("max_dirs", DEFAULT_MAX_DIRS)?,
            max_file_bytes,
            max_total_bytes: at_least_one("max_total_bytes", DEFAULT_MAX_TOTAL_BYTES)?,
            exclude,
        })
    }

    /// Is a directory with this name excluded?
    pub fn excludes(&self, dir_name: &str) -> bool {
        self.exclude.iter().any(|e| e.eq_ignore_ascii_case(dir_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ScanError> {
        Config::from_settings(&Settings::from_pairs(pairs))
    }

    fn config_error(r: Result<Config, ScanError>) -> String {
        match r {
            Err(ScanError::Config(m)) => m,
            other => panic!("expected a Config error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_paths() {
        let c = cfg(&[("paths", r"C:\Scripts, C:\ProgramData\RMM\scripts,,")]).unwrap();
        assert_eq!(c.paths, vec![r"C:\Scripts", r"C:\ProgramData\RMM\scripts"]);
        assert_eq!(c.max_depth, 12);
        assert_eq!(c.max_files, 50_000);
        assert_eq!(c.max_dirs, 20_000);
        assert_eq!(c.max_file_bytes, 2 * 1024 * 1024);
        assert_eq!(c.max_total_bytes, 512 * 1024 * 1024);
        assert_eq!(c.exclude, vec![".git", "node_modules"]);
        assert!(c.excludes("Node_Modules") && !c.excludes("scripts"));
    }

    #[test]
    fn paths_are_required() {
        assert!(config_error(cfg(&[])).contains("`paths`"));
        assert!(config_error(cfg(&[("paths", " , ")])).contains("`paths`"));
    }

    #[test]
    fn bounds_are_checked() {
        let c = cfg(&[
            ("paths", "/srv"),
            ("max_depth", "0"),
            ("max_files", "10"),
            ("max_file_bytes", "1024"),
            ("max_total_bytes", "4096"),
            ("max_dirs", "3"),
            ("exclude", ""),
        ])
        .unwrap();
        assert_eq!(
            (c.max_depth, c.max_files, c.max_file_bytes, c.max_total_bytes, c.max_dirs),
            (0, 10, 1024, 4096, 3)
        );
        assert!(c.exclude.is_empty(), "an empty `exclude` excludes nothing");
        assert!(config_error(cfg(&[("paths", "/srv"), ("max_files", "0")])).contains("`max_files`"));
        assert!(config_error(cfg(&[("paths", "/srv"), ("max_depth", "65")])).contains("`max_depth`"));
        assert!(config_error(cfg(&[("paths", "/srv"), ("max_file_bytes", "999999999")]))
            .contains("`max_file_bytes`"));
        assert!(config_error(cfg(&[("paths", "/srv"), ("max_files", "lots")])).contains("whole number"));
        assert!(config_error(cfg(&[("paths", "/srv"), ("exclude", "a/b")])).contains("names"));
    }
}
