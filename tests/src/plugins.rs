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

/// The publisher key (`ed25519:BASE64`) the build signed every component
/// under target/ with: the committed TEST key unless the build was given another.
pub fn publisher() -> &'static str {
    env!("PLUMBLINE_PLUGINS_PUBLISHER")
}

/// A hostile fixture plugin component, e.g. `fixture-loop`.
pub fn fixture_plugin(name: &str) -> PathBuf {
    PathBuf::from(env!("PLUMBLINE_FIXTURE_PLUGINS_DIR")).join(format!("{name}.wasm"))
}

/// A Python plugin component built with componentize-py, e.g.
/// `azure-action-groups` (examples/python-plugin) or `fixture-wasi-probe`.
pub fn python_plugin(name: &str) -> PathBuf {
    PathBuf::from(env!("PLUMBLINE_PYTHON_PLUGINS_DIR")).join(format!("{name}.wasm"))
}

/// A JavaScript plugin component built with componentize-js, e.g.
/// `azure-logic-apps` (examples/js-plugin).
pub fn js_plugin(name: &str) -> PathBuf {
    PathBuf::from(env!("PLUMBLINE_JS_PLUGINS_DIR")).join(format!("{name}.wasm"))
}

/// A committed build of a first-party plugin for contract 0.1.0 (see
/// tests/data/contract-v0.1.0/README.md), after checking it against the
/// committed SHA256SUMS: a file swapped or rebuilt by accident would
/// silently stop testing the old contract.
pub fn v0_1_plugin(name: &str) -> PathBuf {
    let dir = root().join("tests/data/contract-v0.1.0");
    let file = format!("{name}.wasm");
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("tests/data/contract-v0.1.0/SHA256SUMS");
    let expected = sums
        .lines()
        .find_map(|l| l.split_once("  ").filter(|(_, f)| *f == file).map(|(h, _)| h.to_string()))
        .unwrap_or_else(|| panic!("{file} is not listed in tests/data/contract-v0.1.0/SHA256SUMS"));
    let path = dir.join(&file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let actual: String = ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(actual, expected, "{} is not the committed 0.1.0 build", path.display());
    path
}

/// The contract-0.1.0 builds kept as fixtures.
pub const V0_1_PLUGINS: [&str; 2] = ["exchange-connectors", "power-automate-flows"];
