//! The collector's policy key: made once in the data dir
//! (`policy-key.pem`, readable by the collector's account only), like its
//! self-signed TLS pair. Agents pin its public half at enrollment, so it is
//! kept, never rotated behind their backs: replacing it means enrolling
//! every agent again.

use plumbline_protocol::policy::PolicySigner;
use std::path::{Path, PathBuf};

/// The key file's name in the data dir.
pub const KEY_FILE: &str = "policy-key.pem";

/// Why the key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the file.
    #[error("policy key {path}: {source}; check the data directory's permissions")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file holds no usable key.
    #[error(
        "policy key {path}: {message}; restore it from a backup (agents pinned it), or move it away to make a new \
         one and enroll every agent again"
    )]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The key in `dir`, made there if there is none; and whether it was made now.
pub fn ensure(dir: &Path) -> Result<(PolicySigner, bool), KeyError> {
    let path = dir.join(KEY_FILE);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| KeyError::Io { path, source }
    };
    match std::fs::read_to_string(&path) {
        Ok(pem) => {
            let signer = PolicySigner::from_pem(&pem)
                .map_err(|e| KeyError::Unusable { path: path.clone(), message: e.to_string() })?;
            return Ok((signer, false));
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path)(e)),
        Err(_) => {}
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let signer = PolicySigner::generate();
    let tmp = dir.join(format!("{KEY_FILE}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, signer.to_pem().as_bytes()).map_err(io(&tmp))?;
    // Another collector starting on the same data dir may have made one first: keep that one.
    match std::fs::hard_link(&tmp, &path) {
        Ok(()) => {
            let _ = std::fs::remove_file(&tmp);
            Ok((signer, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = std::fs::remove_file(&tmp);
            ensure(dir)
        }
        Err(e) => Err(io(&path)(e)),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_key_is_made_once_privately_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (first, made) = super::ensure(dir.path()).unwrap();
        assert!(made);
        let (again, made) = super::ensure(dir.path()).unwrap();
        assert!(!made);
        assert_eq!(first.public(), again.public());
        let mode = std::fs::metadata(dir.path().join(super::KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(dir.path().join(super::KEY_FILE), "not a key").unwrap();
        let e = super::ensure(dir.path()).err().unwrap().to_string();
        assert!(e.contains("restore it from a backup"), "{e}");
    }
}
