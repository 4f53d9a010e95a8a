//! `plumbline doctor`: where the agent keeps its things and who may touch
//! them. For MSP support and for checking a deployment.

pub mod credentials;

use crate::config::{default_paths, Resolved};
use crate::platform::private;
use std::fmt::Write as _;
use std::path::Path;

fn line(out: &mut String, label: &str, path: &Path) {
    let state = if path.exists() {
        private::describe(path).unwrap_or_else(|e| format!("protection unknown: {e}"))
    } else {
        "not created yet".to_string()
    };
    let _ = writeln!(out, "{label:<10} {}  [{state}]", path.display());
}

/// The report: platform defaults, then the configured locations with their
/// protection (Unix mode, or the Windows DACL in SDDL form).
pub fn report(config: Option<&Resolved>) -> String {
    let mut out = String::new();
    let d = default_paths();
    let _ = writeln!(out, "plumbline {} on {}", env!("CARGO_PKG_VERSION"), std::env::consts::OS);
    let _ = writeln!(out, "platform defaults:");
    for (label, p) in [
        ("config", &d.config),
        ("plugins", &d.plugins),
        ("cache", &d.cache),
        ("spool", &d.spool),
        ("keys", &d.keys),
        ("logs", &d.logs),
    ] {
        let _ = writeln!(out, "  {label:<8} {}", p.display());
    }
    if let Some(c) = config {
        let _ = writeln!(out, "this configuration ({}):", c.source.display());
        line(&mut out, "plugins", &c.plugin_dir);
        line(&mut out, "cache", &c.cache_dir);
        line(&mut out, "spool", &c.delivery.spool_dir);
        line(&mut out, "key", &c.delivery.key_file);
    }
    out
}

/// Would `plugin` be allowed to read `path`? Loads the plugin to learn what
/// it declares, intersects that with the config's grants, and resolves the
/// path exactly as the files capability does. For operators debugging a
/// grant (and for the Windows path checks under wine).
pub async fn check_path(config: &Resolved, plugin: &str, path: &str) -> anyhow::Result<String> {
    use crate::capabilities::files::open_checked;
    use crate::capabilities::permissions::Permissions;
    use crate::runtime::wit::latest::plumbline::plugin::files::FileError;
    let runtime = crate::scan::runtime_for(config)?;
    let loaded = runtime.load(&config.plugin_path(plugin), &config.trust(plugin))?;
    let desc = runtime.describe(&loaded).await?;
    let grants = config.grants.get(plugin).cloned().unwrap_or_default();
    let perms = Permissions::new(&desc.name, &desc.declared, &grants);
    // The very check a plugin's read goes through: as written, then the
    // opened handle's real path.
    Ok(match open_checked(&perms, path, &config.base_dir) {
        Ok((_, real)) => format!("allowed: {}", real.display()),
        Err(FileError::Denied(m)) => format!("denied: {m}"),
        Err(FileError::NotFound(m)) => format!("not found (inside the grant): {m}"),
        Err(FileError::TooLarge(m) | FileError::Io(m)) => format!("error: {m}"),
    })
}
