//! The plugin files a policy names, served by sha256 from the data dir's
//! `plugins/` folder, whatever their file names. Each file is hashed once
//! per change (its length and modification time), not at every request.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// Largest plugin file served: the agent's own limit on a component.
pub const MAX_PLUGIN_BYTES: u64 = 64 * 1024 * 1024;

/// Most files looked at in the folder: it holds a few plugins, and a
/// folder of thousands would make every lookup slow.
pub const MAX_PLUGIN_FILES: usize = 1000;

/// Is `text` a sha256 as the policy and the URL give it (64 lowercase hex)?
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Hashes of the folder's files, by path, with the length and time they had.
#[derive(Default)]
pub struct PluginIndex {
    known: Mutex<HashMap<PathBuf, (u64, Option<SystemTime>, String)>>,
}

impl PluginIndex {
    /// The bytes of the file in `dir` whose sha256 is `sha256`, checked
    /// again as read (a file changed since it was hashed is not served).
    pub fn find(&self, dir: &Path, sha256: &str) -> std::io::Result<Option<Vec<u8>>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        for entry in entries.flatten().take(MAX_PLUGIN_FILES) {
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            if !meta.is_file() || meta.len() > MAX_PLUGIN_BYTES {
                continue;
            }
            let stamp = (meta.len(), meta.modified().ok());
            let cached = self.known.lock().expect("the index lock").get(&path).filter(|k| (k.0, k.1) == stamp).map(|k| k.2.clone());
            let hash = match cached {
                Some(h) => h,
                None => {
                    let Ok(bytes) = std::fs::read(&path) else { continue };
                    let h = hex::encode(Sha256::digest(&bytes));
                    self.known.lock().expect("the index lock").insert(path.clone(), (stamp.0, stamp.1, h.clone()));
                    if h == sha256 {
                        return Ok(Some(bytes));
                    }
                    h
                }
            };
            if hash == sha256 {
                let bytes = std::fs::read(&path)?;
                if hex::encode(Sha256::digest(&bytes)) == sha256 {
                    return Ok(Some(bytes));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_found_by_their_hash_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.wasm"), b"plugin a").unwrap();
        let index = PluginIndex::default();
        let sha = hex::encode(Sha256::digest(b"plugin a"));
        assert!(is_sha256(&sha) && !is_sha256("../x") && !is_sha256(&sha.to_uppercase()));
        assert_eq!(index.find(dir.path(), &sha).unwrap().as_deref(), Some(&b"plugin a"[..]));
        assert_eq!(index.find(dir.path(), &"0".repeat(64)).unwrap(), None);
        std::fs::write(dir.path().join("a.wasm"), b"changed!").unwrap();
        assert_eq!(index.find(dir.path(), &sha).unwrap(), None, "a changed file is not served under its old hash");
    }
}
