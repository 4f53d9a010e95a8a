//! Record and replay of capability answers (`plumbline plugin test`): a
//! recording run keeps every HTTP exchange, TCP dialogue ([`tcp`]) and file
//! answer a plugin got, secrets scrubbed ([`scrub`]); a replay answers the
//! same calls from it, with no network and no file system. Both sit after
//! the capability's own checks, so a replay never lets a plugin do what its
//! grants deny.

pub mod scrub;
mod store;
pub mod tcp;
mod tcp_scrub;

pub use store::{CredentialText, GrantsText, Header, TapeError, HEADER_FILE, MAX_ENTRIES, TAPE_VERSION};

use crate::runtime::wit::latest::plumbline::plugin::files::{DirEntry, EntryKind, FileError};
use crate::runtime::wit::latest::plumbline::plugin::http::{HttpError, Request, Response};
use crate::runtime::wit::latest::Attribute;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// A body as stored: JSON when it parses (scrubbed member by member), text
/// when it is UTF-8, base64 otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// A JSON document.
    Json(Value),
    /// UTF-8 text.
    Text(String),
    /// Anything else.
    Base64(String),
}

impl Body {
    /// `bytes`, with its secrets scrubbed.
    pub fn scrubbed(bytes: &[u8]) -> Body {
        if let Ok(mut v) = serde_json::from_slice::<Value>(bytes) {
            scrub::json(&mut v);
            return Body::Json(v);
        }
        match std::str::from_utf8(bytes) {
            Ok(t) => Body::Text(scrub::text(t)),
            Err(_) => Body::Base64(base64::engine::general_purpose::STANDARD.encode(bytes)),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Json(v) => v.to_string().into_bytes(),
            Body::Text(t) => t.clone().into_bytes(),
            Body::Base64(b) => base64::engine::general_purpose::STANDARD.decode(b).unwrap_or_default(),
        }
    }

    fn shown(&self) -> String {
        let s = match self {
            Body::Json(v) => v.to_string(),
            Body::Text(t) => t.clone(),
            Body::Base64(b) => format!("base64:{b}"),
        };
        s.chars().take(SHOWN_BODY_CHARS).collect()
    }
}

/// Body text shown in a no-recording error: enough to tell two apart.
const SHOWN_BODY_CHARS: usize = 160;

/// An answer, or the error the capability gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer<T> {
    /// What came back.
    Ok(T),
    /// The capability's error: its kind (`transport`, `not-found`, …) and message.
    Error {
        /// The WIT error case.
        kind: String,
        /// Its message.
        message: String,
    },
}

/// One HTTP request as the plugin made it (host-added credentials are never
/// in it; the credential profile is named, not its token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// Upper case.
    pub method: String,
    /// As the plugin asked, before endpoint overrides.
    pub url: String,
    /// The plugin's headers, scrubbed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The credential profile it named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Its body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
}

/// One HTTP answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, scrubbed.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Body,
}

/// One recorded capability call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "kebab-case")]
pub enum Entry {
    /// `http.send` (or one request of `send-all`).
    Http {
        /// What was sent.
        request: HttpRequest,
        /// What came back.
        answer: Answer<HttpResponse>,
    },
    /// `files.list-dir`.
    ListDir {
        /// The path as the plugin gave it.
        path: String,
        /// Entries: name, kind (`file`, `directory`, `other`), size, world-readable.
        answer: Answer<Vec<(String, String, u64, bool)>>,
    },
    /// `files.read-file`.
    ReadFile {
        /// The path as the plugin gave it.
        path: String,
        /// The contents.
        answer: Answer<Body>,
    },
    /// `tcp.connect` (or one target of `connect-all`) and every call on
    /// the connection it opened.
    Tcp(tcp::Dialogue),
}

