//! Putting a downloaded release beside the running executable, and asking
//! it whether it works: `NEW self-check` must exit 0 and print the version
//! its manifest names, or it never replaces anything.

use super::{UpdateError, SELF_CHECK_PREFIX};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest a self-check may take: it only starts and prints its version; a
/// binary that hangs for this long is broken.
pub const SELF_CHECK_TIMEOUT: Duration = Duration::from_secs(30);
/// Most of a self-check's output kept for a message.
const MAX_SHOWN_OUTPUT: usize = 300;

/// `DIR/plumbline.KIND[.exe]` beside `exe` (Windows runs only `.exe` names).
pub fn sibling(exe: &Path, kind: &str) -> PathBuf {
    let stem = exe.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "plumbline".into());
    let name = match exe.extension() {
        Some(ext) => format!("{stem}.{kind}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{kind}"),
    };
    exe.with_file_name(name)
}

/// Write `bytes` as `plumbline.new` beside `exe`, executable as `exe` is,
/// durably; its path.
pub fn stage(exe: &Path, bytes: &[u8]) -> Result<PathBuf, UpdateError> {
    use std::io::Write;
    let staged = sibling(exe, "new");
    let failed = |what: &str| {
        UpdateError::io(format!(
            "{what} {} (the new release is staged beside the executable, so this account must be able to write \
             its folder: run the agent as root or SYSTEM, as the service does)",
            staged.display()
        ))
    };
    let _ = std::fs::remove_file(&staged);
    let mut file = std::fs::File::create(&staged).map_err(failed("creating"))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(failed("writing"))?;
    drop(file);
    #[cfg(unix)]
    {
        let mode = std::fs::metadata(exe).map(|m| m.permissions()).map_err(failed("reading the mode of the executable beside"))?;
        std::fs::set_permissions(&staged, mode).map_err(failed("making executable"))?;
    }
    Ok(staged)
}

/// Run `binary self-check`: Ok when it exits 0 and says it is `version` on
/// this platform; else what it did instead.
pub async fn self_check(binary: &Path, version: &str) -> Result<(), String> {
    let mut command = tokio::process::Command::new(binary);
    command.arg("self-check").kill_on_drop(true).stdin(std::process::Stdio::null());
    let output = match tokio::time::timeout(SELF_CHECK_TIMEOUT, command.output()).await {
        Err(_) => return Err(format!("it did not finish within {} s", SELF_CHECK_TIMEOUT.as_secs())),
        Ok(Err(e)) => return Err(format!("it does not start ({e})")),
        Ok(Ok(output)) => output,
    };
    let shown = |bytes: &[u8]| -> String {
        let text: String = String::from_utf8_lossy(bytes).chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        text.trim().chars().take(MAX_SHOWN_OUTPUT).collect()
    };
    if !output.status.success() {
        return Err(format!("it exited with {} ({})", output.status, shown(&output.stderr)));
    }
    let expected = super::self_check_line(version);
    let first = String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().trim().to_string();
    if first != expected {
        let said = match first.starts_with(SELF_CHECK_PREFIX) {
            true => first.clone(),
            false => shown(first.as_bytes()),
        };
        return Err(format!("it said {said:?}, but the signed manifest promises {expected:?}"));
    }
    Ok(())
}
