//! Where the build script put the plugin components.

use std::path::PathBuf;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("PLUMBLINE_ROOT"))
}

/// Directory of the first-party plugin components.
pub fn plugins_dir() -> PathBuf {
    PathBuf::from(env!("PLUMBLINE_PLUGINS_DIR"))
}

/// A first-party plugin component, e.g. `exchange-connectors`.
pub fn plugin(name: &str) -> PathBuf {
    plugins_dir().join(format!("{name}.wasm"))
}

/// A hostile fixture plugin component, e.g. `fixture-loop`.
pub fn fixture_plugin(name: &str) -> PathBuf {
    PathBuf::from(env!("PLUMBLINE_FIXTURE_PLUGINS_DIR")).join(format!("{name}.wasm"))
}
