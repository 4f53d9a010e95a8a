//! Saved answers on disk, read through the offline source as a scan reads them.

use plumbline_plugin_sdk::files::decode_text;
use plumbline_plugin_sdk::{Report, ScanError};
use power_automate_flows::assess::{assess, REPORT_BUDGET_BYTES};
use power_automate_flows::offline::{Files, Offline};
use power_automate_flows::{collect, Config, Inventory, Mode};
use std::path::PathBuf;

/// `std::fs` in place of the host's files capability.
pub struct StdFiles;

impl Files for StdFiles {
    fn list(&mut self, dir: &str) -> Result<Vec<(String, bool)>, ScanError> {
        let entries = std::fs::read_dir(dir).map_err(|e| ScanError::Config(format!("{dir}: {e}")))?;
        Ok(entries
            .flatten()
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path().is_dir()))
            .collect())
    }

    fn read(&mut self, path: &str) -> Result<String, ScanError> {
        let bytes = std::fs::read(path).map_err(|e| ScanError::Config(format!("{path}: {e}")))?;
        decode_text(&bytes).map_err(|m| ScanError::Malformed(format!("{path}: {m}")))
    }
}

/// A folder relative to this crate.
pub fn crate_dir(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel).to_string_lossy().into_owned()
}

/// Read `dir` offline and assess it.
pub fn scan(dir: &str) -> (Inventory, Report) {
    let config = Config { mode: Mode::Offline { export_dir: dir.to_string() }, environments: Vec::new(), max_flows: 1000 };
    let inv = collect(&mut Offline::new(StdFiles, dir), &config).expect("the folder reads");
    let report = assess(&inv, "power-automate-flows", REPORT_BUDGET_BYTES).0;
    (inv, report)
}
