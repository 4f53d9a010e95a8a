//! Plugins written in Python, built into components with componentize-py
//! (from PyPI; `scripts/install-deps` puts a pinned copy in its own venv):
//! the example plugin in `examples/python-plugin/` and the Python fixtures in
//! `tests/fixture-plugins-py/`, each against the newest frozen contract, signed
//! like every other plugin the build makes.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The componentize-py release the build is tested with; install-deps
/// installs exactly this one.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// Overrides where componentize-py is found (a path to the executable).
pub const COMPONENTIZE_PY_ENV: &str = "PLUMBLINE_COMPONENTIZE_PY";
/// The contract Python plugins are built against.
const WIT_DIR: &str = "wit/since_v0.2.0";

/// The Python plugins: (source directory, component name).
pub const PLUGINS: &[(&str, &str)] = &[
    ("examples/python-plugin", "azure-action-groups"),
    ("tests/fixture-plugins-py/wasi-probe", "fixture-wasi-probe"),
];

/// Where install-deps puts componentize-py: a venv per pinned version under
/// the user's cache, shared by every checkout and worktree on the machine.
pub fn default_componentize_py() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".cache/plumbline")
        .join(format!("componentize-py-{COMPONENTIZE_PY_VERSION}"))
        .join("bin/componentize-py")
}

fn componentize_py() -> Result<PathBuf> {
    let path = std::env::var_os(COMPONENTIZE_PY_ENV).map(PathBuf::from).unwrap_or_else(default_componentize_py);
    if !path.is_file() {
        bail!(
            "componentize-py is not at {} (the Python plugins are built with it). Fix: run scripts/install-deps, \
             which installs componentize-py {COMPONENTIZE_PY_VERSION} there, or set {COMPONENTIZE_PY_ENV} to one",
            path.display()
        );
    }
    Ok(path)
}

/// Build every Python plugin into `out_dir` (skipping those whose component
/// is newer than its sources, the contract and the tool); returns the paths.
pub fn build(root: &Path, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let tool = componentize_py()?;
    std::fs::create_dir_all(out_dir)?;
    let wit = root.join(WIT_DIR);
    let mut outputs = Vec::new();
    for (dir, name) in PLUGINS {
        let src = root.join(dir);
        let out = out_dir.join(format!("{name}.wasm"));
        let inputs = [src.join("app.py"), wit.join("plugin.wit"), tool.clone(), root.join(crate::TEST_KEY)];
        if !stale(&out, &inputs)? {
            outputs.push(out);
            continue;
        }
        let raw = out.with_extension("unsigned.wasm");
        let output = Command::new(&tool)
            .current_dir(&src)
            .arg("-d")
            .arg(&wit)
            .args(["-w", "plugin", "componentize", "app", "-o"])
            .arg(&raw)
            .output()
            .with_context(|| format!("running {}", tool.display()))?;
        if !output.status.success() {
            bail!(
                "componentize-py could not build {dir} ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let component = std::fs::read(&raw).with_context(|| format!("reading {}", raw.display()))?;
        let tmp = out.with_extension("wasm.tmp");
        std::fs::write(&tmp, crate::signed(root, &component)?)?;
        std::fs::rename(&tmp, &out)?;
        std::fs::remove_file(&raw).ok();
        outputs.push(out);
    }
    Ok(outputs)
}

/// `out` is missing or older than one of `inputs`.
fn stale(out: &Path, inputs: &[PathBuf]) -> Result<bool> {
    let modified = |p: &Path| -> Result<SystemTime> {
        Ok(std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?.modified()?)
    };
    let Ok(built) = modified(out) else { return Ok(true) };
    for input in inputs {
        if modified(input)? > built {
            return Ok(true);
        }
    }
    Ok(false)
}
