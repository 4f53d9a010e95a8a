//! Replacing the running executable with a staged one that passed its
//! self-check, and putting the old one back.
//!
//! - Linux: the old file is kept as `plumbline.old` (a hard link), then the
//!   new one is renamed over the executable: one atomic step, so a crash
//!   leaves the old binary or the new one in place, never neither. The
//!   running process keeps its (old) image; the next start runs the new one.
//! - Windows: a running executable cannot be replaced but can be renamed,
//!   so it becomes `plumbline.old.exe` and the new one moves into its name;
//!   the service is then restarted on the new binary.
//!
//! Either way `plumbline.old` stays until the next update, so a release
//! that fails after the swap can be put back ([`restore`]).

use super::stage::sibling;
use super::UpdateError;
use std::path::{Path, PathBuf};

/// Where the replaced executable is kept.
pub fn old_path(exe: &Path) -> PathBuf {
    sibling(exe, "old")
}

/// Put `staged` in the place of `exe`, keeping the old one at [`old_path`].
pub fn swap(exe: &Path, staged: &Path) -> Result<(), UpdateError> {
    let old = old_path(exe);
    let io = |what: String| UpdateError::io(what);
    if old.exists() {
        std::fs::remove_file(&old).map_err(io(format!("removing the previous {}", old.display())))?;
    }
    #[cfg(unix)]
    {
        if std::fs::hard_link(exe, &old).is_err() {
            std::fs::copy(exe, &old).map_err(io(format!("keeping {} as {}", exe.display(), old.display())))?;
        }
        std::fs::rename(staged, exe).map_err(io(format!("renaming {} over {}", staged.display(), exe.display())))?;
    }
    #[cfg(not(unix))]
    {
        std::fs::rename(exe, &old).map_err(io(format!("renaming the running {} to {}", exe.display(), old.display())))?;
        if let Err(e) = std::fs::rename(staged, exe) {
            let _ = std::fs::rename(&old, exe);
            return Err(io(format!("moving {} to {}", staged.display(), exe.display()))(e));
        }
    }
    crate::platform::private::sync_dir(exe.parent().unwrap_or(Path::new("."))).map_err(io(format!("syncing {}", exe.display())))
}

/// Put the executable kept at [`old_path`] back in the place of `exe`,
/// whether the new one runs (a release on probation put back by itself) or
/// not (a self-check failed after the swap).
pub fn restore(exe: &Path) -> Result<(), UpdateError> {
    let old = old_path(exe);
    #[cfg(not(unix))]
    {
        // A running executable cannot be deleted, but can be renamed.
        if std::fs::remove_file(exe).is_err() {
            let failed = sibling(exe, "failed");
            let _ = std::fs::remove_file(&failed);
            let _ = std::fs::rename(exe, &failed);
        }
    }
    std::fs::rename(&old, exe).map_err(UpdateError::io(format!(
        "putting {} back as {}; copy it there by hand, the agent does not run without it",
        old.display(),
        exe.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_keeps_the_old_binary_and_a_restore_puts_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("plumbline");
        let staged = super::super::stage::sibling(&exe, "new");
        std::fs::write(&exe, "v1").unwrap();
        std::fs::write(&staged, "v2").unwrap();
        swap(&exe, &staged).unwrap();
        assert_eq!(std::fs::read_to_string(&exe).unwrap(), "v2");
        assert_eq!(std::fs::read_to_string(old_path(&exe)).unwrap(), "v1");
        assert!(!staged.exists());
        restore(&exe).unwrap();
        assert_eq!(std::fs::read_to_string(&exe).unwrap(), "v1");
        assert!(!old_path(&exe).exists());
        assert_eq!(super::super::stage::sibling(Path::new("C:/p/plumbline.exe"), "old"), Path::new("C:/p/plumbline.old.exe"));
    }
}
