//! Plugins written in Python, built into components with componentize-py
//! (from PyPI; `scripts/install-deps` puts a pinned copy in its own venv):
//! the example plugin in `examples/python-plugin/` and the Python fixtures in
//! `tests/fixture-plugins-py/`.

use crate::scripted::{self, Tool};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The componentize-py release the build is tested with; install-deps
/// installs exactly this one.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// Overrides where componentize-py is found (a path to the executable).
pub const COMPONENTIZE_PY_ENV: &str = "PLUMBLINE_COMPONENTIZE_PY";

/// The Python plugins: (source directory, component name).
pub const PLUGINS: &[(&str, &str)] = &[
    ("examples/python-plugin", "azure-action-groups"),
    ("tests/fixture-plugins-py/wasi-probe", "fixture-wasi-probe"),
];

/// Where install-deps puts componentize-py: a venv per pinned version under
/// the user's cache, shared by every checkout and worktree on the machine.
pub fn default_componentize_py() -> PathBuf {
    scripted::cache_dir(&format!("componentize-py-{COMPONENTIZE_PY_VERSION}")).join("bin/componentize-py")
}

/// Build every Python plugin into `out_dir`; returns the paths.
pub fn build(root: &Path, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let name = format!("componentize-py {COMPONENTIZE_PY_VERSION}");
    let tool = Tool {
        name: &name,
        env: COMPONENTIZE_PY_ENV,
        default: default_componentize_py(),
        installed_with: "in its own venv",
    };
    scripted::build(root, out_dir, PLUGINS, "app.py", &tool, |exe, src, wit, raw| {
        let mut c = Command::new(exe);
        c.current_dir(src).arg("-d").arg(wit).args(["-w", "plugin", "componentize", "app", "-o"]).arg(raw);
        c
    })
}
