//! Never two scans at once: `plumbline run` and each scan of the service
//! hold an OS file lock on `SPOOL_DIR/scan.lock` from the scan's start to
//! the end of its delivery. The spool has its own lock for each write and
//! push; this one spans the whole scan, so a systemd timer firing while an
//! operator's `plumbline run` is still scanning skips instead of running a
//! second scan against the same tenant. The OS releases it with a killed
//! holder, so it is never stale.

use super::ServiceError;
use crate::platform::private;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The lock's file name in the spool directory.
pub const SCAN_LOCK_FILE: &str = "scan.lock";

/// Held while it lives.
#[derive(Debug)]
pub struct ScanLock {
    _file: File,
}

impl ScanLock {
    /// Take the lock at once, or say who holds it ([`ServiceError::Busy`]).
    pub fn try_acquire(spool_dir: &Path) -> Result<ScanLock, ServiceError> {
        private::create_private_dir(spool_dir)
            .map_err(ServiceError::io(format!("creating spool {}", spool_dir.display())))?;
        let path = spool_dir.join(SCAN_LOCK_FILE);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(ServiceError::io(format!("opening {}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(ServiceError::Busy {
                    dir: spool_dir.to_path_buf(),
                    holder: if holder.is_empty() { String::new() } else { format!(" (pid {holder})") },
                });
            }
            Err(TryLockError::Error(e)) => return Err(ServiceError::io(format!("locking {}", path.display()))(e)),
        }
        // Best effort: the pid is only for the message another process shows.
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()));
        Ok(ScanLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_scan_is_refused_naming_the_holder_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        let held = ScanLock::try_acquire(&spool).unwrap();
        let e = ScanLock::try_acquire(&spool).unwrap_err().to_string();
        assert!(e.contains("already running") && e.contains(&format!("pid {}", std::process::id())), "{e}");
        drop(held);
        assert!(ScanLock::try_acquire(&spool).is_ok());
        #[cfg(unix)]
        assert_eq!(private::describe(&spool.join(SCAN_LOCK_FILE)).unwrap(), "mode 0600");
    }
}
