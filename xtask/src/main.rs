//! `cargo xtask build-plugins`: build every plugin into a component;
//! `cargo xtask build-plugin DIR`: build one plugin crate from outside the
//! workspace (`plumbline plugin new`) into `DIR/NAME.wasm`, unsigned.

use anyhow::{bail, Result};
use std::path::PathBuf;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize()?;
    match args.first().map(String::as_str) {
        Some("build-plugins") => {
            if std::env::var_os(xtask::SIGNING_KEY_ENV).is_none() {
                eprintln!(
                    "xtask: signing the plugins with the TEST publisher key ({}); a release sets {} to the project's key",
                    xtask::TEST_KEY,
                    xtask::SIGNING_KEY_ENV
                );
            }
            let crates = xtask::discover(&root)?;
            for out in xtask::build(&root, &crates)? {
                println!("{}", out.display());
            }
            for out in xtask::shaped::build(&root, &root.join("target/fixture-plugins"))? {
                println!("{}", out.display());
            }
            for out in xtask::python::build(&root, &root.join("target/python-plugins"))? {
                println!("{}", out.display());
            }
            for out in xtask::js::build(&root, &root.join("target/js-plugins"))? {
                println!("{}", out.display());
            }
            Ok(())
        }
        Some("build-plugin") => {
            let Some(dir) = args.get(1).map(PathBuf::from) else { bail!("usage: cargo xtask build-plugin CRATE_DIR") };
            let dir = dir.canonicalize().map_err(|e| anyhow::anyhow!("{}: {e}; give the plugin crate's folder", dir.display()))?;
            let (name, component) = xtask::build_outside(&dir, &dir.join("target"))?;
            let out = dir.join(format!("{name}.wasm"));
            std::fs::write(&out, component)?;
            println!("{}", out.display());
            Ok(())
        }
        _ => bail!("usage: cargo xtask build-plugins | cargo xtask build-plugin CRATE_DIR"),
    }
}
