//! `files`: read-only access inside granted directories.
//!
//! A path is checked as written (no file system access), then opened
//! without blocking, and the opened handle's real path is checked again;
//! the bytes come from that same handle, so a link swapped in between the
//! two cannot redirect the read. All file system work runs on blocking
//! threads under a deadline, a few at a time per plugin, so that a hung
//! mount stalls neither the other plugins nor the scan's own timeout.

use super::permissions::{FileDenied, Permissions};
use super::HostState;
use crate::platform::handle;
use crate::runtime::limits;
use crate::runtime::wit::latest::plumbline::plugin::files::{DirEntry, EntryKind, FileError, Host};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl Host for HostState {
    async fn list_dir(&mut self, path: String) -> wasmtime::Result<Result<Vec<DirEntry>, FileError>> {
        if let Some(tape) = self.net.tape.as_ref().filter(|t| t.replaying()) {
            return Ok(self.checked_as_written(&path).and_then(|()| tape.replay_list_dir(&path)));
        }
        let result = self.blocking_file_op(&path, "list-dir", |perms, requested, base| {
            let (dir, real) = open_checked(perms, requested, base)?;
            list(&dir, &real)
        });
        let result = result.await;
        if let Some(tape) = &self.net.tape {
            tape.record_list_dir(&path, &result);
        }
        Ok(result)
    }

    async fn read_file(&mut self, path: String, max_bytes: u64) -> wasmtime::Result<Result<Vec<u8>, FileError>> {
        let cap = max_bytes.min(limits::MAX_FILE_READ_BYTES);
        if let Some(tape) = self.net.tape.as_ref().filter(|t| t.replaying()) {
            return Ok(self.checked_as_written(&path).and_then(|()| tape.replay_read_file(&path)));
        }
        let result = self.blocking_file_op(&path, "read-file", move |perms, requested, base| {
            let (file, real) = open_checked(perms, requested, base)?;
            read(file, &real, cap)
        });
        let result = result.await;
        if let Some(tape) = &self.net.tape {
            tape.record_read_file(&path, &result);
        }
        Ok(result)
    }
}

impl HostState {
    /// The checks of a path as written, which need no file system: all a
    /// replay can check, since the files are not there.
    fn checked_as_written(&self, requested: &str) -> Result<(), FileError> {
        self.perms.resolve_file(requested, &self.base_dir).map(drop).map_err(file_error)
    }

    /// Run `op` on a blocking thread, bounded in time and in how many of
    /// this plugin's operations may be outstanding (a hung one keeps its
    /// slot until the operating system lets go), and trace the decision.
    fn blocking_file_op<T: Send + 'static>(
        &self,
        requested: &str,
        what: &'static str,
        op: impl FnOnce(&Permissions, &str, &Path) -> Result<T, FileError> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, FileError>> + Send + 'static {
        let (perms, base, requested) = (self.perms.clone(), self.base_dir.clone(), requested.to_string());
        let (budget, plugin) = (self.log_budget.clone(), self.plugin.clone());
        let slots = self.blocking_slots.clone();
        async move {
            let outcome = match slots.try_acquire_owned() {
                Err(_) => Err(FileError::Io(format!(
                    "{what} `{requested}`: {} file operations of this plugin are still waiting on the file system (a hung mount?); not starting another",
                    limits::MAX_BLOCKING_OPS_PER_PLUGIN
                ))),
                Ok(permit) => {
                    let (r, b) = (requested.clone(), base.clone());
                    let work = tokio::task::spawn_blocking(move || {
                        let _permit = permit;
                        op(&perms, &r, &b)
                    });
                    match tokio::time::timeout(limits::FILE_OP_TIMEOUT, work).await {
                        Err(_) => Err(FileError::Io(format!(
                            "{what} `{requested}`: the file system did not answer within {} s",
                            limits::FILE_OP_TIMEOUT.as_secs()
                        ))),
                        Ok(Err(e)) => Err(FileError::Io(format!("{what} `{requested}`: {e}"))),
                        Ok(Ok(r)) => r,
                    }
                }
            };
            let allowed = !matches!(outcome, Err(FileError::Denied(_)));
            let why = match &outcome {
                Ok(_) => what.to_string(),
                Err(FileError::Denied(m)) => m.clone(),
                Err(FileError::NotFound(_)) => format!("{what}: not found"),
                Err(FileError::TooLarge(m) | FileError::Io(m)) => format!("{what}: {m}"),
            };
            super::trace_decision(&budget, &plugin, "files", &requested, allowed, &why);
            outcome
        }
    }
}