impl Entry {
    /// What the call was, for a file name and for messages.
    pub fn call(&self) -> &'static str {
        match self {
            Entry::Http { .. } => "http",
            Entry::ListDir { .. } => "list-dir",
            Entry::ReadFile { .. } => "read-file",
            Entry::Tcp(_) => "tcp",
        }
    }

    /// Calls it holds: a TCP dialogue's connect and each call on it count.
    pub fn calls(&self) -> usize {
        match self {
            Entry::Tcp(d) => 1 + d.steps.len(),
            _ => 1,
        }
    }

    /// The request in one line: `POST https://… {body}`, `read-file PATH`.
    fn describe(&self) -> String {
        match self {
            Entry::Http { request: r, .. } => {
                let body = r.body.as_ref().map(|b| format!(" {}", b.shown())).unwrap_or_default();
                format!("{} {}{body}", r.method, r.url)
            }
            Entry::ListDir { path, .. } => format!("list-dir {path}"),
            Entry::ReadFile { path, .. } => format!("read-file {path}"),
            Entry::Tcp(d) => format!("connect {}", d.target),
        }
    }

    /// Same call with the same arguments (answers aside).
    fn same_call(&self, other: &Entry) -> bool {
        match (self, other) {
            (Entry::Http { request: a, .. }, Entry::Http { request: b, .. }) => {
                a.method == b.method && a.url == b.url && a.body == b.body && a.credential == b.credential
            }
            (Entry::ListDir { path: a, .. }, Entry::ListDir { path: b, .. }) => a == b,
            (Entry::ReadFile { path: a, .. }, Entry::ReadFile { path: b, .. }) => a == b,
            _ => false,
        }
    }
}

/// The recorded request `req` (scrubbed as it would be stored).
pub fn http_request(req: &Request) -> HttpRequest {
    HttpRequest {
        method: req.method.to_ascii_uppercase(),
        url: scrub::text(&req.url),
        headers: req.headers.iter().map(|h| (h.name.to_ascii_lowercase(), scrub::header(&h.name, &h.value))).collect(),
        credential: req.credential.clone(),
        body: req.body.as_deref().map(Body::scrubbed),
    }
}

fn http_answer(answer: &Result<Response, HttpError>) -> Answer<HttpResponse> {
    match answer {
        Ok(r) => Answer::Ok(HttpResponse {
            status: r.status,
            headers: r.headers.iter().map(|h| (h.name.clone(), scrub::header(&h.name, &h.value))).collect(),
            body: Body::scrubbed(&r.body),
        }),
        Err(e) => {
            let (kind, m) = match e {
                HttpError::Denied(m) => ("denied", m),
                HttpError::InvalidRequest(m) => ("invalid-request", m),
                HttpError::Timeout(m) => ("timeout", m),
                HttpError::Transport(m) => ("transport", m),
                HttpError::TooLarge(m) => ("too-large", m),
                HttpError::Credential(m) => ("credential", m),
            };
            Answer::Error { kind: kind.into(), message: scrub::text(m) }
        }
    }
}

fn file_error(e: &FileError) -> Answer<()> {
    let (kind, m) = match e {
        FileError::Denied(m) => ("denied", m),
        FileError::NotFound(m) => ("not-found", m),
        FileError::TooLarge(m) => ("too-large", m),
        FileError::Io(m) => ("io", m),
    };
    Answer::Error { kind: kind.into(), message: scrub::text(m) }
}

fn map_error<T, U>(a: Answer<T>) -> Answer<U> {
    match a {
        Answer::Ok(_) => unreachable!("only errors are mapped"),
        Answer::Error { kind, message } => Answer::Error { kind, message },
    }
}

/// What a replay call answers when the tape records instead (a host bug).
const NOT_A_REPLAY: &str = "this run records; it has no recording to answer from";

/// What a recording run kept so far.
#[derive(Debug, Default)]
pub struct Recording {
    /// In the order the answers came (a TCP dialogue where it connected).
    entries: Vec<Entry>,
    /// Calls made, kept or not: past [`MAX_ENTRIES`] nothing more is kept.
    calls: usize,
}

