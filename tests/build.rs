//! Build every plugin (first-party, the hostile fixtures, the Python and
//! JavaScript ones) into components before the tests compile, so `cargo test` alone is
//! enough.

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("..");
    let root = root.canonicalize().expect("workspace root");
    for dir in ["plugins", "plugin-sdk", "wit", "tests/fixture-plugins", "tests/example-plugins", "Cargo.lock", xtask::TEST_KEY] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    // The sources only: an author's node_modules beside app.js is not an input.
    for (dir, _) in xtask::python::PLUGINS {
        println!("cargo:rerun-if-changed={}", root.join(dir).join("app.py").display());
    }
    for (dir, _) in xtask::js::PLUGINS {
        println!("cargo:rerun-if-changed={}", root.join(dir).join("app.js").display());
    }
    println!("cargo:rerun-if-env-changed={}", xtask::SIGNING_KEY_ENV);
    println!("cargo:rerun-if-env-changed={}", xtask::python::COMPONENTIZE_PY_ENV);
    println!("cargo:rerun-if-env-changed={}", xtask::js::COMPONENTIZE_JS_ENV);
    let crates = xtask::discover(&root).expect("discovering plugin crates");
    if let Err(e) = xtask::build(&root, &crates) {
        panic!("building the plugin components failed: {e:#}");
    }
    if let Err(e) = xtask::shaped::build(&root, &root.join("target/fixture-plugins")) {
        panic!("building the shaped fixture components failed: {e:#}");
    }
    if let Err(e) = xtask::python::build(&root, &root.join("target/python-plugins")) {
        panic!("building the Python plugin components failed: {e:#}");
    }
    if let Err(e) = xtask::js::build(&root, &root.join("target/js-plugins")) {
        panic!("building the JavaScript plugin components failed: {e:#}");
    }
    println!("cargo:rustc-env=PLUMBLINE_PYTHON_PLUGINS_DIR={}", root.join("target/python-plugins").display());
    println!("cargo:rustc-env=PLUMBLINE_JS_PLUGINS_DIR={}", root.join("target/js-plugins").display());
    println!("cargo:rustc-env=PLUMBLINE_PLUGINS_DIR={}", root.join("target/plugins").display());
    println!("cargo:rustc-env=PLUMBLINE_FIXTURE_PLUGINS_DIR={}", root.join("target/fixture-plugins").display());
    println!("cargo:rustc-env=PLUMBLINE_ROOT={}", root.display());
    let publisher = xtask::publisher_key(&root).expect("the plugin signing key");
    println!("cargo:rustc-env=PLUMBLINE_PLUGINS_PUBLISHER={}", publisher.public());
}
