//! Agent releases the collector publishes for self-update, as files under
//! `DATA_DIR/releases/`:
//!
//! ```text
//! releases/<sha256>.bin             the binary, named by its sha256
//! releases/<sha256>.manifest.json   its manifest, signed by the MSP's release key
//! ```
//!
//! The collector never holds the release key and does not judge the
//! signature: agents trust their own `[update] release_keys` and check it
//! themselves. It only files what the manifest says (platform, channel,
//! version) and refuses, at `release add`, a binary that is not the one the
//! manifest names, so it never serves a pair that can only fail.
//!
//! The routes that serve them are in [`crate::api::releases`].


use plumbline_protocol::release::{self, Manifest, Version, MAX_RELEASE_BYTES};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Most manifests looked at for `latest`: a release a week for years; a
/// folder beyond this is a mistake, and the listing stays quick.
pub const MAX_RELEASES: usize = 2000;

/// Why a release could not be added or found.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The manifest or the binary is not what it should be.
    #[error("{0}")]
    Refused(String),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> ReleaseError {
    move |source| ReleaseError::Io { what, source }
}

/// The releases folder.
#[derive(Debug, Clone)]
pub struct Releases {
    dir: PathBuf,
}

/// A release found for an agent.
#[derive(Debug, Clone)]
pub struct Found {
    /// What it says.
    pub manifest: Manifest,
    /// The signed manifest, byte for byte as added.
    pub signed: Vec<u8>,
}

impl Releases {
    /// The releases in `data_dir/releases`.
    pub fn in_data_dir(data_dir: &Path) -> Releases {
        Releases { dir: data_dir.join("releases") }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Add `binary` under the signed manifest `signed`: both are checked
    /// first, and nothing is written unless they belong together. A manifest
    /// for a binary already here replaces its old one (re-signed to extend
    /// its expiry).
    pub fn add(&self, signed: &[u8], binary: &Path) -> Result<Manifest, ReleaseError> {
        let manifest = release::read_unverified(signed).map_err(|e| ReleaseError::Refused(e.to_string()))?;
        let size = std::fs::metadata(binary).map_err(io(format!("reading {}", binary.display())))?.len();
        if size > MAX_RELEASE_BYTES {
            return Err(ReleaseError::Refused(format!(
                "{} is {size} bytes, over the {MAX_RELEASE_BYTES}-byte limit for a release; is it the agent binary?",
                binary.display()
            )));
        }
        let bytes = std::fs::read(binary).map_err(io(format!("reading {}", binary.display())))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if sha256 != manifest.sha256 || bytes.len() as u64 != manifest.size {
            return Err(ReleaseError::Refused(format!(
                "{} (sha256 {sha256}, {} bytes) is not the binary the manifest names (sha256 {}, {} bytes); publish \
                 the binary that was signed, or sign this one with `plumbline release sign`",
                binary.display(),
                bytes.len(),
                manifest.sha256,
                manifest.size
            )));
        }
        std::fs::create_dir_all(&self.dir).map_err(io(format!("creating {}", self.dir.display())))?;
        // The binary first: a manifest is never served before its binary.
        write_atomic(&self.dir.join(format!("{sha256}.bin")), &bytes)?;
        write_atomic(&self.dir.join(format!("{sha256}.manifest.json")), signed)?;
        Ok(manifest)
    }

    /// Every release here, newest first; a manifest that does not read is
    /// logged and skipped (it would be refused by every agent anyway).
    pub fn list(&self) -> Result<Vec<Found>, ReleaseError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            r => r.map_err(io(format!("listing {}", self.dir.display())))?,
        };
        let mut found = Vec::new();
        for entry in entries.flatten().take(MAX_RELEASES) {
            let path = entry.path();
            if !path.to_string_lossy().ends_with(".manifest.json") {
                continue;
            }
            let Ok(signed) = std::fs::read(&path) else { continue };
            match release::read_unverified(&signed) {
                Ok(manifest) => found.push(Found { manifest, signed }),
                Err(e) => tracing::warn!(file = %path.display(), "skipping a release manifest: {e}"),
            }
        }
        found.sort_by_key(|f| std::cmp::Reverse((Version::parse(&f.manifest.version).ok(), f.manifest.issued_at.clone())));
        Ok(found)
    }

    /// The highest version for `platform` on `channel`.
    pub fn latest(&self, platform: &str, channel: &str) -> Result<Option<Found>, ReleaseError> {
        Ok(self.list()?.into_iter().find(|f| f.manifest.platform == platform && f.manifest.channel == channel))
    }

    /// The binary with this sha256 (64 lowercase hex digits, checked by the caller).
    pub fn binary_path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.bin"))
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReleaseError> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io(format!("renaming {} to {}", tmp.display(), path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use plumbline_protocol::plugin_signature::PublisherSecret;

    fn signed(version: &str, platform: &str, binary: &[u8], key: &PublisherSecret) -> Vec<u8> {
        let manifest = Manifest {
            version: version.into(),
            platform: platform.into(),
            channel: "stable".into(),
            sha256: hex::encode(Sha256::digest(binary)),
            size: binary.len() as u64,
            issued_at: "2026-01-01T00:00:00Z".into(),
            expires_at: "2026-06-01T00:00:00Z".into(),
        };
        release::sign(&manifest, key).unwrap()
    }

    #[test]
    fn the_highest_version_per_platform_is_latest_and_a_mismatched_binary_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let releases = Releases::in_data_dir(dir.path());
        let key = PublisherSecret::generate();
        let file = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        for (v, platform, bytes) in [("0.9.0", "x86_64-linux", b"a"), ("0.10.0", "x86_64-linux", b"b"), ("1.0.0", "x86_64-windows", b"c")] {
            releases.add(&signed(v, platform, bytes, &key), &file(v, bytes)).unwrap();
        }
        assert_eq!(releases.latest("x86_64-linux", "stable").unwrap().unwrap().manifest.version, "0.10.0");
        assert!(releases.latest("x86_64-linux", "beta").unwrap().is_none());

        let e = releases.add(&signed("2.0.0", "x86_64-linux", b"x", &key), &file("other", b"y")).unwrap_err().to_string();
        assert!(e.contains("not the binary the manifest names"), "{e}");
        assert_eq!(releases.latest("x86_64-linux", "stable").unwrap().unwrap().manifest.version, "0.10.0", "nothing added");
        assert!(releases.add(b"{}", &file("z", b"z")).is_err());
    }
}
