//! The spool's advisory locks: one plumbline process at a time changes a
//! spool (`spool.lock`, held briefly), and one at a time pushes it
//! (`flush.lock`, held for a whole flush). OS file locks (`flock` on Unix,
//! `LockFileEx` on Windows), so a killed holder never leaves a stale lock:
//! the operating system releases it with the process. The holder's pid is
//! written into the file for the message another process shows.

use super::{limits, DeliveryError};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Held while it lives.
#[derive(Debug)]
pub struct SpoolLock {
    _file: File,
}

/// Held while the spool changes: an append, or one batch's step of a flush.
pub const SPOOL_LOCK_FILE: &str = "spool.lock";
/// Held for a whole flush, so one process at a time pushes and batches go
/// in order; appending does not wait for it.
pub const FLUSH_LOCK_FILE: &str = "flush.lock";

impl SpoolLock {
    /// Lock `dir/spool.lock`, waiting up to `wait` for another holder.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<Self, DeliveryError> {
        Self::acquire_file(dir, SPOOL_LOCK_FILE, wait)
    }

    /// Lock `dir/name`, waiting up to `wait` for another holder.
    pub fn acquire_file(dir: &Path, name: &str, wait: Duration) -> Result<Self, DeliveryError> {
        let path = dir.join(name);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&path)
            .map_err(DeliveryError::io(format!("opening {}", path.display())))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(limits::SPOOL_LOCK_POLL);
                }
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    return Err(DeliveryError::SpoolBusy {
                        dir: dir.to_path_buf(),
                        holder: if holder.is_empty() { String::new() } else { format!(" (pid {holder})") },
                    });
                }
                Err(TryLockError::Error(e)) => {
                    return Err(DeliveryError::io(format!("locking {}", path.display()))(e));
                }
            }
        }
        // Best effort: the pid is only for messages.
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()));
        Ok(SpoolLock { _file: file })
    }
}
