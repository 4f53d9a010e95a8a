//! The bounded walk over the granted directories.
//!
//! Every bound is checked before the work it limits: a directory deeper than
//! `max_depth` is not listed, a file larger than `max_file_bytes` (by its
//! directory entry) is not read, and the walk stops before the file that
//! would go over `max_files` or `max_total_bytes`, or the directory that
//! would go over `max_dirs`. Hitting a bound, or a directory or file that
//! cannot be read, is recorded as a [`Gap`]: the scan still reports what it
//! found.
//!
//! Links are never followed: the host reports symbolic links, junctions and
//! other special files as [`EntryKind::Other`], and those are skipped.

use crate::config::{Config, MAX_REFERENCES};
use crate::detect::{find_webhook_urls, Encoding, Kind};
use crate::text::{self, TextEncoding};
use plumbline_plugin_sdk::files::{self, DirEntry, EntryKind};
use plumbline_plugin_sdk::ScanError;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Read-only file access: the host's `files` capability in a scan, a fake
/// or the local disk in native tests.
pub trait Files {
    /// List a directory (the host sorts entries by name).
    fn list_dir(&mut self, path: &str) -> Result<Vec<DirEntry>, ScanError>;
    /// Read at most `max_bytes` of a file; a larger file is
    /// [`ScanError::Malformed`].
    fn read(&mut self, path: &str, max_bytes: u64) -> Result<Vec<u8>, ScanError>;
}

/// The host's `files` capability.
pub struct HostFiles;

impl Files for HostFiles {
    fn list_dir(&mut self, path: &str) -> Result<Vec<DirEntry>, ScanError> {
        files::list_dir(path)
    }

    fn read(&mut self, path: &str, max_bytes: u64) -> Result<Vec<u8>, ScanError> {
        files::read(path, max_bytes)
    }
}

/// Line numbers kept per reference; `occurrences` counts them all.
pub const MAX_LINES_KEPT: usize = 20;
/// Log notes kept (unreadable paths); the rest are counted.
pub const MAX_NOTES: usize = 20;

/// One webhook URL in one file (however often it appears there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The file, as the walk reached it (a configured path joined with
    /// entry names).
    pub path: String,
    /// Whether the host reports the file as readable by every local account.
    pub world_readable: bool,
    /// What kind of URL.
    pub kind: Kind,
    /// How its first occurrence was written.
    pub encoding: Encoding,
    /// Host name, lower case.
    pub host: String,
    /// Workflow id, for Workflows URLs.
    pub workflow_id: Option<String>,
    /// Whether it carries a `sig`.
    pub has_sig: bool,
    /// `sha256:<hex>` of the URL.
    pub fingerprint: String,
    /// The lines it is on, ascending, at most [`MAX_LINES_KEPT`].
    pub lines: Vec<u32>,
    /// How many times it appears in the file.
    pub occurrences: u32,
}

impl Reference {
    /// The first line it appears on.
    pub fn line(&self) -> u32 {
        self.lines.first().copied().unwrap_or(0)
    }
}

/// Why a search did not cover everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Gap {
    /// Directories deeper than `max_depth` were not entered.
    MaxDepth,
    /// The walk stopped at `max_dirs` directories.
    MaxDirs,
    /// The walk stopped at `max_files` files.
    MaxFiles,
    /// The walk stopped at `max_total_bytes` bytes.
    MaxTotalBytes,
    /// The walk stopped at [`MAX_REFERENCES`] references.
    MaxReferences,
    /// Some directories could not be listed.
    UnreadableDirs,
    /// Some files could not be read.
    UnreadableFiles,
}

impl Gap {
    /// Its name in the register (the setting or condition).
    pub fn as_str(self) -> &'static str {
        match self {
            Gap::MaxDepth => "max_depth",
            Gap::MaxDirs => "max_dirs",
            Gap::MaxFiles => "max_files",
            Gap::MaxTotalBytes => "max_total_bytes",
            Gap::MaxReferences => "max_references",
            Gap::UnreadableDirs => "unreadable_dirs",
            Gap::UnreadableFiles => "unreadable_files",
        }
    }

    /// What it means, for a finding's detail.
    pub fn explain(self, config: &Config) -> String {
        match self {
            Gap::MaxDepth => format!(
                "directories more than {} levels below a configured path were not entered (max_depth)",
                config.max_depth
            ),
            Gap::MaxDirs => format!(
                "the search stopped after listing {} directories (max_dirs)",
                config.max_dirs
            ),
            Gap::MaxFiles => format!(
                "the search stopped after reading {} files (max_files)",
                config.max_files
            ),
            Gap::MaxTotalBytes => format!(
                "the search stopped after reading {} bytes (max_total_bytes)",
                config.max_total_bytes
            ),
            Gap::MaxReferences => format!(
                "the search stopped after {MAX_REFERENCES} webhook references, the most one report holds"
            ),
            Gap::UnreadableDirs => "some directories could not be listed (see the agent log)".into(),
            Gap::UnreadableFiles => "some files could not be read (see the agent log)".into(),
        }
    }
}

