//! Open a file or directory first, then ask the opened handle where it
//! really is. A check made on the handle cannot be raced: swapping the path
//! for a link after the check changes nothing, because the bytes come from
//! the handle that was checked. Opens never block (a FIFO swapped in for a
//! file opens at once and is then refused as not a regular file).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Open `path` for reading without blocking on FIFOs or devices and
/// without acquiring a controlling terminal.
pub fn open_for_check(path: &Path) -> io::Result<File> {
    imp::open(path)
}

/// Where the opened `file` really is: links, junctions and `..` resolved by
/// the operating system, in the form `std::fs::canonicalize` returns.
pub fn real_path(file: &File) -> io::Result<PathBuf> {
    imp::real_path(file)
}

/// The entries of the directory opened as `dir` (checked at `real`).
/// Linux lists the opened directory itself; elsewhere the checked path is
/// listed, so a directory swapped in between can show names, never bytes.
pub fn read_opened_dir(dir: &File, real: &Path) -> io::Result<std::fs::ReadDir> {
    imp::read_dir(dir, real)
}

#[cfg(unix)]
mod imp {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;

    pub fn open(path: &Path) -> io::Result<File> {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(path)
    }

    pub fn real_path(file: &File) -> io::Result<PathBuf> {
        std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
    }

    pub fn read_dir(dir: &File, _real: &Path) -> io::Result<std::fs::ReadDir> {
        std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))
    }
}

#[cfg(windows)]
mod imp {
    use super::*;
    use std::os::windows::ffi::OsStringExt;
    use std::os::windows::fs::OpenOptionsExt;
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::{
        GetFinalPathNameByHandleW, FILE_FLAG_BACKUP_SEMANTICS, FILE_NAME_NORMALIZED, VOLUME_NAME_DOS,
    };

    pub fn open(path: &Path) -> io::Result<File> {
        // Backup semantics: needed to open a directory as a handle at all.
        std::fs::OpenOptions::new().read(true).custom_flags(FILE_FLAG_BACKUP_SEMANTICS).open(path)
    }

    pub fn real_path(file: &File) -> io::Result<PathBuf> {
        let handle = file.as_raw_handle();
        let mut buf = vec![0u16; 1024];
        loop {
            // SAFETY: the handle is open for the lifetime of `file`, and the
            // buffer's length is passed with it.
            let n = unsafe {
                GetFinalPathNameByHandleW(handle, buf.as_mut_ptr(), buf.len() as u32, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS)
            } as usize;
            if n == 0 {
                return Err(io::Error::last_os_error());
            }
            if n < buf.len() {
                buf.truncate(n);
                return Ok(PathBuf::from(std::ffi::OsString::from_wide(&buf)));
            }
            buf.resize(n + 1, 0);
        }
    }

    pub fn read_dir(_dir: &File, real: &Path) -> io::Result<std::fs::ReadDir> {
        std::fs::read_dir(real)
    }
}
