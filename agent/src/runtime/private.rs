//! Files only the agent's account may touch: compiled plugins (loaded as
//! native code), the agent's private key and the delivery spool.
//!
//! On Unix that is mode 0700 for directories and 0600 for files, set when the
//! file is created so there is no moment it is readable by others. On
//! Windows the standard library cannot set ACLs: files written here are not
//! shared while being written and keys are marked read-only, and the
//! account-only ACL on the Plumbline data directories is applied by the
//! Windows service installation (issue 5).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Make a directory private (0700 on Unix).
pub fn restrict_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Make a file private (0600 on Unix).
pub fn restrict_file(file: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Create `dir` and its parents if missing, and make `dir` itself private.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict_dir(dir)
}

/// How [`write_atomic`] leaves the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Readable and writable by this account only (0600): keys, spool.
    Private,
    /// Readable by everyone, writable by this account (0644): public keys.
    Public,
}

/// The temp file [`write_atomic`] writes `path` through.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Write `bytes` to `path` so that `path` is always either the old content or
/// the complete new one, durably: write `PATH.tmp` (created with its final
/// permissions), fsync it, rename it over `path`, fsync the directory.
///
/// The temp name is fixed, so callers must not write the same `path` from two
/// processes at once (the spool holds its lock; enrollment is interactive).
/// A crash leaves at most a stale `PATH.tmp`, which the next write replaces.
pub fn write_atomic(path: &Path, bytes: &[u8], access: Access) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let _ = std::fs::remove_file(&tmp);
    let mut file = create_new(&tmp, access)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    clear_readonly(path)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    #[cfg(windows)]
    if access == Access::Private {
        let mut perms = std::fs::metadata(path)?.permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(path, perms)?;
    }
    Ok(())
}

/// Create a new file (failing if it exists) with `access` from the start.
fn create_new(path: &Path, access: Access) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(match access {
            Access::Private => 0o600,
            Access::Public => 0o644,
        });
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        // No other handle may open the file while it is being written.
        options.share_mode(0);
    }
    #[cfg(not(unix))]
    let _ = access;
    let file = options.open(path)?;
    #[cfg(unix)]
    if access == Access::Private {
        // The umask can only remove bits, but be explicit anyway.
        restrict_file(path)?;
    }
    Ok(file)
}

/// Make a rename or delete in `dir` durable: fsync the directory (Unix). On
/// Windows a directory cannot be opened for syncing; NTFS journals the
/// rename itself.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Windows: a read-only file can be neither replaced by a rename nor
/// deleted, so clear the attribute [`write_atomic`] sets on private files
/// first. Nothing to do on Unix, where the directory decides.
pub fn clear_readonly(path: &Path) -> std::io::Result<()> {
    #[cfg(windows)]
    if let Ok(meta) = std::fs::metadata(path) {
        let mut perms = meta.permissions();
        if perms.readonly() {
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(path, perms)?;
        }
    }
    #[cfg(not(windows))]
    let _ = path;
    Ok(())
}

/// Remove `path` durably; a file that is already gone is fine.
pub fn remove_durably(path: &Path) -> std::io::Result<()> {
    clear_readonly(path)?;
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(path.parent().unwrap_or(Path::new("."))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_whole_files_with_their_access() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        write_atomic(&p, b"one", Access::Private).unwrap();
        write_atomic(&p, b"two two", Access::Private).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two two");
        assert!(!temp_path(&p).exists());
        // A stale temp file from a crash does not stop the next write.
        std::fs::write(temp_path(&p), b"partial").unwrap();
        write_atomic(&p, b"three", Access::Private).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"three");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
            let q = dir.path().join("p.pub");
            write_atomic(&q, b"pub", Access::Public).unwrap();
            assert_eq!(std::fs::metadata(&q).unwrap().permissions().mode() & 0o777, 0o644);
        }
        remove_durably(&p).unwrap();
        remove_durably(&p).unwrap();
        assert!(!p.exists());
    }
}