/// Whether calls are being recorded or replayed.
pub enum Tape {
    /// Real calls, their answers kept.
    Record(Mutex<Recording>),
    /// Answers from a recording: each entry, and whether it was used.
    Replay {
        /// The recording's HTTP and file entries.
        entries: Mutex<Vec<(Entry, bool)>>,
        /// Its TCP dialogues, per target, each replayed once.
        tcp: Mutex<tcp::Dialogues>,
        /// Calls nothing was recorded for, each with the closest recorded
        /// one (shared with the open connections' cursors).
        misses: Arc<Mutex<Vec<String>>>,
    },
}

impl Tape {
    /// A recording, empty.
    pub fn record() -> Tape {
        Tape::Record(Mutex::default())
    }

    /// A replay of `entries`.
    pub fn replay(entries: Vec<Entry>) -> Tape {
        let mut dialogues = tcp::Dialogues::default();
        let mut rest = Vec::with_capacity(entries.len());
        for e in entries {
            match e {
                Entry::Tcp(d) => dialogues.add(d),
                other => rest.push((other, false)),
            }
        }
        Tape::Replay { entries: Mutex::new(rest), tcp: Mutex::new(dialogues), misses: Arc::default() }
    }

    /// What a recording kept so far, in the order the answers came.
    pub fn recorded(&self) -> Vec<Entry> {
        match self {
            Tape::Record(r) => r.lock().unwrap_or_else(|p| p.into_inner()).entries.clone(),
            Tape::Replay { .. } => Vec::new(),
        }
    }

    /// Calls a recording saw, including any past [`MAX_ENTRIES`] it did not keep.
    pub fn calls(&self) -> usize {
        match self {
            Tape::Record(r) => r.lock().unwrap_or_else(|p| p.into_inner()).calls,
            Tape::Replay { .. } => 0,
        }
    }

    /// Whether this is a replay.
    pub fn replaying(&self) -> bool {
        matches!(self, Tape::Replay { .. })
    }

    /// The calls a replay had no recording for.
    pub fn misses(&self) -> Vec<String> {
        match self {
            Tape::Replay { misses, .. } => misses.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            Tape::Record(_) => Vec::new(),
        }
    }

    fn keep(&self, entry: Entry) {
        self.keep_with(|entries| entries.push(entry));
    }

    /// Count one call, and let `add` keep it while the recording has room.
    fn keep_with(&self, add: impl FnOnce(&mut Vec<Entry>)) {
        if let Tape::Record(r) = self {
            let mut r = r.lock().unwrap_or_else(|p| p.into_inner());
            r.calls += 1;
            if r.calls <= MAX_ENTRIES {
                add(&mut r.entries);
            }
        }
    }

    /// In a replay, the recorded answer to `call` (the first not yet used;
    /// once all are, the last again), or a miss naming the closest one.
    fn answer(&self, call: &Entry) -> Option<Result<Entry, String>> {
        let Tape::Replay { entries, misses, .. } = self else { return None };
        let mut entries = entries.lock().unwrap_or_else(|p| p.into_inner());
        let same: Vec<usize> = (0..entries.len()).filter(|&i| entries[i].0.same_call(call)).collect();
        if let Some(&i) = same.iter().find(|&&i| !entries[i].1).or(same.last()) {
            entries[i].1 = true;
            return Some(Ok(entries[i].0.clone()));
        }
        let wanted = call.describe();
        let closest = entries
            .iter()
            .filter(|(e, _)| e.call() == call.call())
            .map(|(e, _)| e.describe())
            .max_by(|a, b| strsim::normalized_levenshtein(a, &wanted).total_cmp(&strsim::normalized_levenshtein(b, &wanted)));
        let miss = match closest {
            Some(c) => format!("no recorded answer for {wanted}; the closest recorded call is {c}"),
            None => format!("no recorded answer for {wanted}; the recording holds no {} call", call.call()),
        };
        misses.lock().unwrap_or_else(|p| p.into_inner()).push(miss.clone());
        Some(Err(miss))
    }

