//! A recording on disk: a directory with a header file and one small JSON
//! file per call (`0001-http.json`, `0002-read-file.json`), in the order the
//! answers came, so an author can read one and edit it by hand. A TCP
//! connection is one file (`0003-tcp.json`) placed where it connected,
//! holding every call made on it in order.
//!
//! What holds for every recording:
//! - the header says `plumbline-tape` and a version this agent reads
//!   ([`TAPE_VERSION`], or an older one named in [`READS_VERSIONS`]);
//! - it holds no secret: credential profiles without their secrets,
//!   settings, headers, bodies and TCP bytes through [`super::scrub`]
//!   (SMTP, POP3, IMAP and FTP credentials through [`super::tcp_scrub::Scrubber`]);
//! - at most [`MAX_ENTRIES`] calls, counting each call on a TCP connection;
//! - no call the plugin's grants denied: those are refused again on replay,
//!   before the recording is asked.

use super::Entry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The header's file name.
pub const HEADER_FILE: &str = "plumbline-tape.json";
/// The format's version; a reader refuses others rather than misread them.
/// Version 2 added TCP dialogues; a reader of 1 would fail on them.
pub const TAPE_VERSION: u32 = 2;
/// Versions read: version 1 is version 2 without TCP dialogues.
const READS_VERSIONS: &[u32] = &[1, TAPE_VERSION];
/// Calls a recording may hold: a runaway plugin must not fill the disk, and
/// a replay reads them all into memory.
pub const MAX_ENTRIES: usize = 100_000;

/// What the run was: enough to replay it without the agent config it was
/// recorded with (no secret: credential profiles without their secrets).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// Always `plumbline-tape`.
    pub format: String,
    /// [`TAPE_VERSION`].
    pub version: u32,
    /// The plugin's name.
    pub plugin: String,
    /// Its version when recorded.
    pub plugin_version: String,
    /// Tenant and site of the run.
    pub tenant_id: String,
    /// Site id.
    pub site_id: String,
    /// The scan's start, ms since the epoch: a replay starts at the same time.
    pub started_at_ms: u64,
    /// The plugin's settings, as text.
    pub settings: BTreeMap<String, String>,
    /// Its grants, as written in the config.
    pub grants: GrantsText,
    /// Credential profiles it was granted: id, scope and audience only.
    #[serde(default)]
    pub credentials: BTreeMap<String, CredentialText>,
}

/// Grants as the config writes them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GrantsText {
    /// HTTPS hosts.
    #[serde(default)]
    pub http: Vec<String>,
    /// TCP targets.
    #[serde(default)]
    pub tcp: Vec<String>,
    /// Readable directories.
    #[serde(default)]
    pub files: Vec<String>,
    /// Credential profiles.
    #[serde(default)]
    pub credentials: Vec<String>,
}

/// A credential profile without its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialText {
    /// Application id.
    pub client_id: String,
    /// Scope.
    pub scope: String,
    /// Hosts its token may go to.
    pub audience: Vec<String>,
}

/// A problem with a recording directory.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TapeError(String);

impl Header {
    /// Write the header and `entries` into `dir`: a new directory, or one
    /// that holds an earlier recording (replaced whole).
    pub fn write(&self, dir: &Path, entries: &[Entry]) -> Result<(), TapeError> {
        let io = |what: &str, e: std::io::Error| TapeError(format!("{what} {}: {e}", dir.display()));
        if dir.exists() {
            let old: Vec<_> = std::fs::read_dir(dir).map_err(|e| io("reading", e))?.flatten().collect();
            if !old.is_empty() && !dir.join(HEADER_FILE).is_file() {
                return Err(TapeError(format!(
                    "{} holds files but no {HEADER_FILE}, so it is not a recording; name a new or empty directory",
                    dir.display()
                )));
            }
            for e in old.iter().filter(|e| e.path().extension().is_some_and(|x| x == "json")) {
                std::fs::remove_file(e.path()).map_err(|e| io("clearing", e))?;
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| io("creating", e))?;
        std::fs::write(dir.join(HEADER_FILE), pretty(self)).map_err(|e| io("writing into", e))?;
        for (i, entry) in entries.iter().enumerate() {
            let name = format!("{:04}-{}.json", i + 1, entry.call());
            std::fs::write(dir.join(name), pretty(entry)).map_err(|e| io("writing into", e))?;
        }
        Ok(())
    }

    /// Read a recording: its header and its entries in file-name order.
    pub fn read(dir: &Path) -> Result<(Header, Vec<Entry>), TapeError> {
        let head = dir.join(HEADER_FILE);
        let text = std::fs::read_to_string(&head).map_err(|e| {
            TapeError(format!("{}: {e}; record one first with `plumbline plugin test FILE --config CONFIG --record DIR`", head.display()))
        })?;
        let header: Header = serde_json::from_str(&text).map_err(|e| TapeError(format!("{}: {e}", head.display())))?;
        if header.format != "plumbline-tape" || !READS_VERSIONS.contains(&header.version) {
            return Err(TapeError(format!(
                "{} is format {:?} version {}; this agent reads plumbline-tape version {TAPE_VERSION}: record it again",
                head.display(),
                header.format,
                header.version
            )));
        }
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| TapeError(format!("{}: {e}", dir.display())))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json") && p.file_name().is_some_and(|n| n != HEADER_FILE))
            .collect();
        names.sort();
        if names.len() > MAX_ENTRIES {
            return Err(TapeError(format!("{} holds {} calls, over the {MAX_ENTRIES} a replay reads", dir.display(), names.len())));
        }
        let mut entries = Vec::with_capacity(names.len());
        for p in names {
            let text = std::fs::read_to_string(&p).map_err(|e| TapeError(format!("{}: {e}", p.display())))?;
            let entry = serde_json::from_str(&text).map_err(|e| {
                TapeError(format!("{}: {e}; fix the file or record again", p.display()))
            })?;
            entries.push(entry);
        }
        let calls: usize = entries.iter().map(Entry::calls).sum();
        if calls > MAX_ENTRIES {
            return Err(TapeError(format!("{} holds {calls} calls, over the {MAX_ENTRIES} a replay reads", dir.display())));
        }
        Ok((header, entries))
    }
}

fn pretty<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).map(|s| s + "\n").unwrap_or_default()
}
