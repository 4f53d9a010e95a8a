//! The agent's key files: the Ed25519 private key (PKCS#8 PEM, readable only
//! by the agent's account) and the public key beside it (SPKI PEM, for the
//! MSP and for auditors running `plumbline verify`).
//!
//! A new key is first written, durably, as `KEY.new`; it replaces the
//! current key only once the collector has enrolled it, so a failed
//! `enroll --force` leaves the working key in place.

use super::DeliveryError;
use crate::platform::private::{self, Access};
use plumbline_protocol::identity::{public_key_pem, AgentKey};
use std::path::{Path, PathBuf};

/// Read the private key at `path`.
pub fn load(path: &Path) -> Result<AgentKey, DeliveryError> {
    let pem = match std::fs::read_to_string(path) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DeliveryError::NotEnrolled { missing: path.to_path_buf(), config: None })
        }
        Err(e) => return Err(DeliveryError::io(format!("reading agent key {}", path.display()))(e)),
    };
    warn_if_readable_by_others(path);
    AgentKey::from_pem(&pem).map_err(|e| DeliveryError::Key {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The id of the key at `path`, if there is a readable one.
pub fn existing_agent_id(path: &Path) -> Option<String> {
    let pem = std::fs::read_to_string(path).ok()?;
    AgentKey::from_pem(&pem).ok().map(|k| k.agent_id())
}

/// Where a new key waits for the collector's acceptance.
pub fn staged_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    key_file.with_file_name(name)
}

/// Write `key` durably and privately to `KEY.new` (creating the key
/// directory, private to this account, if needed).
pub fn stage(key_file: &Path, key: &AgentKey) -> Result<PathBuf, DeliveryError> {
    let dir = key_file.parent().unwrap_or(Path::new("."));
    private::create_private_dir(dir).map_err(DeliveryError::io(format!("creating key directory {}", dir.display())))?;
    let staged = staged_path(key_file);
    private::write_atomic(&staged, key.to_pem().as_bytes(), Access::Private)
        .map_err(DeliveryError::io(format!("writing agent key {}", staged.display())))?;
    Ok(staged)
}

/// Put the staged key in place (rename, fsync the directory) and write the
/// public key beside it.
pub fn commit(key_file: &Path, key: &AgentKey, public_file: &Path) -> Result<(), DeliveryError> {
    let staged = staged_path(key_file);
    private::clear_readonly(key_file).map_err(DeliveryError::io(format!("replacing {}", key_file.display())))?;
    std::fs::rename(&staged, key_file)
        .map_err(DeliveryError::io(format!("moving {} to {}", staged.display(), key_file.display())))?;
    private::sync_dir(key_file.parent().unwrap_or(Path::new(".")))
        .map_err(DeliveryError::io(format!("syncing {}", key_file.display())))?;
    private::write_atomic(public_file, public_key_pem(&key.verifying()).as_bytes(), Access::Public)
        .map_err(DeliveryError::io(format!("writing public key {}", public_file.display())))
}

/// The key staged by an earlier attempt, if there is a readable one.
pub fn staged(key_file: &Path) -> Option<AgentKey> {
    let pem = std::fs::read_to_string(staged_path(key_file)).ok()?;
    AgentKey::from_pem(&pem).ok()
}

/// Throw away a staged key the collector did not accept.
pub fn discard_staged(key_file: &Path) {
    let _ = private::remove_durably(&staged_path(key_file));
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                "agent key {} has mode {mode:o}: other accounts can read it and sign as this agent; run `chmod 600` on it",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// This machine's name, for the collector's `agent list`.
pub fn hostname() -> String {
    #[cfg(unix)]
    {
        unsafe extern "C" {
            fn gethostname(name: *mut std::ffi::c_char, len: usize) -> std::ffi::c_int;
        }
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for `len` bytes; gethostname writes at
        // most that many and we stop at the first NUL (or the end).
        let rc = unsafe { gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
            if !name.is_empty() {
                return name;
            }
        }
    }
    #[cfg(windows)]
    if let Ok(name) = std::env::var("COMPUTERNAME") {
        if !name.trim().is_empty() {
            return name.trim().to_string();
        }
    }
    "unknown".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_keys_become_private_keys_with_a_public_key_beside() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("keys/agent.key");
        let public = dir.path().join("keys/agent.pub");
        assert!(matches!(load(&key_file), Err(DeliveryError::NotEnrolled { .. })));

        let key = AgentKey::generate();
        let staged = stage(&key_file, &key).unwrap();
        assert!(!key_file.exists(), "not in place before the collector accepted it");
        commit(&key_file, &key, &public).unwrap();
        assert!(!staged.exists());
        assert_eq!(load(&key_file).unwrap().agent_id(), key.agent_id());
        assert_eq!(existing_agent_id(&key_file), Some(key.agent_id()));
        let pub_key = plumbline_protocol::identity::parse_public_key(&std::fs::read_to_string(&public).unwrap()).unwrap();
        assert_eq!(pub_key, key.verifying());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&key_file), 0o600);
            assert_eq!(mode(key_file.parent().unwrap()), 0o700);
        }

        let other = AgentKey::generate();
        stage(&key_file, &other).unwrap();
        discard_staged(&key_file);
        assert_eq!(load(&key_file).unwrap().agent_id(), key.agent_id(), "a discarded key changes nothing");

        std::fs::write(&key_file, "not a key").unwrap();
        assert!(matches!(load(&key_file), Err(DeliveryError::Key { .. })));
    }

    #[test]
    fn the_hostname_is_not_empty() {
        assert!(!hostname().is_empty());
    }
}
