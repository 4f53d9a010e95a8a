//! Build every plugin under `plugins/` (and the hostile fixture plugins
//! under `tests/fixture-plugins/`, the examples under `tests/example-plugins/`)
//! into WebAssembly components.
//!
//! Route: rustup's `wasm32-unknown-unknown` target when it is installed;
//! otherwise Debian's Rust (`rustc-web cargo-web rust-web-src`) with
//! `-Zbuild-std`, linked by rustup's `rust-lld`. Each core module is then
//! turned into a component with `wit-component`, and signed with the
//! publisher key (see [`publisher_key`]).

pub mod js;
pub mod python;
mod scripted;
pub mod shaped;

use anyhow::{bail, Context, Result};
use plumbline_protocol::plugin_signature::{self, PublisherSecret};
use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Names the project's release publisher key (a PKCS#8 PEM file) for a
/// release build; without it the build signs with [`TEST_KEY`].
pub const SIGNING_KEY_ENV: &str = "PLUMBLINE_PLUGIN_SIGNING_KEY";
/// The committed TEST publisher key, whose private half anyone has: it
/// proves the signing path in CI and the demo, and must never be trusted by
/// a production agent.
pub const TEST_KEY: &str = "tests/data/plugin-publisher-TEST.key";
/// Debian's cargo, which comes with the standard library's source.
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
/// Where Debian's rust-web-src puts the library source `-Zbuild-std` needs.
const DEBIAN_RUST_SRC: &str = "/usr/lib/rustlib/src/rust/library";

/// A plugin crate and where its component goes.
#[derive(Debug, Clone)]
pub struct PluginCrate {
    /// Cargo package name.
    pub package: String,
    /// Output directory for the component.
    pub out_dir: PathBuf,
}

/// Every plugin crate in the workspace: first-party plugins go to
/// `target/plugins`, fixture and example plugins to `target/fixture-plugins`.
pub fn discover(root: &Path) -> Result<Vec<PluginCrate>> {
    let mut found = Vec::new();
    let dirs = [("plugins", "plugins"), ("tests/fixture-plugins", "fixture-plugins"), ("tests/example-plugins", "fixture-plugins")];
    for (dir, out) in dirs {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let manifest = path.join("Cargo.toml");
            if !manifest.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&manifest)
                .with_context(|| format!("reading {}", manifest.display()))?;
            let package = package_name(&text)
                .with_context(|| format!("no package name in {}", manifest.display()))?;
            found.push(PluginCrate {
                package,
                out_dir: root.join("target").join(out),
            });
        }
    }
    Ok(found)
}

fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(v) = line.strip_prefix("name").map(str::trim_start) {
                if let Some(v) = v.strip_prefix('=') {
                    return Some(v.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    None
}

/// Build `crates` into components; returns the component paths.
pub fn build(root: &Path, crates: &[PluginCrate]) -> Result<Vec<PathBuf>> {
    if crates.is_empty() {
        return Ok(Vec::new());
    }
    let target_dir = root.join("target").join("wasm");
    let mut cmd = cargo_for_wasm()?;
    cmd.current_dir(root)
        .args(["build", "--locked", "--profile", "wasm", "--target", WASM_TARGET])
        .arg("--target-dir")
        .arg(&target_dir);
    for c in crates {
        cmd.args(["-p", &c.package]);
    }
    let status = cmd.status().context("running cargo for the wasm build")?;
    if !status.success() {
        bail!("the wasm build of the plugins failed ({status}); see cargo's output above");
    }
    let mut outputs = Vec::new();
    for c in crates {
        let module = target_dir
            .join(WASM_TARGET)
            .join("wasm")
            .join(format!("{}.wasm", c.package.replace('-', "_")));
        let component = componentize(&module, &c.package)?;
        std::fs::create_dir_all(&c.out_dir)?;
        let out = c.out_dir.join(format!("{}.wasm", c.package));
        let tmp = out.with_extension("wasm.tmp");
        std::fs::write(&tmp, signed(root, &component)?)?;
        std::fs::rename(&tmp, &out)?;
        outputs.push(out);
    }
    Ok(outputs)
}

/// The component of the core module wit-bindgen left at `module`.
fn componentize(module: &Path, package: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(module).with_context(|| format!("reading the core module {}", module.display()))?;
    wit_component::ComponentEncoder::default()
        .module(&bytes)
        .with_context(|| format!("{package}: not a wit-bindgen module"))?
        .validate(true)
        .encode()
        .with_context(|| format!("{package}: encoding the component"))
}

/// Build a plugin crate that is not a member of this workspace (one made by
/// `plumbline plugin new`) by the same route as [`build`], into
/// `target_dir`; returns its package name and the unsigned component. Its own `[profile.wasm]`
/// matches the workspace's, so a shared `target_dir` reuses what is built.
pub fn build_outside(crate_dir: &Path, target_dir: &Path) -> Result<(String, Vec<u8>)> {
    let manifest = crate_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let package = package_name(&text).with_context(|| format!("no package name in {}", manifest.display()))?;
    let status = cargo_for_wasm()?
        .current_dir(crate_dir)
        .args(["build", "--profile", "wasm", "--target", WASM_TARGET])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .context("running cargo for the wasm build")?;
    if !status.success() {
        bail!("the wasm build of {} failed ({status}); see cargo's output above", crate_dir.display());
    }
    let module = target_dir.join(WASM_TARGET).join("wasm").join(format!("{}.wasm", package.replace('-', "_")));
    Ok((package.clone(), componentize(&module, &package)?))
}

/// The key first-party plugins are signed with: the file [`SIGNING_KEY_ENV`]
/// names, else the committed [`TEST_KEY`].
pub fn publisher_key(root: &Path) -> Result<PublisherSecret> {
    let path = match std::env::var_os(SIGNING_KEY_ENV) {
        Some(p) => PathBuf::from(p),
        None => root.join(TEST_KEY),
    };
    let pem = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the plugin signing key {} (set {SIGNING_KEY_ENV} to another one)", path.display()))?;
    PublisherSecret::from_pem(&pem).with_context(|| path.display().to_string())
}

/// `component` with the publisher signature of [`publisher_key`].
pub fn signed(root: &Path, component: &[u8]) -> Result<Vec<u8>> {
    let key = publisher_key(root)?;
    plugin_signature::sign(component, &key).context("signing the component")
}

/// A cargo command that can build for wasm32, with the environment of any
/// outer cargo (build scripts, `cargo run`) removed so the inner one starts clean.
fn cargo_for_wasm() -> Result<Command> {
    let rustup_has_target = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == WASM_TARGET))
        .unwrap_or(false);
    let mut cmd;
    if rustup_has_target {
        cmd = Command::new("cargo");
        clean_env(&mut cmd);
    } else {
        if !Path::new(DEBIAN_CARGO).is_file() || !Path::new(DEBIAN_RUST_SRC).is_dir() {
            bail!(
                "no way to build wasm32 here: rustup has no {WASM_TARGET} target and Debian's Rust is \
                 missing. Fix: `rustup target add {WASM_TARGET}`, or \
                 `apt-get install -y rustc-web cargo-web rust-web-src`"
            );
        }
        let lld = rustup_lld()?;
        cmd = Command::new(DEBIAN_CARGO);
        clean_env(&mut cmd);
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("/usr/bin:{path}"))
            .env("RUSTC", "/usr/bin/rustc")
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", lld)
            .arg("-Zbuild-std=std,panic_abort");
    }
    Ok(cmd)
}

fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().to_string();
        let outer = key.starts_with("CARGO_")
            && !key.starts_with("CARGO_HOME")
            && !key.starts_with("CARGO_REGISTRIES")
            && !key.starts_with("CARGO_NET");
        if outer
            || matches!(
                key.as_str(),
                "RUSTC" | "RUSTDOC" | "RUSTC_WRAPPER" | "RUSTC_WORKSPACE_WRAPPER" | "RUSTUP_TOOLCHAIN"
                    | "RUSTFLAGS" | "CARGO" | "TARGET" | "HOST" | "OUT_DIR" | "OPT_LEVEL" | "PROFILE"
                    | "DEBUG" | "NUM_JOBS" | "RUSTC_LINKER" | "__CARGO_FIX_PLZ"
            )
        {
            cmd.env_remove(&key);
        }
    }
}

/// rustup's `rust-lld`, which links wasm for Debian's rustc.
fn rustup_lld() -> Result<PathBuf> {
    let out = Command::new("rustc")
        .env_remove("RUSTUP_TOOLCHAIN")
        .args(["+stable", "--print", "sysroot"])
        .output()
        .context("asking rustup's rustc for its sysroot")?;
    let sysroot = String::from_utf8(out.stdout)?.trim().to_string();
    let lld = Path::new(&sysroot).join("lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld");
    if !lld.is_file() {
        bail!("rust-lld not found at {}; is rustup's stable toolchain installed?", lld.display());
    }
    Ok(lld)
}

/// `out` is missing or older than one of `inputs`.
pub(crate) fn stale(out: &Path, inputs: &[PathBuf]) -> Result<bool> {
    let modified = |p: &Path| -> Result<std::time::SystemTime> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_package_names() {
        let m = "[package]\nname = \"exchange-connectors\"\nversion = \"0.1.0\"\n[lib]\nname = \"x\"\n";
        assert_eq!(package_name(m).as_deref(), Some("exchange-connectors"));
        assert_eq!(package_name("[lib]\nname = \"x\"\n"), None);
    }
}
