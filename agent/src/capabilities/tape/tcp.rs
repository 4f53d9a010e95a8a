//! TCP dialogues in a recording: one entry per connection (its target as
//! the plugin named it, what connecting came to, then every call on it in
//! order), and their replay. A replay hands each connect the next unused
//! dialogue recorded for its target and answers the calls on that
//! connection from it alone, so concurrent connections (`connect-all`) need
//! not interleave as they did. Reads are replayed as they returned, since
//! on the wire they depend on timing; writes and STARTTLS server names must
//! match what was recorded (after the same scrub), or the call is a miss.

use super::tcp_scrub::Scrubber;
use super::{scrub, Answer, Tape};
use crate::runtime::wit::latest::plumbline::plugin::tcp::{TcpError, TlsInfo};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Bytes as stored: text when UTF-8, base64 otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Data {
    /// UTF-8 text.
    Text(String),
    /// Anything else.
    Base64(String),
}

impl Data {
    fn of(bytes: Vec<u8>) -> Data {
        match String::from_utf8(bytes) {
            Ok(t) => Data::Text(scrub::text(&t)),
            Err(e) => Data::Base64(base64::engine::general_purpose::STANDARD.encode(e.as_bytes())),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Data::Text(t) => t.clone().into_bytes(),
            Data::Base64(b) => base64::engine::general_purpose::STANDARD.decode(b).unwrap_or_default(),
        }
    }

    fn shown(&self) -> String {
        let s = match self {
            Data::Text(t) => format!("{t:?}"),
            Data::Base64(b) => format!("base64:{b}"),
        };
        s.chars().take(super::SHOWN_BODY_CHARS).collect()
    }
}

/// `tls-info` as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tls {
    /// `TLSv1.3`, …
    pub protocol: String,
    /// The negotiated suite.
    pub cipher: String,
    /// The leaf's subject.
    pub subject: String,
    /// Its issuer.
    pub issuer: String,
    /// Seconds since the epoch.
    pub not_before: i64,
    /// Seconds since the epoch.
    pub not_after: i64,
    /// Signed by its own key.
    pub self_signed: bool,
    /// Would verify against the public roots.
    pub trusted: bool,
}

/// One connection the plugin opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dialogue {
    /// `host:port`, as the plugin named it (before any lookup).
    pub target: String,
    /// The address `peer-address` told, or the connect's error.
    pub connect: Answer<String>,
    /// The calls on the connection, in the order the plugin made them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
}

/// One call on a connection, with what it returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "kebab-case")]
pub enum Step {
    /// `write`: what was written, scrubbed.
    Write {
        /// The bytes.
        data: Data,
        /// Done, or the error.
        answer: Answer<()>,
    },
    /// `read`: what it returned (empty: the peer closed).
    Read {
        /// The bytes, scrubbed.
        answer: Answer<Data>,
    },
    /// `start-tls`.
    StartTls {
        /// The name the plugin checked the certificate against.
        server_name: String,
        /// The session's facts.
        answer: Answer<Tls>,
    },
    /// The plugin dropped the connection.
    Close,
}

impl Step {
    fn describe(&self) -> String {
        match self {
            Step::Write { data, .. } => format!("write {}", data.shown()),
            Step::Read { .. } => "read".into(),
            Step::StartTls { server_name, .. } => format!("start-tls as {server_name}"),
            Step::Close => "close".into(),
        }
    }
}


/// The error as stored.
fn error_answer<T>(e: &TcpError) -> Answer<T> {
    let (kind, message) = match e {
        TcpError::Denied(m) => ("denied", m.as_str()),
        TcpError::Timeout(m) => ("timeout", m.as_str()),
        TcpError::Closed => ("closed", ""),
        TcpError::Io(m) => ("io", m.as_str()),
        TcpError::Tls(m) => ("tls", m.as_str()),
        TcpError::Limit(m) => ("limit", m.as_str()),
    };
    Answer::Error { kind: kind.into(), message: scrub::text(message) }
}

/// The stored error back as the plugin got it.
fn tcp_error(kind: &str, message: String) -> TcpError {
    match kind {
        "denied" => TcpError::Denied(message),
        "timeout" => TcpError::Timeout(message),
        "closed" => TcpError::Closed,
        "tls" => TcpError::Tls(message),
        "limit" => TcpError::Limit(message),
        _ => TcpError::Io(message),
    }
}

