//! Platform default locations, and path resolution that accepts both `/`
//! and `\` in the config on every platform.

use std::path::{Component, Path, PathBuf};

/// Where the agent keeps its things when the config does not say.
#[derive(Debug, Clone)]
pub struct DefaultPaths {
    /// The config file.
    pub config: PathBuf,
    /// Plugin components.
    pub plugins: PathBuf,
    /// Compiled-plugin cache.
    pub cache: PathBuf,
    /// Delivery spool.
    pub spool: PathBuf,
    /// Agent keys.
    pub keys: PathBuf,
    /// Logs.
    pub logs: PathBuf,
}

/// The platform defaults: `%ProgramData%\Plumbline\...` on Windows;
/// `/etc/plumbline` and `/var/lib/plumbline` on Linux when running as root,
/// and the XDG directories otherwise.
pub fn default_paths() -> DefaultPaths {
    if cfg!(windows) {
        let base = PathBuf::from(
            std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into()),
        )
        .join("Plumbline");
        return DefaultPaths {
            config: base.join("plumbline.toml"),
            plugins: base.join("plugins"),
            cache: base.join("cache"),
            spool: base.join("spool"),
            keys: base.join("keys"),
            logs: base.join("logs"),
        };
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let system = is_root() || home.is_none();
    if system {
        let state = PathBuf::from("/var/lib/plumbline");
        return DefaultPaths {
            config: PathBuf::from("/etc/plumbline/plumbline.toml"),
            plugins: state.join("plugins"),
            cache: PathBuf::from("/var/cache/plumbline"),
            spool: state.join("spool"),
            keys: state.join("keys"),
            logs: PathBuf::from("/var/log/plumbline"),
        };
    }
    let home = home.unwrap_or_default();
    let xdg = |var: &str, fallback: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(fallback))
            .join("plumbline")
    };
    let data = xdg("XDG_DATA_HOME", ".local/share");
    let state = xdg("XDG_STATE_HOME", ".local/state");
    DefaultPaths {
        config: xdg("XDG_CONFIG_HOME", ".config").join("plumbline.toml"),
        plugins: data.join("plugins"),
        cache: xdg("XDG_CACHE_HOME", ".cache"),
        spool: state.join("spool"),
        keys: data.join("keys"),
        logs: state.join("logs"),
    }
}

#[cfg(unix)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe extern "C" {
        fn geteuid() -> u32;
    }
    unsafe { geteuid() == 0 }
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

/// `configured` (with either separator) relative to `base`, or `default`.
pub fn resolve(base: &Path, configured: Option<&Path>, default: &Path) -> PathBuf {
    match configured {
        None => default.to_path_buf(),
        Some(p) => {
            let p = normalize_separators(p);
            if p.is_absolute() || has_windows_root(&p) {
                lexical_normalize(&p)
            } else {
                lexical_normalize(&base.join(p))
            }
        }
    }
}

/// Resolve `.` and `..` without touching the file system. `..` never
/// climbs above a root, and a leading `..` of a relative path is kept (once
/// it was dropped, so `../x` silently became `x`).
pub fn lexical_normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Accept `\` and `/` alike: turn them into this platform's separator.
pub fn normalize_separators(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    if cfg!(windows) {
        PathBuf::from(s.replace('/', "\\"))
    } else {
        PathBuf::from(s.replace('\\', "/"))
    }
}

fn has_windows_root(p: &Path) -> bool {
    let s = p.to_string_lossy();
    let b = s.as_bytes();
    s.starts_with("\\\\") || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_separators_resolve_against_the_base() {
        let base = Path::new("/etc/plumbline");
        let got = resolve(base, Some(Path::new("demo\\exchange")), Path::new("/x"));
        if cfg!(windows) {
            assert_eq!(got, Path::new("/etc/plumbline\\demo\\exchange"));
        } else {
            assert_eq!(got, Path::new("/etc/plumbline/demo/exchange"));
        }
        assert_eq!(resolve(base, None, Path::new("/x")), Path::new("/x"));
        assert_eq!(resolve(base, Some(Path::new("/abs/dir")), Path::new("/x")), Path::new("/abs/dir"));
    }

    #[test]
    fn defaults_are_absolute() {
        let d = default_paths();
        for p in [&d.config, &d.plugins, &d.cache, &d.spool, &d.keys, &d.logs] {
            assert!(p.is_absolute() || has_windows_root(p), "{}", p.display());
        }
    }
}
