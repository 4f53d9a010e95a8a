//! Effective permissions: what a plugin declared, intersected with what the
//! operator granted. Nothing is allowed unless both say so.

use crate::config::{Grants, HostPattern, TcpGrant};
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};

/// What a plugin asked for in `describe()`, in host terms.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Declared {
    /// HTTP host patterns.
    pub http_hosts: Vec<String>,
    /// TCP targets: host (name, IP, CIDR or `*`) and ports.
    pub tcp_targets: Vec<(String, Vec<u16>)>,
    /// Directories, or `*` for whatever is granted.
    pub file_dirs: Vec<String>,
}

/// A refused capability call, with a message that says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// The effective permissions of one plugin.
#[derive(Debug, Clone)]
pub struct Permissions {
    plugin: String,
    declared_http: Vec<HostPattern>,
    granted_http: Vec<HostPattern>,
    declared_tcp: Vec<TcpGrant>,
    granted_tcp: Vec<TcpGrant>,
    /// Directories the plugin may read below.
    file_roots: Vec<Root>,
    credentials: Vec<String>,
    /// Problems found while intersecting (bad declarations, missing dirs).
    pub warnings: Vec<String>,
}

impl Permissions {
    /// Nothing allowed at all.
    pub fn none(plugin: &str) -> Self {
        Permissions {
            plugin: plugin.to_string(),
            declared_http: Vec::new(),
            granted_http: Vec::new(),
            declared_tcp: Vec::new(),
            granted_tcp: Vec::new(),
            file_roots: Vec::new(),
            credentials: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Intersect a plugin's declaration with the operator's grants.
    pub fn new(plugin: &str, declared: &Declared, granted: &Grants) -> Self {
        let mut p = Permissions::none(plugin);
        for h in &declared.http_hosts {
            match HostPattern::parse(h) {
                Ok(pat) => p.declared_http.push(pat),
                Err(e) => p.warnings.push(format!("ignored declared HTTP host {e}")),
            }
        }
        for (host, ports) in &declared.tcp_targets {
            match TcpGrant::declared(host, ports) {
                Ok(t) => p.declared_tcp.push(t),
                Err(e) => p.warnings.push(format!("ignored declared TCP target {e}")),
            }
        }
        p.granted_http = granted.http.clone();
        p.granted_tcp = granted.tcp.clone();
        p.credentials = granted.credentials.clone();

        let any_dir = declared.file_dirs.iter().any(|d| d.trim() == "*");
        let declared_dirs: Vec<PathBuf> = declared
            .file_dirs
            .iter()
            .filter(|d| d.trim() != "*")
            .filter_map(|d| std::fs::canonicalize(d).ok())
            .collect();
        for grant in &granted.files {
            let Ok(root) = std::fs::canonicalize(&grant.dir) else {
                p.warnings.push(format!(
                    "granted directory {} does not exist or cannot be read; it grants nothing",
                    grant.dir.display()
                ));
                continue;
            };
            let configured = lexical_normalize(&grant.dir);
            if any_dir {
                p.file_roots.push(Root { configured, canonical: root });
                continue;
            }
            for d in &declared_dirs {
                if is_within(d, &root) {
                    p.file_roots.push(Root { configured: d.clone(), canonical: d.clone() });
                } else if is_within(&root, d) {
                    p.file_roots.push(Root { configured: configured.clone(), canonical: root.clone() });
                }
            }
        }
        p.file_roots.sort();
        p.file_roots.dedup();
        p
    }

    /// May the plugin send HTTP to `host`?
    pub fn check_http(&self, host: &str) -> Result<(), Denied> {
        let declared = self.declared_http.iter().any(|p| p.matches(host));
        let granted = self.granted_http.iter().any(|p| p.matches(host));
        match (declared, granted) {
            (true, true) => Ok(()),
            (false, _) => Err(Denied(format!(
                "HTTP to `{host}` denied: plugin `{}` did not declare this host in describe()",
                self.plugin
            ))),
            (true, false) => Err(Denied(format!(
                "HTTP to `{host}` denied: not granted; to allow it add \"{host}\" to [plugins.{}.grants] http",
                self.plugin
            ))),
        }
    }

    /// May the plugin open TCP to `host` (resolved to `ip`) on `port`?
    pub fn check_tcp(&self, host: &str, ip: IpAddr, port: u16) -> Result<(), Denied> {
        let declared = self.declared_tcp.iter().any(|t| t.covers(host, ip, port));
        let granted = self.granted_tcp.iter().any(|t| t.covers(host, ip, port));
        match (declared, granted) {
            (true, true) => Ok(()),
            (false, _) => Err(Denied(format!(
                "TCP to {host} ({ip}) port {port} denied: plugin `{}` did not declare this target",
                self.plugin
            ))),
            (true, false) => Err(Denied(format!(
                "TCP to {host} ({ip}) port {port} denied: not granted; to allow it add \"{ip}:{port}\" (or its network, e.g. \"{ip}/24:{port}\") to [plugins.{}.grants] tcp",
                self.plugin
            ))),
        }
    }

    /// May the plugin name credential profile `name`?
    pub fn check_credential(&self, name: &str) -> Result<(), Denied> {
        if self.credentials.iter().any(|c| c == name) {
            Ok(())
        } else {
            Err(Denied(format!(
                "credential profile `{name}` denied: to allow it add \"{name}\" to [plugins.{}.grants] credentials",
                self.plugin
            )))
        }
    }

    /// Resolve a path the plugin asked for to a canonical path inside a
    /// granted directory, or refuse. `base` anchors relative paths. `..`,
    /// symbolic links, junctions and alternate data streams cannot lead
    /// outside a grant.
    pub fn resolve_file(&self, requested: &str, base: &Path) -> Result<PathBuf, FileDenied> {
        let denied = |why: &str| {
            FileDenied::Denied(format!(
                "reading `{requested}` denied: {why}; granted directories: {}",
                self.roots_text()
            ))
        };
        if requested.is_empty() || requested.contains('\0') {
            return Err(denied("empty path or NUL byte"));
        }
        if has_stream_suffix(requested) {
            return Err(denied("alternate data streams (`name:stream`) are not readable"));
        }
        let normalized = crate::config::paths_normalize(requested);
        let absolute = if is_absolute_any(&normalized) {
            normalized
        } else {
            base.join(normalized)
        };
        // Lexical check first, so that nothing outside a grant is even
        // probed for existence.
        let lexical = lexical_normalize(&absolute);
        if !self
            .file_roots
            .iter()
            .any(|r| is_within(&lexical, &r.configured) || is_within(&lexical, &r.canonical))
        {
            return Err(denied("outside every granted directory"));
        }
        let canonical = match std::fs::canonicalize(&lexical) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FileDenied::NotFound(requested.to_string()))
            }
            Err(e) => return Err(FileDenied::Io(format!("{requested}: {e}"))),
        };
        if !self.file_roots.iter().any(|r| is_within(&canonical, &r.canonical)) {
            return Err(denied("it resolves (through a link or junction) outside every granted directory"));
        }
        Ok(canonical)
    }

    fn roots_text(&self) -> String {
        if self.file_roots.is_empty() {
            format!("none (grant one in [plugins.{}.grants] files)", self.plugin)
        } else {
            self.file_roots
                .iter()
                .map(|r| uncanon(&r.configured).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// A readable directory: as configured (for the lexical check and for
/// messages) and canonical (for the final check after links are resolved).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Root {
    configured: PathBuf,
    canonical: PathBuf,
}

/// Why a file path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileDenied {
    /// Outside the grant.
    Denied(String),
    /// Inside the grant, but not there.
    NotFound(String),
    /// Inside the grant, but unreadable.
    Io(String),
}

/// Is `path` equal to or below `root`? Both should be normalized the same
/// way. Compared component by component, case-insensitively on Windows.
pub fn is_within(path: &Path, root: &Path) -> bool {
    let mut p = path.components();
    for r in root.components() {
        match p.next() {
            Some(c) if same_component(&c, &r) => {}
            _ => return false,
        }
    }
    true
}

fn same_component(a: &Component<'_>, b: &Component<'_>) -> bool {
    if cfg!(windows) {
        a.as_os_str().to_string_lossy().to_lowercase() == b.as_os_str().to_string_lossy().to_lowercase()
    } else {
        a == b
    }
}

/// Resolve `.` and `..` without touching the file system.
pub fn lexical_normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `file.txt:stream` (NTFS alternate data stream), but not a drive letter.
fn has_stream_suffix(path: &str) -> bool {
    let rest = match path.as_bytes() {
        [d, b':', ..] if d.is_ascii_alphabetic() => &path[2..],
        _ => path,
    };
    let rest = rest.strip_prefix("\\\\?\\").unwrap_or(rest);
    let rest = match rest.as_bytes() {
        [d, b':', ..] if d.is_ascii_alphabetic() => &rest[2..],
        _ => rest,
    };
    rest.contains(':')
}

fn is_absolute_any(p: &Path) -> bool {
    let s = p.to_string_lossy();
    let b = s.as_bytes();
    p.is_absolute() || s.starts_with("\\\\") || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

/// Windows' canonical form is `\\?\C:\...`; show and compare it as `C:\...`.
fn uncanon(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    match s.strip_prefix("\\\\?\\UNC\\") {
        Some(rest) => PathBuf::from(format!("\\\\{rest}")),
        None => PathBuf::from(s.strip_prefix("\\\\?\\").unwrap_or(&s).to_string()),
    }
}

#[cfg(test)]
mod tests;