/// Each target's recorded dialogues not yet replayed, and how many were.
#[derive(Debug, Default)]
pub struct Dialogues(BTreeMap<String, (usize, VecDeque<Dialogue>)>);

impl Dialogues {
    pub(super) fn add(&mut self, d: Dialogue) {
        self.0.entry(d.target.clone()).or_default().1.push_back(d);
    }
}

/// A recording's side of one open connection.
#[derive(Debug)]
pub struct Recorder {
    id: usize,
    scrub: Scrubber,
}

impl Recorder {
    fn step(&self, tape: &Tape, step: Step) {
        tape.keep_with(|entries| {
            if let Some(super::Entry::Tcp(d)) = entries.get_mut(self.id) {
                d.steps.push(step);
            }
        });
    }

    /// Keep a write and its outcome.
    pub fn write(&mut self, tape: &Tape, data: &[u8], answer: &Result<(), TcpError>) {
        let data = Data::of(self.scrub.write(data));
        let answer = match answer {
            Ok(()) => Answer::Ok(()),
            Err(e) => error_answer(e),
        };
        self.step(tape, Step::Write { data, answer });
    }

    /// Keep what a read returned.
    pub fn read(&mut self, tape: &Tape, answer: &Result<Vec<u8>, TcpError>) {
        let answer = match answer {
            Ok(bytes) => Answer::Ok(Data::of(self.scrub.read(bytes))),
            Err(e) => error_answer(e),
        };
        self.step(tape, Step::Read { answer });
    }

    /// Keep a TLS upgrade and the session it gave.
    pub fn start_tls(&mut self, tape: &Tape, server_name: &str, answer: &Result<TlsInfo, TcpError>) {
        let answer = match answer {
            Ok(i) => Answer::Ok(Tls {
                protocol: i.protocol.clone(),
                cipher: i.cipher.clone(),
                subject: i.subject.clone(),
                issuer: i.issuer.clone(),
                not_before: i.not_before,
                not_after: i.not_after,
                self_signed: i.self_signed,
                trusted: i.trusted,
            }),
            Err(e) => error_answer(e),
        };
        self.step(tape, Step::StartTls { server_name: server_name.to_string(), answer });
    }

    /// Keep the plugin's close.
    pub fn close(&self, tape: &Tape) {
        self.step(tape, Step::Close);
    }
}

/// A replay's side of one open connection: its recorded dialogue, how far
/// the plugin got, and what a read left over.
#[derive(Debug)]
pub struct Cursor {
    dialogue: Dialogue,
    /// Which connection to its target this is, from 1.
    nth: usize,
    next: usize,
    /// Recorded bytes past a shorter `max-bytes` than the recording's.
    pending: Vec<u8>,
    scrub: Scrubber,
    /// A call had no recorded answer: the rest of the dialogue means nothing.
    derailed: bool,
    misses: Arc<Mutex<Vec<String>>>,
}

impl Cursor {
    fn name(&self) -> String {
        format!("connection {} to {}", self.nth, self.dialogue.target)
    }

    /// The next recorded step, if `fits` it; else a miss, told once.
    fn next(&mut self, wanted: &str, fits: impl Fn(&Step) -> bool) -> Result<Step, TcpError> {
        if self.derailed {
            return Err(TcpError::Io(format!(
                "{} on {}: the replay of this connection stopped at an earlier call it has no recorded answer for",
                wanted,
                self.name()
            )));
        }
        let miss = match self.dialogue.steps.get(self.next) {
            Some(s) if fits(s) => {
                self.next += 1;
                return Ok(s.clone());
            }
            None | Some(Step::Close) => format!(
                "no recorded answer for {wanted} on {}: the recording has only {} call(s) on it",
                self.name(),
                self.next
            ),
            Some(s) => format!(
                "no recorded answer for {wanted} on {}; the recorded call {} on it is {}",
                self.name(),
                self.next + 1,
                s.describe()
            ),
        };
        self.derailed = true;
        self.misses.lock().unwrap_or_else(|p| p.into_inner()).push(miss.clone());
        Err(TcpError::Io(miss))
    }

    /// `write`: the recorded outcome, if the recording wrote the same.
    pub fn write(&mut self, data: &[u8]) -> Result<(), TcpError> {
        let data = Data::of(self.scrub.write(data));
        let wanted = format!("write {}", data.shown());
        match self.next(&wanted, |s| matches!(s, Step::Write { data: d, .. } if *d == data))? {
            Step::Write { answer: Answer::Ok(()), .. } => Ok(()),
            Step::Write { answer: Answer::Error { kind, message }, .. } => Err(tcp_error(&kind, message)),
            _ => unreachable!("next returns a fitting step"),
        }
    }