    /// Replay: the answer to `req`. Record: `None` (send it for real).
    pub fn replay_http(&self, req: &Request) -> Option<Result<Response, HttpError>> {
        let call = Entry::Http { request: http_request(req), answer: Answer::Error { kind: String::new(), message: String::new() } };
        Some(match self.answer(&call)? {
            Err(miss) => Err(HttpError::Transport(miss)),
            Ok(Entry::Http { answer: Answer::Ok(r), .. }) => Ok(Response {
                status: r.status,
                headers: r.headers.into_iter().map(|(name, value)| Attribute { name, value }).collect(),
                body: r.body.bytes(),
            }),
            Ok(Entry::Http { answer: Answer::Error { kind, message }, .. }) => Err(match kind.as_str() {
                "denied" => HttpError::Denied(message),
                "invalid-request" => HttpError::InvalidRequest(message),
                "timeout" => HttpError::Timeout(message),
                "too-large" => HttpError::TooLarge(message),
                "credential" => HttpError::Credential(message),
                _ => HttpError::Transport(message),
            }),
            Ok(_) => unreachable!("same_call matched another kind of call"),
        })
    }

    /// Record: keep `req` and its answer.
    pub fn record_http(&self, req: &Request, answer: &Result<Response, HttpError>) {
        self.keep(Entry::Http { request: http_request(req), answer: http_answer(answer) });
    }

    /// Replay: the entries of the directory `path`.
    pub fn replay_list_dir(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
        let call = Entry::ListDir { path: path.to_string(), answer: Answer::Ok(Vec::new()) };
        match self.answer(&call).unwrap_or_else(|| Err(NOT_A_REPLAY.into())) {
            Err(miss) => Err(FileError::Io(miss)),
            Ok(Entry::ListDir { answer: Answer::Ok(list), .. }) => Ok(list
                .into_iter()
                .map(|(name, kind, size, world_readable)| DirEntry {
                    name,
                    kind: match kind.as_str() {
                        "file" => EntryKind::File,
                        "directory" => EntryKind::Directory,
                        _ => EntryKind::Other,
                    },
                    size,
                    world_readable,
                })
                .collect()),
            Ok(Entry::ListDir { answer: Answer::Error { kind, message }, .. }) => Err(to_file_error(&kind, message)),
            Ok(_) => unreachable!("same_call matched another kind of call"),
        }
    }

    /// Record: keep a directory listing.
    pub fn record_list_dir(&self, path: &str, answer: &Result<Vec<DirEntry>, FileError>) {
        let answer = match answer {
            Ok(list) => Answer::Ok(
                list.iter()
                    .map(|e| {
                        let kind = match e.kind {
                            EntryKind::File => "file",
                            EntryKind::Directory => "directory",
                            EntryKind::Other => "other",
                        };
                        (scrub::text(&e.name), kind.to_string(), e.size, e.world_readable)
                    })
                    .collect(),
            ),
            Err(e) => map_error(file_error(e)),
        };
        self.keep(Entry::ListDir { path: path.to_string(), answer });
    }

    /// Replay: a file's contents.
    pub fn replay_read_file(&self, path: &str) -> Result<Vec<u8>, FileError> {
        let call = Entry::ReadFile { path: path.to_string(), answer: Answer::Ok(Body::Text(String::new())) };
        match self.answer(&call).unwrap_or_else(|| Err(NOT_A_REPLAY.into())) {
            Err(miss) => Err(FileError::Io(miss)),
            Ok(Entry::ReadFile { answer: Answer::Ok(body), .. }) => Ok(body.bytes()),
            Ok(Entry::ReadFile { answer: Answer::Error { kind, message }, .. }) => Err(to_file_error(&kind, message)),
            Ok(_) => unreachable!("same_call matched another kind of call"),
        }
    }

    /// Record: keep a file's contents.
    pub fn record_read_file(&self, path: &str, answer: &Result<Vec<u8>, FileError>) {
        let answer = match answer {
            Ok(bytes) => Answer::Ok(Body::scrubbed(bytes)),
            Err(e) => map_error(file_error(e)),
        };
        self.keep(Entry::ReadFile { path: path.to_string(), answer });
    }
}

fn to_file_error(kind: &str, message: String) -> FileError {
    match kind {
        "denied" => FileError::Denied(message),
        "not-found" => FileError::NotFound(message),
        "too-large" => FileError::TooLarge(message),
        _ => FileError::Io(message),
    }
}
