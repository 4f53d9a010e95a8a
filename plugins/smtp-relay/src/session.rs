//! One SMTP conversation, bounded in time and size.
//!
//! Two clocks bound it: each reply must arrive whole within the reply
//! timeout (however the server spreads its bytes), and nothing may go past
//! the endpoint's deadline. Every host call is given the smaller of what is
//! left of the two, so a hostile server cannot hold the scan longer than
//! the deadline.

use crate::net::{describe, Clock, Transport};
use crate::reply::{Reply, ReplyError, ReplyReader};
use plumbline_plugin_sdk::tcp::{TcpError, TlsInfo};
use std::fmt;

/// Most bytes asked for in one read.
pub const READ_CHUNK_BYTES: usize = 4096;
/// How long QUIT may take: it is only a courtesy.
pub const QUIT_TIMEOUT_MS: u64 = 2_000;

/// Why a conversation could not go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What the client was doing, e.g. `reply to EHLO`.
    pub during: String,
    /// What went wrong.
    pub kind: FailureKind,
}

/// The kinds of [`Failure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The endpoint's time budget ran out.
    Deadline {
        /// The budget.
        budget_ms: u64,
    },
    /// A reply did not arrive whole in time.
    Slow {
        /// The reply timeout.
        timeout_ms: u64,
        /// Bytes of it that did arrive.
        received: usize,
    },
    /// The server closed the connection.
    Closed {
        /// Bytes of the unfinished reply received before.
        received: usize,
    },
    /// What was received broke a limit or is not SMTP.
    Reply(ReplyError),
    /// The network or TLS failed.
    Net(String),
    /// The server refused to talk (a 554 greeting, EHLO and HELO refused).
    Refused(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let during = &self.during;
        match &self.kind {
            FailureKind::Deadline { budget_ms } => {
                write!(f, "{during}: the endpoint's time budget of {budget_ms} ms ran out")
            }
            FailureKind::Slow { timeout_ms, received: 0 } => {
                write!(f, "{during}: no reply within {timeout_ms} ms")
            }
            FailureKind::Slow { timeout_ms, received } => write!(
                f,
                "{during}: the reply was not complete within {timeout_ms} ms ({received} bytes received; \
                 a server dripping bytes?)"
            ),
            FailureKind::Closed { received: 0 } => {
                write!(f, "{during}: the server closed the connection")
            }
            FailureKind::Closed { received } => write!(
                f,
                "{during}: the server closed the connection in the middle of a reply ({received} bytes received)"
            ),
            FailureKind::Reply(e) => write!(f, "{during}: {e}"),
            FailureKind::Net(m) | FailureKind::Refused(m) => write!(f, "{during}: {m}"),
        }
    }
}

/// A conversation over one connection.
pub struct Session<'c, T: Transport> {
    conn: T,
    clock: &'c dyn Clock,
    started_ms: u64,
    deadline_ms: u64,
    reply_timeout_ms: u64,
    reader: ReplyReader,
}

impl<'c, T: Transport> Session<'c, T> {
    /// Talk over `conn` until `deadline_ms` (clock time), giving each reply
    /// `reply_timeout_ms`. `started_ms` is when the endpoint's budget began
    /// (for messages).
    pub fn new(conn: T, clock: &'c dyn Clock, started_ms: u64, deadline_ms: u64, reply_timeout_ms: u64) -> Self {
        Session {
            conn,
            clock,
            started_ms,
            deadline_ms,
            reply_timeout_ms,
            reader: ReplyReader::new(),
        }
    }

    fn fail(&self, during: &str, kind: FailureKind) -> Failure {
        Failure { during: during.to_string(), kind }
    }

    fn deadline(&self, during: &str) -> Failure {
        self.fail(during, FailureKind::Deadline { budget_ms: self.deadline_ms.saturating_sub(self.started_ms) })
    }

    /// Milliseconds a host call may take: the smaller of `limit_ms` and
    /// what is left before the deadline; the deadline failure when nothing
    /// is left.
    fn wait(&self, limit_ms: u64, during: &str) -> Result<u32, Failure> {
        let left = self.deadline_ms.saturating_sub(self.clock.now_ms());
        if left == 0 {
            return Err(self.deadline(during));
        }
        Ok(u32::try_from(left.min(limit_ms)).unwrap_or(u32::MAX).max(1))
    }

