//! HTML to PDF through the host's headless Chromium (`--print-to-pdf`):
//! the page prints exactly as a browser prints it, A4 or Letter alike.

use super::ReportError;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Longest a print may take.
pub const PRINT_TIMEOUT: Duration = Duration::from_secs(120);

/// Where Chromium is: `PLUMBLINE_CHROMIUM`, else the usual names on `PATH`.
pub fn find_chromium() -> Result<PathBuf, ReportError> {
    if let Some(p) = std::env::var_os("PLUMBLINE_CHROMIUM") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(ReportError::Pdf(format!("PLUMBLINE_CHROMIUM={} is not a file", p.display())))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(ReportError::Pdf(
        "a PDF needs Chromium, and none was found: install it (Debian/Ubuntu: `apt-get install chromium`), \
         set PLUMBLINE_CHROMIUM to its path, or write --out FILE.html instead"
            .into(),
    ))
}

/// Print `html` to the PDF file `out`.
pub fn print(html: &str, out: &Path) -> Result<(), ReportError> {
    let chromium = find_chromium()?;
    let work = tempfile::tempdir().map_err(|e| ReportError::Pdf(format!("a temp dir for printing: {e}")))?;
    let page = work.path().join("report.html");
    std::fs::write(&page, html).map_err(|e| ReportError::Pdf(format!("writing {}: {e}", page.display())))?;
    let out_abs = std::path::absolute(out).map_err(|e| ReportError::Pdf(format!("{}: {e}", out.display())))?;
    let mut child = Command::new(&chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", work.path().join("profile").display()))
        .arg(format!("--print-to-pdf={}", out_abs.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| ReportError::Pdf(format!("starting {}: {e}", chromium.display())))?;
    let deadline = std::time::Instant::now() + PRINT_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                return Err(ReportError::Pdf(format!("Chromium did not finish printing within {PRINT_TIMEOUT:?}")));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(ReportError::Pdf(format!("waiting for Chromium: {e}"))),
        }
    };
    let made = std::fs::metadata(&out_abs).map(|m| m.len() > 0).unwrap_or(false);
    if !status.success() || !made {
        return Err(ReportError::Pdf(format!(
            "Chromium ({}) did not print {} ({status}); try writing --out FILE.html and printing it from a browser",
            chromium.display(),
            out.display()
        )));
    }
    Ok(())
}
