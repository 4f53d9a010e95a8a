//! Compiled-component cache. Compiling a plugin with Cranelift takes
//! seconds; loading a cached compile takes milliseconds.
//!
//! Key: the component's sha256 plus the engine's compatibility hash (which
//! covers the wasmtime version, target and compiler settings), so a cache
//! entry is only ever loaded by an engine that produced an identical one.
//! The sha256 is of the whole file, signature included, and the loader
//! checks the file's pin and signature before it asks the cache: a cached
//! compile is only ever used for bytes that passed that check.
//! Entries are written to a temp file and renamed into place, and the
//! directory is private to the agent's account: loading a compiled artifact
//! means trusting it as native code.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::Engine;

/// A directory of compiled components.
pub struct CompileCache {
    dir: PathBuf,
    engine_hash: String,
}

impl CompileCache {
    /// Use `dir` (created if missing, private to this account).
    pub fn new(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        crate::platform::private::restrict_dir(dir)?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Ok(CompileCache {
            dir: dir.to_path_buf(),
            engine_hash: format!("{:016x}", h.finish()),
        })
    }

    fn path_for(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_hash))
    }

    /// A cached compile of the component with this sha256, if any.
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.path_for(sha256);
        // Read into memory rather than map the file: a mapped file changed
        // underneath us (another process, a damaged disk) would be SIGBUS.
        let bytes = std::fs::read(&path).ok()?;
        // SAFETY: the file was written by `store` below from
        // `Component::serialize` of an engine with the same compatibility
        // hash, into a directory only this account can write; wasmtime
        // checks its header and version before using it.
        match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(path = %path.display(), "discarding unusable compiled plugin: {e}");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Store a compile.
    pub fn store(&self, sha256: &str, component: &Component) -> anyhow::Result<()> {
        let bytes = component.serialize().map_err(anyhow::Error::from)?;
        let path = self.path_for(sha256);
        // Unique per writer: threads of one process may store the same
        // component at once; the last rename wins with identical bytes.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
        std::fs::write(&tmp, &bytes)?;
        crate::platform::private::restrict_file(&tmp)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }
}