    /// Read one whole reply.
    pub fn read_reply(&mut self, during: &str) -> Result<Reply, Failure> {
        let reply_deadline = self.clock.now_ms().saturating_add(self.reply_timeout_ms);
        loop {
            match self.reader.next_reply() {
                Ok(Some(r)) => return Ok(r),
                Ok(None) => {}
                Err(e) => return Err(self.fail(during, FailureKind::Reply(e))),
            }
            let now = self.clock.now_ms();
            let slow = || FailureKind::Slow {
                timeout_ms: self.reply_timeout_ms,
                received: self.reader.pending_bytes(),
            };
            if now >= self.deadline_ms {
                return Err(self.deadline(during));
            }
            if now >= reply_deadline {
                return Err(self.fail(during, slow()));
            }
            let wait = reply_deadline.min(self.deadline_ms) - now;
            let max = self.reader.room().min(READ_CHUNK_BYTES) as u32;
            match self.conn.read(max, u32::try_from(wait).unwrap_or(u32::MAX).max(1)) {
                Ok(bytes) if bytes.is_empty() => {
                    return Err(self.fail(during, FailureKind::Closed { received: self.reader.pending_bytes() }))
                }
                Ok(bytes) => self.reader.push(&bytes),
                Err(TcpError::Timeout(_)) => {
                    return Err(if reply_deadline < self.deadline_ms {
                        self.fail(during, slow())
                    } else {
                        self.deadline(during)
                    })
                }
                Err(TcpError::Closed) => {
                    return Err(self.fail(during, FailureKind::Closed { received: self.reader.pending_bytes() }))
                }
                Err(e) => return Err(self.fail(during, FailureKind::Net(describe(&e)))),
            }
        }
    }

    /// Send one command line (CRLF added).
    pub fn send(&mut self, line: &str, during: &str) -> Result<(), Failure> {
        debug_assert!(!line.contains(['\r', '\n']), "commands are built from checked values");
        let wait = self.wait(self.reply_timeout_ms, during)?;
        let mut data = Vec::with_capacity(line.len() + 2);
        data.extend_from_slice(line.as_bytes());
        data.extend_from_slice(b"\r\n");
        self.conn.write(&data, wait).map_err(|e| match e {
            TcpError::Timeout(_) => self.fail(during, FailureKind::Net("the server did not take the command in time".into())),
            TcpError::Closed => self.fail(during, FailureKind::Closed { received: 0 }),
            e => self.fail(during, FailureKind::Net(describe(&e))),
        })
    }

    /// Send a command and read its reply; `verb` names it in messages.
    pub fn command(&mut self, line: &str, verb: &str) -> Result<Reply, Failure> {
        self.send(line, &format!("sending {verb}"))?;
        self.read_reply(&format!("reply to {verb}"))
    }

    /// Upgrade to TLS. Bytes the server sent after its go-ahead and before
    /// the handshake are dropped first (a plaintext injection must not be
    /// read as coming through TLS); their count is returned.
    pub fn start_tls(&mut self, server_name: &str) -> Result<(TlsInfo, usize), Failure> {
        let during = "TLS handshake";
        let injected = self.reader.discard();
        let wait = self.wait(self.reply_timeout_ms, during)?;
        match self.conn.start_tls(server_name, wait) {
            Ok(info) => Ok((info, injected)),
            Err(TcpError::Timeout(_)) => Err(self.fail(
                during,
                FailureKind::Net(format!("the handshake did not finish within {wait} ms")),
            )),
            Err(e) => Err(self.fail(during, FailureKind::Net(describe(&e)))),
        }
    }

    /// QUIT, politely and briefly; errors are ignored (the connection is
    /// dropped either way).
    pub fn quit(mut self) {
        self.reply_timeout_ms = self.reply_timeout_ms.min(QUIT_TIMEOUT_MS);
        if self.send("QUIT", "sending QUIT").is_ok() {
            let _ = self.read_reply("reply to QUIT");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testnet::{Script, ScriptedConn, TestClock};

    fn session<'c>(conn: ScriptedConn, clock: &'c TestClock, budget: u64, reply: u64) -> Session<'c, ScriptedConn> {
        let now = clock.now_ms();
        Session::new(conn, clock, now, now + budget, reply)
    }