/// What the walk saw, for the log and the search entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Directories listed (the configured paths included).
    pub dirs_listed: u64,
    /// Files read.
    pub files_read: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Files over `max_file_bytes`, not read.
    pub skipped_large: u64,
    /// Files read but not text.
    pub skipped_binary: u64,
    /// Links, junctions, devices, sockets: never followed or read.
    pub skipped_links: u64,
    /// Directories skipped by name (`exclude`).
    pub dirs_excluded: u64,
    /// Directories below `max_depth`, not entered.
    pub dirs_too_deep: u64,
    /// Directories that could not be listed.
    pub dirs_unreadable: u64,
    /// Files that could not be read.
    pub files_unreadable: u64,
    /// Text files read as UTF-16.
    pub utf16_files: u64,
    /// Text files read as 8-bit (non-UTF-8) text.
    pub eight_bit_files: u64,
}

/// The outcome of a walk.
#[derive(Debug, Clone, Default)]
pub struct Walked {
    /// The references, in walk order (configured paths in order, then
    /// depth-first by name).
    pub references: Vec<Reference>,
    /// Counts.
    pub stats: Stats,
    /// Why the search is incomplete, if it is.
    pub gaps: BTreeSet<Gap>,
    /// Warnings for the log (paths and host errors; never file contents).
    pub notes: Vec<String>,
}

/// Walk every configured path. A configured path that cannot be listed
/// (outside the grant, missing, not a directory) fails the scan with a clear
/// error; anything below it that cannot be read is a [`Gap`].
pub fn walk(fs: &mut impl Files, config: &Config) -> Result<Walked, ScanError> {
    let mut w = Walker {
        fs,
        config,
        out: Walked::default(),
        visited: HashSet::new(),
        stopped: false,
        dropped_notes: 0,
    };
    // List every configured path first: a wrong one fails before any work.
    let mut stack: Vec<(String, u64, Option<Vec<DirEntry>>)> = Vec::new();
    for root in &config.paths {
        let entries = w
            .fs
            .list_dir(root)
            .map_err(|e| e.context(format!("setting `paths` ({root})")))?;
        w.out.stats.dirs_listed += 1;
        stack.push((root.clone(), 0, Some(entries)));
    }
    stack.reverse();
    while let Some((dir, depth, listed)) = stack.pop() {
        if w.stopped {
            break;
        }
        if !w.visited.insert(normalize_separators(&dir)) {
            continue; // overlapping configured paths
        }
        let entries = match listed {
            Some(e) => e,
            None => {
                if w.out.stats.dirs_listed >= config.max_dirs {
                    w.out.gaps.insert(Gap::MaxDirs);
                    break;
                }
                w.out.stats.dirs_listed += 1;
                match w.fs.list_dir(&dir) {
                    Ok(e) => e,
                    Err(e) => {
                        w.out.stats.dirs_unreadable += 1;
                        w.out.gaps.insert(Gap::UnreadableDirs);
                        w.note(format!("could not list {dir}: {}", message(&e)));
                        continue;
                    }
                }
            }
        };
        let subdirs = w.directory(&dir, entries);
        for name in subdirs.into_iter().rev() {
            if depth >= config.max_depth {
                w.out.stats.dirs_too_deep += 1;
                w.out.gaps.insert(Gap::MaxDepth);
                continue;
            }
            stack.push((files::join(&dir, &name), depth + 1, None));
        }
    }
    if w.dropped_notes > 0 {
        let n = w.dropped_notes;
        w.out.notes.push(format!("... and {n} more unreadable paths"));
    }
    Ok(w.out)
}

struct Walker<'a, F: Files> {
    fs: &'a mut F,
    config: &'a Config,
    out: Walked,
    visited: HashSet<String>,
    stopped: bool,
    dropped_notes: usize,
}