    /// `read` of up to `max` bytes: what the recorded read returned.
    pub fn read(&mut self, max: usize) -> Result<Vec<u8>, TcpError> {
        let max = max.max(1);
        if self.pending.is_empty() {
            match self.next("read", |s| matches!(s, Step::Read { .. }))? {
                Step::Read { answer: Answer::Ok(data) } => {
                    self.pending = data.bytes();
                    let _ = self.scrub.read(&self.pending);
                    if self.pending.is_empty() {
                        return Ok(Vec::new());
                    }
                }
                Step::Read { answer: Answer::Error { kind, message } } => return Err(tcp_error(&kind, message)),
                _ => unreachable!("next returns a fitting step"),
            }
        }
        let rest = self.pending.split_off(max.min(self.pending.len()));
        Ok(std::mem::replace(&mut self.pending, rest))
    }

    /// `start-tls`: the recorded session, if the recording named the same server.
    pub fn start_tls(&mut self, server_name: &str) -> Result<TlsInfo, TcpError> {
        let wanted = format!("start-tls as {server_name}");
        match self.next(&wanted, |s| matches!(s, Step::StartTls { server_name: n, .. } if n == server_name))? {
            Step::StartTls { answer: Answer::Ok(t), .. } => Ok(TlsInfo {
                protocol: t.protocol,
                cipher: t.cipher,
                subject: t.subject,
                issuer: t.issuer,
                not_before: t.not_before,
                not_after: t.not_after,
                self_signed: t.self_signed,
                trusted: t.trusted,
            }),
            Step::StartTls { answer: Answer::Error { kind, message }, .. } => Err(tcp_error(&kind, message)),
            _ => unreachable!("next returns a fitting step"),
        }
    }
}

impl Tape {
    /// Record: keep a connect to `target` (past the grant check) and what
    /// it came to; the recorder keeps the calls on the connection.
    pub fn record_tcp_connect(&self, target: &str, outcome: Result<&str, &TcpError>) -> Option<Recorder> {
        if self.replaying() {
            return None;
        }
        let connect = match outcome {
            Ok(peer) => Answer::Ok(peer.to_string()),
            Err(e) => error_answer(e),
        };
        let dialogue = Dialogue { target: target.to_string(), connect, steps: Vec::new() };
        let mut id = None;
        self.keep_with(|entries| {
            id = Some(entries.len());
            entries.push(super::Entry::Tcp(dialogue));
        });
        Some(Recorder { id: id?, scrub: Scrubber::default() })
    }

    /// Replay: the next recorded connection to `target`: the address it
    /// reached and its dialogue, or the recorded error, or a miss. Record: `None`.
    pub fn replay_tcp_connect(&self, target: &str) -> Option<Result<(String, Cursor), TcpError>> {
        let Tape::Replay { tcp, misses, .. } = self else { return None };
        let mut tcp = tcp.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((used, queue)) = tcp.0.get_mut(target) {
            if let Some(dialogue) = queue.pop_front() {
                *used += 1;
                return Some(match dialogue.connect.clone() {
                    Answer::Ok(peer) => Ok((
                        peer,
                        Cursor {
                            dialogue,
                            nth: *used,
                            next: 0,
                            pending: Vec::new(),
                            scrub: Scrubber::default(),
                            derailed: false,
                            misses: misses.clone(),
                        },
                    )),
                    Answer::Error { kind, message } => Err(tcp_error(&kind, message)),
                });
            }
        }
        let miss = match tcp.0.get(target) {
            Some((used, _)) => format!(
                "no recorded answer for connect to {target}: the recording holds {used} connection(s) to it, \
                 all replayed"
            ),
            None => match tcp.0.keys().max_by(|a, b| {
                strsim::normalized_levenshtein(a, target).total_cmp(&strsim::normalized_levenshtein(b, target))
            }) {
                Some(closest) => {
                    format!("no recorded answer for connect to {target}; the closest recorded target is {closest}")
                }
                None => format!("no recorded answer for connect to {target}; the recording holds no TCP connection"),
            },
        };
        misses.lock().unwrap_or_else(|p| p.into_inner()).push(miss.clone());
        Some(Err(TcpError::Io(miss)))
    }
}

#[cfg(test)]
#[path = "tcp_tests.rs"]
mod tests;