    #[test]
    fn a_dripping_server_hits_the_reply_timeout_not_the_read_timeout() {
        let clock = TestClock::new();
        // One byte per second of an endless banner line.
        let script = Script::new().drip(b"220 slow.example ESMTP ready and then some more", 1_000);
        let mut s = session(script.conn(&clock), &clock, 60_000, 10_000);
        let e = s.read_reply("waiting for the greeting").unwrap_err();
        assert!(matches!(e.kind, FailureKind::Slow { timeout_ms: 10_000, received: 9 | 10 }), "{e:?}");
        assert!(e.to_string().contains("not complete within 10000 ms"), "{e}");
        assert!(clock.now_ms() - crate::testnet::T0 <= 10_000);
    }

    #[test]
    fn the_endpoint_deadline_wins_over_the_reply_timeout() {
        let clock = TestClock::new();
        let script = Script::new().drip(b"220-x\r\n220-x\r\n220-x\r\n220-x\r\n", 1_000);
        let mut s = session(script.conn(&clock), &clock, 3_000, 10_000);
        let e = s.read_reply("waiting for the greeting").unwrap_err();
        assert!(matches!(e.kind, FailureKind::Deadline { budget_ms: 3_000 }), "{e:?}");
        assert!(clock.now_ms() - crate::testnet::T0 <= 3_000);
        let e = s.command("EHLO x", "EHLO").unwrap_err();
        assert_eq!(e.during, "sending EHLO");
    }

    #[test]
    fn silence_and_closes_are_told_apart() {
        let clock = TestClock::new();
        let mut s = session(Script::new().silent().conn(&clock), &clock, 60_000, 5_000);
        let e = s.read_reply("waiting for the greeting").unwrap_err().to_string();
        assert_eq!(e, "waiting for the greeting: no reply within 5000 ms");

        let mut s = session(Script::new().send(b"220-half\r\n220-way").close().conn(&clock), &clock, 60_000, 5_000);
        let e = s.read_reply("waiting for the greeting").unwrap_err();
        assert_eq!(e.kind, FailureKind::Closed { received: 17 });
        assert!(e.to_string().contains("in the middle of a reply (17 bytes"), "{e}");

        let mut s = session(Script::new().close().conn(&clock), &clock, 60_000, 5_000);
        let e = s.read_reply("waiting for the greeting").unwrap_err().to_string();
        assert_eq!(e, "waiting for the greeting: the server closed the connection");
    }

    #[test]
    fn commands_are_sent_with_crlf_and_replies_read() {
        let clock = TestClock::new();
        let script = Script::new().send(b"220 ok\r\n").expect(b"EHLO me.invalid\r\n").send(b"250 hi\r\n");
        let log = script.log();
        let mut s = session(script.conn(&clock), &clock, 60_000, 5_000);
        assert_eq!(s.read_reply("greeting").unwrap().code, 220);
        assert_eq!(s.command("EHLO me.invalid", "EHLO").unwrap().first_line(), "hi");
        assert_eq!(log.sent(), "EHLO me.invalid\r\n");
    }

    #[test]
    fn starttls_drops_bytes_sent_before_the_handshake() {
        let clock = TestClock::new();
        let script = Script::new()
            .expect(b"STARTTLS\r\n")
            .send(b"220 go ahead\r\n250 injected\r\n")
            .tls_ok()
            .expect(b"EHLO x\r\n")
            .send(b"250 real\r\n");
        let mut s = session(script.conn(&clock), &clock, 60_000, 5_000);
        assert_eq!(s.command("STARTTLS", "STARTTLS").unwrap().code, 220);
        let (info, injected) = s.start_tls("relay.example").unwrap();
        assert_eq!((info.protocol.as_str(), injected), ("TLSv1.3", 14));
        assert_eq!(s.command("EHLO x", "EHLO").unwrap().first_line(), "real");
    }
}
