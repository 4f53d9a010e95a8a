//! `files`: read-only access inside granted directories.

use super::permissions::FileDenied;
use super::{trace_decision, HostState};
use crate::runtime::limits;
use crate::runtime::wit::latest::plumbline::plugin::files::{DirEntry, EntryKind, FileError, Host};

impl Host for HostState {
    async fn list_dir(&mut self, path: String) -> wasmtime::Result<Result<Vec<DirEntry>, FileError>> {
        let dir = match self.check(&path, "list-dir") {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        Ok(tokio::task::spawn_blocking(move || list(&dir)).await?)
    }

    async fn read_file(&mut self, path: String, max_bytes: u64) -> wasmtime::Result<Result<Vec<u8>, FileError>> {
        let file = match self.check(&path, "read-file") {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        let cap = max_bytes.min(limits::MAX_FILE_READ_BYTES);
        Ok(tokio::task::spawn_blocking(move || read(&file, cap)).await?)
    }
}

impl HostState {
    fn check(&self, path: &str, op: &str) -> Result<std::path::PathBuf, FileError> {
        match self.perms.resolve_file(path, &self.base_dir) {
            Ok(p) => {
                trace_decision(&self.plugin, "files", path, true, op);
                Ok(p)
            }
            Err(FileDenied::Denied(m)) => {
                trace_decision(&self.plugin, "files", path, false, &m);
                Err(FileError::Denied(m))
            }
            Err(FileDenied::NotFound(m)) => Err(FileError::NotFound(m)),
            Err(FileDenied::Io(m)) => Err(FileError::Io(m)),
        }
    }
}

fn list(dir: &std::path::Path) -> Result<Vec<DirEntry>, FileError> {
    let rd = std::fs::read_dir(dir).map_err(|e| FileError::Io(format!("{}: {e}", dir.display())))?;
    let mut out = Vec::new();
    for entry in rd {
        if out.len() >= limits::MAX_DIR_ENTRIES {
            return Err(FileError::TooLarge(format!(
                "{} has more than {} entries",
                dir.display(),
                limits::MAX_DIR_ENTRIES
            )));
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

fn read(file: &std::path::Path, cap: u64) -> Result<Vec<u8>, FileError> {
    use std::io::Read;
    let meta = std::fs::metadata(file).map_err(|e| FileError::Io(format!("{}: {e}", file.display())))?;
    if !meta.is_file() {
        return Err(FileError::Io(format!("{} is not a regular file", file.display())));
    }
    if meta.len() > cap {
        return Err(FileError::TooLarge(format!(
            "{} is {} bytes, over the {cap}-byte limit",
            file.display(),
            meta.len()
        )));
    }
    let f = std::fs::File::open(file).map_err(|e| FileError::Io(format!("{}: {e}", file.display())))?;
    let mut buf = Vec::with_capacity(meta.len() as usize);
    // Read at most cap+1 bytes: a file that grew since stat is still caught.
    f.take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| FileError::Io(format!("{}: {e}", file.display())))?;
    if buf.len() as u64 > cap {
        return Err(FileError::TooLarge(format!("{} grew over the {cap}-byte limit", file.display())));
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
