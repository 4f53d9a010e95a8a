//! Files only the agent's account may touch: compiled plugins (loaded as
//! native code) and the agent's private key.
//!
//! Unix: mode 0700 for directories, 0600 for files.
//! Windows: a protected DACL (no inherited entries) that allows only
//! SYSTEM and the Administrators group, as RMM-deployed services run.

use std::path::Path;

/// Make a directory private.
pub fn restrict_dir(dir: &Path) -> std::io::Result<()> {
    imp::restrict(dir, true)
}

/// Make a file private.
pub fn restrict_file(file: &Path) -> std::io::Result<()> {
    imp::restrict(file, false)
}

/// Who may read a file written with [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only the agent's account (keys, spool, cache).
    Private,
    /// Anyone may read it (public keys).
    Public,
}

/// Create `dir` (and parents) and make it private.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict_dir(dir)
}

/// Write `bytes` to `path` so that a crash leaves either the old file or
/// the new one, never a part: `NAME.tmp` in the same directory, protected
/// before anything is written to it, fsync, rename over `path`, fsync the
/// directory.
pub fn write_atomic(path: &Path, bytes: &[u8], access: Access) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = path.with_file_name(format!("{}.tmp", name.to_string_lossy()));
    let mut f = std::fs::File::create(&tmp)?;
    match access {
        Access::Private => restrict_file(&tmp)?,
        Access::Public => {}
    }
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    clear_readonly(path)?;
    std::fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Make a rename or delete in `dir` durable (Unix: fsync the directory;
/// Windows commits directory entries with the file system's own journal).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Delete `path` (gone already is fine) and make the deletion durable.
pub fn remove_durably(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Clear a read-only flag on `path` if it exists, so it can be replaced:
/// Windows refuses to rename over a read-only file. Unix renames over any
/// file, and "not read-only" there would mean world-writable, so nothing
/// is changed.
pub fn clear_readonly(path: &Path) -> std::io::Result<()> {
    #[cfg(windows)]
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().readonly() {
            let mut p = m.permissions();
            p.set_readonly(false);
            return std::fs::set_permissions(path, p);
        }
    }
    #[cfg(not(windows))]
    let _ = path;
    Ok(())
}

/// Who may access `path`, for `plumbline doctor` and tests: `mode 0600` on
/// Unix, the DACL in SDDL form on Windows.
pub fn describe(path: &Path) -> std::io::Result<String> {
    imp::describe(path)
}

#[cfg(unix)]
mod imp {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    pub fn restrict(path: &Path, dir: bool) -> std::io::Result<()> {
        let mode = if dir { 0o700 } else { 0o600 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }

    pub fn describe(path: &Path) -> std::io::Result<String> {
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        Ok(format!("mode {mode:04o}"))
    }
}

#[cfg(windows)]
mod imp {
    use std::os::windows::ffi::OsStrExt;
    use std::path::Path;
    use windows_sys::Win32::Foundation::{LocalFree, ERROR_SUCCESS};
    use windows_sys::Win32::Security::Authorization::{
        ConvertSecurityDescriptorToStringSecurityDescriptorW,
        ConvertStringSecurityDescriptorToSecurityDescriptorW, GetNamedSecurityInfoW, SetNamedSecurityInfoW,
        SDDL_REVISION_1, SE_FILE_OBJECT,
    };
    use windows_sys::Win32::Security::{
        GetSecurityDescriptorDacl, ACL, DACL_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION,
        PSECURITY_DESCRIPTOR,
    };

    /// Full access for SYSTEM (SY) and Administrators (BA); `P`: protected,
    /// nothing inherited from the parent. Directories pass it on (OICI).
    const DIR_SDDL: &str = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";
    const FILE_SDDL: &str = "D:P(A;;FA;;;SY)(A;;FA;;;BA)";

    fn wide(s: &std::ffi::OsStr) -> Vec<u16> {
        s.encode_wide().chain(std::iter::once(0)).collect()
    }

    pub fn restrict(path: &Path, dir: bool) -> std::io::Result<()> {
        let sddl = wide(std::ffi::OsStr::new(if dir { DIR_SDDL } else { FILE_SDDL }));
        let name = wide(path.as_os_str());
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: valid NUL-terminated strings; `sd` is freed with LocalFree.
        unsafe {
            if ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.as_ptr(), SDDL_REVISION_1, &mut sd, std::ptr::null_mut()) == 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut present = 0;
            let mut defaulted = 0;
            let mut dacl: *mut ACL = std::ptr::null_mut();
            let ok = GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted);
            let rc = if ok == 0 {
                Err(std::io::Error::last_os_error())
            } else {
                let err = SetNamedSecurityInfoW(
                    name.as_ptr(),
                    SE_FILE_OBJECT,
                    DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    dacl,
                    std::ptr::null(),
                );
                if err == ERROR_SUCCESS {
                    Ok(())
                } else {
                    Err(std::io::Error::from_raw_os_error(err as i32))
                }
            };
            LocalFree(sd as _);
            rc
        }
    }

    pub fn describe(path: &Path) -> std::io::Result<String> {
        let name = wide(path.as_os_str());
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: out-pointers are valid; `sd` and the string are freed with LocalFree.
        unsafe {
            let err = GetNamedSecurityInfoW(
                name.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut sd,
            );
            if err != ERROR_SUCCESS {
                return Err(std::io::Error::from_raw_os_error(err as i32));
            }
            let mut text: *mut u16 = std::ptr::null_mut();
            let mut len = 0u32;
            let ok = ConvertSecurityDescriptorToStringSecurityDescriptorW(
                sd,
                SDDL_REVISION_1,
                DACL_SECURITY_INFORMATION,
                &mut text,
                &mut len,
            );
            let out = if ok == 0 {
                Err(std::io::Error::last_os_error())
            } else {
                let slice = std::slice::from_raw_parts(text, len as usize);
                let s = String::from_utf16_lossy(slice).trim_end_matches('\0').to_string();
                LocalFree(text as _);
                Ok(s)
            };
            LocalFree(sd as _);
            out
        }
    }
}

#[cfg(not(any(unix, windows)))]
mod imp {
    use std::path::Path;
    pub fn restrict(_path: &Path, _dir: bool) -> std::io::Result<()> {
        Ok(())
    }
    pub fn describe(_path: &Path) -> std::io::Result<String> {
        Ok("unknown".into())
    }
}
