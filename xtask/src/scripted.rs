//! What the Python and JavaScript plugins share: each is one script turned
//! into a component by an outside tool (componentize-py, componentize-js)
//! against the newest frozen contract, rebuilt only when the script, the
//! contract or the tool changed, and signed like every other plugin.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The contract scripted plugins are built against.
pub(crate) const WIT_DIR: &str = "wit/since_v0.2.0";

/// An outside tool that turns a script into a component.
pub(crate) struct Tool<'a> {
    /// Its name and pinned version, for messages: `componentize-py 0.25.1`.
    pub name: &'a str,
    /// The variable that overrides where it is.
    pub env: &'a str,
    /// Where install-deps puts it.
    pub default: PathBuf,
    /// How install-deps gets it, for the fix in the message.
    pub installed_with: &'a str,
}

impl Tool<'_> {
    /// The tool's path, or what to do when it is not there.
    pub(crate) fn find(&self) -> Result<PathBuf> {
        let path = std::env::var_os(self.env).map(PathBuf::from).unwrap_or_else(|| self.default.clone());
        if !path.is_file() {
            bail!(
                "{} is not at {}. Fix: run scripts/install-deps, which installs it there {}, or set {} to one",
                self.name,
                path.display(),
                self.installed_with,
                self.env
            );
        }
        Ok(path)
    }
}

/// Builds each `(source directory, component name)` of `plugins` whose
/// component in `out_dir` is older than its `script`, the contract, the tool
/// or the signing key: `command(tool, source dir, wit dir, unsigned output)`
/// says how the tool is run. Returns every component's path.
pub(crate) fn build(
    root: &Path,
    out_dir: &Path,
    plugins: &[(&str, &str)],
    script: &str,
    tool: &Tool<'_>,
    command: impl Fn(&Path, &Path, &Path, &Path) -> Command,
) -> Result<Vec<PathBuf>> {
    let exe = tool.find()?;
    std::fs::create_dir_all(out_dir)?;
    let wit = root.join(WIT_DIR);
    let mut outputs = Vec::new();
    for (dir, name) in plugins {
        let src = root.join(dir);
        let out = out_dir.join(format!("{name}.wasm"));
        let inputs = [src.join(script), wit.join("plugin.wit"), exe.clone(), root.join(crate::TEST_KEY)];
        if !crate::stale(&out, &inputs)? {
            outputs.push(out);
            continue;
        }
        let raw = out.with_extension("unsigned.wasm");
        let output = command(&exe, &src, &wit, &raw).output().with_context(|| format!("running {}", exe.display()))?;
        if !output.status.success() || !raw.is_file() {
            bail!(
                "{} could not build {dir} ({}):\n{}{}",
                tool.name,
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

/// `~/.cache/plumbline/{folder}`, where install-deps keeps pinned tools for
/// every checkout on the machine.
pub(crate) fn cache_dir(folder: &str) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".cache/plumbline").join(folder)
}
