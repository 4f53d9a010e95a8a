//! Effective permissions: what a plugin declared, intersected with what the
//! operator granted. Nothing is allowed unless both say so.

use crate::config::{lexical_normalize, Grants, HttpTarget, TcpGrant};
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
    declared_http: Vec<HttpTarget>,
    granted_http: Vec<HttpTarget>,
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
            match HttpTarget::parse_declared(h) {
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
        // A declared directory is looked at on disk only when it lies inside
        // a grant: canonicalizing `\\server\share` would make Windows
        // authenticate to that server, handing it the agent's NTLM hash.
        let declared_dirs: Vec<PathBuf> = declared
            .file_dirs
            .iter()
            .filter(|d| d.trim() != "*")
            .map(|d| lexical_normalize(&crate::config::paths_normalize(d)))
            .filter(|d| {
                is_absolute_any(d) && granted.files.iter().any(|g| is_within(d, &lexical_normalize(&g.dir)))
            })
            .filter_map(|d| std::fs::canonicalize(d).ok())
            .collect();
        for grant in &granted.files {
            if !is_absolute_any(&grant.dir) || lexical_normalize(&grant.dir).as_os_str().is_empty() {
                // The config loader makes grants absolute; an empty root
                // would match every path.
                p.warnings.push(format!(
                    "granted directory {:?} is not an absolute path; it grants nothing",
                    grant.dir.display().to_string()
                ));
                continue;
            }
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

    /// May the plugin send HTTPS to `host` (normalised: lower case, no
    /// trailing dot) on `port`?
    pub fn check_http(&self, host: &str, port: u16) -> Result<(), Denied> {
        let declared = self.declared_http.iter().any(|p| p.matches(host, port));
        let granted = self.granted_http.iter().any(|p| p.matches(host, port));
        let target = if port == HttpTarget::DEFAULT_PORT { host.to_string() } else { format!("{host}:{port}") };
        match (declared, granted) {
            (true, true) => Ok(()),
            (false, _) => Err(Denied(format!(
                "HTTP to `{target}` denied: plugin `{}` did not declare this host in describe()",
                self.plugin
            ))),
            (true, false) => Err(Denied(format!(
                "HTTP to `{target}` denied: not granted; to allow it add \"{target}\" to [plugins.{}.grants] http",
                self.plugin
            ))),
        }
    }

    /// May the plugin open TCP to the host name `host` on `port`? Asked
    /// before the name is resolved, so that a plugin without a grant for
    /// that name cannot make the agent look anything up.
    pub fn check_tcp_name(&self, host: &str, port: u16) -> Result<(), Denied> {
        let declared = self.declared_tcp.iter().any(|t| t.covers_name(host, port));
        let granted = self.granted_tcp.iter().any(|t| t.covers_name(host, port));
        self.tcp_verdict(host, port, declared, granted, "a CIDR grant covers IP literals only, so name the host")
    }

    /// May the plugin open TCP to the address `ip` it gave literally?
    pub fn check_tcp_ip(&self, ip: IpAddr, port: u16) -> Result<(), Denied> {
        let declared = self.declared_tcp.iter().any(|t| t.covers_ip(ip, port));
        let granted = self.granted_tcp.iter().any(|t| t.covers_ip(ip, port));
        let ip = ip.to_canonical();
        let hint = format!("or its network, e.g. \"{ip}/24:{port}\"");
        self.tcp_verdict(&ip.to_string(), port, declared, granted, &hint)
    }

    fn tcp_verdict(&self, target: &str, port: u16, declared: bool, granted: bool, hint: &str) -> Result<(), Denied> {
        let grant = if target.contains(':') { format!("[{target}]:{port}") } else { format!("{target}:{port}") };
        match (declared, granted) {
            (true, true) => Ok(()),
            (false, _) => Err(Denied(format!(
                "TCP to {target} port {port} denied: plugin `{}` did not declare this target",
                self.plugin
            ))),
            (true, false) => Err(Denied(format!(
                "TCP to {target} port {port} denied: not granted; to allow it add \"{grant}\" ({hint}) to [plugins.{}.grants] tcp",
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

    /// The absolute path to open for a path the plugin asked for, when it
    /// lies inside a granted directory as written; or a refusal. `base`
    /// anchors relative paths. Nothing touches the file system here, so
    /// nothing outside a grant is even probed. The opened handle's real
    /// path then goes through [`Permissions::check_opened`].
    pub fn resolve_file(&self, requested: &str, base: &Path) -> Result<PathBuf, FileDenied> {
        let denied = |why: &str| self.file_denied(requested, why);
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
        let lexical = lexical_normalize(&absolute);
        if !is_absolute_any(&lexical)
            || !self
                .file_roots
                .iter()
                .any(|r| is_within(&lexical, &r.configured) || is_within(&lexical, &r.canonical))
        {
            return Err(denied("outside every granted directory"));
        }
        Ok(lexical)
    }

    /// May the plugin read what it opened, now at `real` (the handle's own
    /// path, links and junctions resolved)?
    pub fn check_opened(&self, requested: &str, real: &Path) -> Result<(), FileDenied> {
        if self.file_roots.iter().any(|r| is_within(real, &r.canonical)) {
            Ok(())
        } else {
            Err(self.file_denied(requested, "it resolves (through a link or junction) outside every granted directory"))
        }
    }

    fn file_denied(&self, requested: &str, why: &str) -> FileDenied {
        FileDenied::Denied(format!("reading `{requested}` refused: {why}; granted directories: {}", self.roots_text()))
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