impl<F: Files> Walker<'_, F> {
    /// Read the files of one directory; return its subdirectories to enter.
    fn directory(&mut self, dir: &str, mut entries: Vec<DirEntry>) -> Vec<String> {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let mut subdirs = Vec::new();
        for e in entries {
            if self.stopped {
                break;
            }
            match e.kind {
                EntryKind::Other => self.out.stats.skipped_links += 1,
                EntryKind::Directory if self.config.excludes(&e.name) => {
                    self.out.stats.dirs_excluded += 1
                }
                EntryKind::Directory => subdirs.push(e.name),
                EntryKind::File => self.file(dir, &e),
            }
        }
        subdirs
    }

    fn file(&mut self, dir: &str, e: &DirEntry) {
        let c = self.config;
        if e.size > c.max_file_bytes {
            self.out.stats.skipped_large += 1;
            return;
        }
        if self.out.stats.files_read >= c.max_files {
            self.out.gaps.insert(Gap::MaxFiles);
            self.stopped = true;
            return;
        }
        if self.out.stats.bytes_read.saturating_add(e.size) > c.max_total_bytes {
            self.out.gaps.insert(Gap::MaxTotalBytes);
            self.stopped = true;
            return;
        }
        let path = files::join(dir, &e.name);
        let bytes = match self.fs.read(&path, c.max_file_bytes) {
            Ok(b) => b,
            // It grew past the limit since it was listed.
            Err(ScanError::Malformed(_)) => {
                self.out.stats.skipped_large += 1;
                return;
            }
            Err(err) => {
                self.out.stats.files_unreadable += 1;
                self.out.gaps.insert(Gap::UnreadableFiles);
                self.note(format!("could not read {path}: {}", message(&err)));
                return;
            }
        };
        self.out.stats.files_read += 1;
        self.out.stats.bytes_read = self.out.stats.bytes_read.saturating_add(bytes.len() as u64);
        let text = match text::decode(&bytes) {
            Ok((t, enc)) => {
                match enc {
                    TextEncoding::Utf16 => self.out.stats.utf16_files += 1,
                    TextEncoding::EightBit => self.out.stats.eight_bit_files += 1,
                    TextEncoding::Utf8 => {}
                }
                t
            }
            Err(_) => {
                self.out.stats.skipped_binary += 1;
                return;
            }
        };
        drop(bytes);
        self.references(path, e.world_readable, &text);
    }

    /// Group the URLs found in one file by fingerprint.
    fn references(&mut self, path: String, world_readable: bool, text: &str) {
        let mut index: HashMap<String, usize> = HashMap::new();
        for f in find_webhook_urls(text) {
            if let Some(&i) = index.get(&f.fingerprint) {
                let r = &mut self.out.references[i];
                r.occurrences = r.occurrences.saturating_add(1);
                if r.lines.len() < MAX_LINES_KEPT && r.lines.last() != Some(&f.line) {
                    r.lines.push(f.line);
                }
                continue;
            }
            if self.out.references.len() >= MAX_REFERENCES {
                self.out.gaps.insert(Gap::MaxReferences);
                self.stopped = true;
                break;
            }
            index.insert(f.fingerprint.clone(), self.out.references.len());
            self.out.references.push(Reference {
                path: path.clone(),
                world_readable,
                kind: f.kind,
                encoding: f.encoding,
                host: f.host,
                workflow_id: f.workflow_id,
                has_sig: f.has_sig,
                fingerprint: f.fingerprint,
                lines: vec![f.line],
                occurrences: 1,
            });
        }
    }

    fn note(&mut self, message: String) {
        if self.out.notes.len() < MAX_NOTES {
            self.out.notes.push(message);
        } else {
            self.dropped_notes += 1;
        }
    }
}

/// A path without the accidents of how it was written: `\` as `/`,
/// repeated and trailing separators dropped.
pub fn normalize_separators(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        let c = if c == '\\' { '/' } else { c };
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// A path as hashed into register keys: [`normalize_separators`], in lower
/// case, so that `C:\Scripts` and `c:/scripts/` give the same key (Windows
/// paths are case-insensitive). Two files that differ only in case on a
/// case-sensitive disk then share a key part; the report makes such keys
/// unique.
pub fn normalize_path(path: &str) -> String {
    normalize_separators(path).to_lowercase()
}

/// The message of a host error, without its kind's name.
pub fn message(e: &ScanError) -> String {
    match e {
        ScanError::Config(m)
        | ScanError::Denied(m)
        | ScanError::Malformed(m)
        | ScanError::Upstream(m)
        | ScanError::Other(m) => m.clone(),
    }
}

#[cfg(test)]
mod tests;
