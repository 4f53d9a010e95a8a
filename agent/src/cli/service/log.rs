//! Where the service logs when nobody reads its stderr: the Windows service
//! manager gives a service no console, so `service run` started by it logs
//! to `LOGS/service.log` (the platform's logs folder, private like the
//! spool), keeping one older file.

use plumbline_agent::config::default_paths;
use plumbline_agent::platform::private;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// The log's file name in the logs folder.
pub const LOG_FILE: &str = "service.log";
/// Size past which the log is set aside (as `service.log.1`, replacing the
/// one before) when the service starts: years of six-hourly scans of a
/// dozen plugins at info level, and little disk on a client's server.
pub const MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;

/// Whether this process has a stderr to log to.
pub fn has_stderr() -> bool {
    #[cfg(windows)]
    {
        use std::os::windows::io::AsRawHandle;
        let handle = std::io::stderr().as_raw_handle();
        !handle.is_null() && handle as isize != -1
    }
    #[cfg(not(windows))]
    true
}

/// `LOGS/service.log`, opened for appending (made private, set aside when
/// over [`MAX_LOG_BYTES`]).
pub fn open(dir: &Path) -> std::io::Result<(PathBuf, File)> {
    private::create_private_dir(dir)?;
    let path = dir.join(LOG_FILE);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > MAX_LOG_BYTES) {
        let old = dir.join(format!("{LOG_FILE}.1"));
        private::clear_readonly(&old)?;
        std::fs::rename(&path, &old)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(&path)?;
    private::restrict_file(&path)?;
    Ok((path, file))
}

/// Log to the service log when there is no stderr; true if it did.
pub fn init_without_console(default: &str) -> bool {
    if has_stderr() {
        return false;
    }
    match open(&default_paths().logs) {
        Ok((_, file)) => {
            plumbline_protocol::logging::init_to_file(default, file);
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_private_appended_and_set_aside_when_large() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let (path, mut f) = open(&logs).unwrap();
        std::io::Write::write_all(&mut f, &vec![b'x'; (MAX_LOG_BYTES + 1) as usize]).unwrap();
        drop(f);
        #[cfg(unix)]
        assert_eq!(private::describe(&path).unwrap(), "mode 0600");
        let (again, f) = open(&logs).unwrap();
        assert_eq!(again, path);
        assert_eq!(f.metadata().unwrap().len(), 0, "a fresh file");
        assert_eq!(std::fs::metadata(logs.join("service.log.1")).unwrap().len(), MAX_LOG_BYTES + 1);
    }
}
