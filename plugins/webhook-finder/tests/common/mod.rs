//! The local disk as a [`Files`], the way the host's `files` capability
//! sees it: links are `other` and never followed, sizes and the world-read
//! bit come from the link's own metadata.

use plumbline_plugin_sdk::files::{DirEntry, EntryKind};
use plumbline_plugin_sdk::ScanError;
use webhook_finder::walk::Files;

pub struct Disk {
    pub reads: Vec<String>,
}

impl Disk {
    pub fn new() -> Self {
        Disk { reads: Vec::new() }
    }
}

impl Files for Disk {
    fn list_dir(&mut self, path: &str) -> Result<Vec<DirEntry>, ScanError> {
        let rd = std::fs::read_dir(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ScanError::Config(format!("{path}: not found: {e}")),
            _ => ScanError::Other(format!("{path}: {e}")),
        })?;
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            out.push(DirEntry {
                name: entry.file_name().to_string_lossy().into_owned(),
                kind: if meta.is_file() {
                    EntryKind::File
                } else if meta.is_dir() {
                    EntryKind::Directory
                } else {
                    EntryKind::Other
                },
                size: meta.len(),
                world_readable: world_readable(&meta),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read(&mut self, path: &str, max_bytes: u64) -> Result<Vec<u8>, ScanError> {
        self.reads.push(path.to_string());
        let bytes = std::fs::read(path).map_err(|e| ScanError::Other(format!("{path}: {e}")))?;
        if bytes.len() as u64 > max_bytes {
            return Err(ScanError::Malformed(format!("{path}: too large")));
        }
        Ok(bytes)
    }
}

#[cfg(unix)]
fn world_readable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o004 != 0
}

#[cfg(not(unix))]
fn world_readable(_meta: &std::fs::Metadata) -> bool {
    false
}