/// Open what the plugin asked for and check where the handle really is.
/// Returns the handle and its real path.
pub fn open_checked(perms: &Permissions, requested: &str, base: &Path) -> Result<(File, PathBuf), FileError> {
    open_inside(perms, requested, base).map_err(file_error)
}

fn file_error(e: FileDenied) -> FileError {
    match e {
        FileDenied::Denied(m) => FileError::Denied(m),
        FileDenied::NotFound(m) => FileError::NotFound(m),
        FileDenied::Io(m) => FileError::Io(m),
    }
}

fn open_inside(perms: &Permissions, requested: &str, base: &Path) -> Result<(File, PathBuf), FileDenied> {
    let path = perms.resolve_file(requested, base)?;
    let file = handle::open_for_check(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => FileDenied::NotFound(requested.to_string()),
        _ => FileDenied::Io(format!("{requested}: {e}")),
    })?;
    let real = handle::real_path(&file).map_err(|e| FileDenied::Io(format!("{requested}: {e}")))?;
    perms.check_opened(requested, &real)?;
    Ok((file, real))
}

fn list(dir: &File, real: &Path) -> Result<Vec<DirEntry>, FileError> {
    let shown = real.display();
    let io = |e: std::io::Error| FileError::Io(format!("{shown}: {e}"));
    if !dir.metadata().map_err(io)?.is_dir() {
        return Err(FileError::Io(format!("{shown} is not a directory")));
    }
    let mut out = Vec::new();
    for entry in handle::read_opened_dir(dir, real).map_err(io)? {
        if out.len() >= limits::MAX_DIR_ENTRIES {
            return Err(FileError::TooLarge(format!("{shown} has more than {} entries", limits::MAX_DIR_ENTRIES)));
        }
        let Ok(entry) = entry else { continue };
        // symlink_metadata: a link is reported as `other`, never followed here.
        let Ok(meta) = entry.path().symlink_metadata() else { continue };
        let kind = if meta.is_file() {
            EntryKind::File
        } else if meta.is_dir() {
            EntryKind::Directory
        } else {
            EntryKind::Other
        };
        out.push(DirEntry {
            name: entry.file_name().to_string_lossy().into_owned(),
            kind,
            size: meta.len(),
            world_readable: world_readable(&meta),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn read(file: File, real: &Path, cap: u64) -> Result<Vec<u8>, FileError> {
    use std::io::Read;
    let io = |e: std::io::Error| FileError::Io(format!("{}: {e}", real.display()));
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(FileError::Io(format!("{} is not a regular file", real.display())));
    }
    if meta.len() > cap {
        return Err(FileError::TooLarge(format!(
            "{} is {} bytes, over the {cap}-byte limit",
            real.display(),
            meta.len()
        )));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    // Read at most cap+1 bytes: a file that grew since stat is still caught.
    file.take(cap + 1).read_to_end(&mut buf).map_err(io)?;
    if buf.len() as u64 > cap {
        return Err(FileError::TooLarge(format!("{} grew over the {cap}-byte limit", real.display())));
    }
    Ok(buf)
}

#[cfg(unix)]
fn world_readable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o004 != 0
}

#[cfg(not(unix))]
fn world_readable(_meta: &std::fs::Metadata) -> bool {
    // Reading the DACL needs the Windows security API; until then report
    // "not known to be world-readable" rather than guess.
    false
}

/// A plugin's slots for blocking work: see [`limits::MAX_BLOCKING_OPS_PER_PLUGIN`].
pub fn blocking_slots() -> Arc<tokio::sync::Semaphore> {
    Arc::new(tokio::sync::Semaphore::new(limits::MAX_BLOCKING_OPS_PER_PLUGIN))
}
