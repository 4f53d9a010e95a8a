//! The last good policy, kept beside the enrollment: `policy.json` (the
//! signed envelope as the collector sent it, checked again whenever it is
//! used) and `policy-serial` (the highest serial accepted, so an older
//! policy is refused even after the collector withdrew the current one).

use crate::config::DeliverySettings;
use crate::platform::private::{self, Access};
use std::path::PathBuf;

/// Where the last good policy is kept.
pub struct PolicyCache {
    envelope: PathBuf,
    serial: PathBuf,
}

impl PolicyCache {
    /// Beside `enrollment.json`.
    pub fn of(settings: &DeliverySettings) -> PolicyCache {
        let enrollment = settings.enrollment_file();
        PolicyCache { envelope: enrollment.with_file_name("policy.json"), serial: enrollment.with_file_name("policy-serial") }
    }

    /// Where the last good envelope is kept.
    pub fn envelope_file(&self) -> &std::path::Path {
        &self.envelope
    }

    /// The last good envelope, if there is one.
    pub fn envelope(&self) -> Option<Vec<u8>> {
        std::fs::read(&self.envelope).ok()
    }

    /// The highest serial accepted (0: none yet).
    pub fn serial(&self) -> u64 {
        std::fs::read_to_string(&self.serial).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
    }

    /// Keep `envelope` as the last good one, at `serial`.
    pub fn save(&self, envelope: &[u8], serial: u64) -> Result<(), String> {
        let write = |path: &PathBuf, bytes: &[u8]| {
            private::write_atomic(path, bytes, Access::Private).map_err(|e| format!("writing {}: {e}", path.display()))
        };
        write(&self.envelope, envelope)?;
        write(&self.serial, format!("{}\n", serial.max(self.serial())).as_bytes())
    }

    /// The collector has no policy for this agent any more: forget the last
    /// one (its serial stays, so it cannot be replayed later).
    pub fn withdraw(&self) {
        let _ = std::fs::remove_file(&self.envelope);
    }
}
