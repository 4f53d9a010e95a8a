//! Plugins written in JavaScript, built into components with componentize-js
//! (from npm; `scripts/install-deps` installs what the example's
//! package-lock.json pins under the user's cache): the example plugin in
//! `examples/js-plugin/`, with every WASI feature of its engine disabled.

use crate::scripted::{self, Tool};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The componentize-js release the build is tested with; it is the one
/// examples/js-plugin/package.json names, and install-deps installs it.
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";
/// Overrides where componentize-js is found (a path to its `componentize-js` script).
pub const COMPONENTIZE_JS_ENV: &str = "PLUMBLINE_COMPONENTIZE_JS";
/// StarlingMonkey's WASI features, all off: without them the component
/// imports nothing but the contract (no stdio, random, clocks or outbound
/// HTTP of its own), so the host's checked imports are its only way out.
const DISABLED: [&str; 5] = ["stdio", "random", "clocks", "http", "fetch-event"];

/// The JavaScript plugins: (source directory, component name).
pub const PLUGINS: &[(&str, &str)] = &[("examples/js-plugin", "azure-logic-apps")];

/// Where install-deps puts componentize-js, a folder per pinned version.
pub fn default_componentize_js() -> PathBuf {
    scripted::cache_dir(&format!("componentize-js-{COMPONENTIZE_JS_VERSION}")).join("node_modules/.bin/componentize-js")
}

/// Build every JavaScript plugin into `out_dir`; returns the paths.
pub fn build(root: &Path, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let name = format!("componentize-js {COMPONENTIZE_JS_VERSION}");
    let tool = Tool {
        name: &name,
        env: COMPONENTIZE_JS_ENV,
        default: default_componentize_js(),
        installed_with: "with npm (it needs nodejs and npm)",
    };
    scripted::build(root, out_dir, PLUGINS, "app.js", &tool, |exe, src, wit, raw| {
        let mut c = Command::new(exe);
        c.current_dir(src)
            .arg("app.js")
            .arg("--wit")
            .arg(wit)
            .args(["--world-name", "plugin", "--disable"])
            .args(DISABLED)
            .arg("--out")
            .arg(raw);
        c
    })
}
