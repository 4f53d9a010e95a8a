//! `cargo xtask build-plugins`: build every plugin into a component.

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
            Ok(())
        }
        _ => bail!("usage: cargo xtask build-plugins"),
    }
}
