//! A release swapped in is on probation until the service has finished a
//! scan on it. Its self-check passed, but a release can still crash the
//! service later: on its first policy, its first plugin load, its first
//! delivery. The service manager restarts a crashed service (the Windows
//! recovery policy three times, systemd's timer at the next step), and each
//! start on the new release is counted; the [`PROBATION_STARTS`]th start
//! that finds no finished scan puts the old binary back and says so. The
//! version stays remembered as verified, so it is not fetched again: the
//! MSP publishes a fixed, higher one.

use super::state::{self, Probation};
use super::{swap, UpdateError, VERSION};
use std::path::Path;

/// Starts of a release on probation, none of which finished a scan, after
/// which it is put back: two crashes are a loop, not bad luck, and the
/// Windows recovery policy gives three restarts in all.
pub const PROBATION_STARTS: u32 = 3;

/// What a service start found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// No release on probation.
    Clear,
    /// This release is on probation: the `n`th start without a finished scan.
    OnProbation(u32),
    /// This release crashed in a loop and the old binary is back in place:
    /// the service must restart on it.
    PutBack(Probation),
}

/// Count this start of the service in `spool_dir`, running `exe`, and put
/// the old binary back when this release has failed too often.
pub fn on_start(spool_dir: &Path, exe: &Path) -> Result<Start, UpdateError> {
    let mut s = state::load(spool_dir)?;
    let Some(mut p) = s.probation.take() else { return Ok(Start::Clear) };
    if p.version != VERSION {
        // The old binary runs (put back, or the swap was undone by hand).
        state::save(spool_dir, &s)?;
        return Ok(Start::Clear);
    }
    p.starts += 1;
    if p.starts < PROBATION_STARTS {
        s.probation = Some(p.clone());
        state::save(spool_dir, &s)?;
        return Ok(Start::OnProbation(p.starts));
    }
    swap::restore(exe)?;
    s.last_result = Some(format!(
        "release {} was put back: the service started on it {} times without finishing a scan",
        p.version, p.starts
    ));
    state::save(spool_dir, &s)?;
    Ok(Start::PutBack(p))
}

/// The service finished a scan on this release: it is no longer on probation.
pub fn passed(spool_dir: &Path) -> Result<(), UpdateError> {
    let mut s = state::load(spool_dir)?;
    if s.probation.as_ref().is_some_and(|p| p.version == VERSION) {
        s.probation = None;
        state::save(spool_dir, &s)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_probation(spool: &Path, version: &str) {
        let p = Probation { version: version.into(), from: "0.0.1".into(), starts: 0 };
        let s = state::UpdateState { highest_verified: Some(version.into()), probation: Some(p), ..Default::default() };
        state::save(spool, &s).unwrap();
    }

    #[test]
    fn a_release_that_never_finishes_a_scan_is_put_back_on_its_third_start() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, exe) = (dir.path().join("spool"), dir.path().join("plumbline"));
        std::fs::write(&exe, "new").unwrap();
        std::fs::write(swap::old_path(&exe), "old").unwrap();
        on_probation(&spool, VERSION);
        assert_eq!(on_start(&spool, &exe).unwrap(), Start::OnProbation(1));
        assert_eq!(on_start(&spool, &exe).unwrap(), Start::OnProbation(2));
        let Start::PutBack(p) = on_start(&spool, &exe).unwrap() else { panic!("put back") };
        assert_eq!((p.version.as_str(), p.from.as_str(), p.starts), (VERSION, "0.0.1", 3));
        assert_eq!(std::fs::read_to_string(&exe).unwrap(), "old", "the old binary is back");
        let s = state::load(&spool).unwrap();
        assert_eq!(s.probation, None);
        assert_eq!(s.highest_verified.as_deref(), Some(VERSION), "not fetched again");
        assert!(s.last_result.unwrap().contains("without finishing a scan"));
        assert_eq!(on_start(&spool, &exe).unwrap(), Start::Clear, "and the old one is not judged");
    }

    #[test]
    fn a_finished_scan_ends_the_probation_and_another_version_s_record_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, exe) = (dir.path().join("spool"), dir.path().join("plumbline"));
        std::fs::write(&exe, "new").unwrap();
        on_probation(&spool, VERSION);
        assert_eq!(on_start(&spool, &exe).unwrap(), Start::OnProbation(1));
        passed(&spool).unwrap();
        assert_eq!(state::load(&spool).unwrap().probation, None);
        for _ in 0..PROBATION_STARTS {
            assert_eq!(on_start(&spool, &exe).unwrap(), Start::Clear, "a release that scanned is not put back");
        }
        on_probation(&spool, "99.0.0");
        assert_eq!(on_start(&spool, &exe).unwrap(), Start::Clear, "the old binary runs: nothing to count");
        assert_eq!(state::load(&spool).unwrap().probation, None);
        assert_eq!(std::fs::read_to_string(&exe).unwrap(), "new");
    }
}
