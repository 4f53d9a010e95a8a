//! Bounded parsing of SMTP replies (RFC 5321 §4.2).
//!
//! A reply is one or more lines `CODE-text` ending with a line `CODE text`
//! (or a bare `CODE`). Everything a server sends is untrusted: a line may
//! not exceed [`MAX_LINE_BYTES`], a reply may not have more than
//! [`MAX_REPLY_LINES`] lines nor more than [`MAX_REPLY_BYTES`] bytes, and
//! anything that is not a reply line is refused. Each limit fails as soon as
//! it is crossed, without waiting for more data, so an endless `250-`
//! stream or a megabyte banner costs at most one small buffer.
//!
//! Time is not this module's business: [`crate::session`] bounds how long a
//! reply may take to arrive.

use crate::text::sanitize;
use std::fmt;

/// Longest reply line accepted, CRLF included. RFC 5321 §4.5.3.1.5 allows
/// 512 octets per reply line and §4.5.3.1.6 1000 per text line; 1024 leaves
/// slack for sloppy servers and is still tiny.
pub const MAX_LINE_BYTES: usize = 1024;
/// Most lines in one reply. A generous EHLO answer has about 20.
pub const MAX_REPLY_LINES: usize = 128;
/// Most bytes in one reply, all lines together.
pub const MAX_REPLY_BYTES: usize = 16 * 1024;
/// Most reply text kept in an error message or attribute.
pub const MAX_SHOWN_CHARS: usize = 200;

/// One complete reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code, 200..=599 in a well-formed reply.
    pub code: u16,
    /// The text of each line, after `CODE-` or `CODE `, lossily decoded
    /// (not yet sanitised for display).
    pub lines: Vec<String>,
}

impl Reply {
    /// `2xx`.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// The first line's text.
    pub fn first_line(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or("")
    }

    /// Code and text, sanitised and shortened for messages and attributes:
    /// `554 5.7.1 <x@example.com>: Relay access denied`.
    pub fn shown(&self) -> String {
        let text = self.lines.join(" / ");
        if text.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {}", self.code, sanitize(&text, MAX_SHOWN_CHARS))
        }
    }
}

/// Why the bytes received are not an acceptable reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// A line longer than [`MAX_LINE_BYTES`] (or no line end in sight).
    LineTooLong {
        /// The limit.
        limit: usize,
    },
    /// More than [`MAX_REPLY_LINES`] lines in one reply.
    TooManyLines {
        /// The limit.
        limit: usize,
    },
    /// More than [`MAX_REPLY_BYTES`] bytes in one reply.
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// A line that is not `DDD`, `DDD text` or `DDD-text`.
    NotAReply {
        /// The line, sanitised and shortened.
        line: String,
    },
    /// A continuation line with a different code than the first.
    CodeChanged {
        /// The first line's code.
        first: u16,
        /// The differing code.
        then: u16,
    },
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::LineTooLong { limit } => {
                write!(f, "a reply line is longer than {limit} bytes")
            }
            ReplyError::TooManyLines { limit } => {
                write!(f, "a reply has more than {limit} lines")
            }
            ReplyError::TooLarge { limit } => write!(f, "a reply is larger than {limit} bytes"),
            ReplyError::NotAReply { line } => write!(f, "not an SMTP reply line: {line:?}"),
            ReplyError::CodeChanged { first, then } => {
                write!(f, "a multiline reply changed its code from {first} to {then}")
            }
        }
    }
}

/// Accumulates bytes from the server and hands out complete replies.
///
/// Bytes after a complete reply stay buffered for the next one (a server
/// may send two replies in one segment); [`ReplyReader::discard`] drops
/// them, which STARTTLS requires (anything sent before the handshake must
/// not be read as if it came through TLS).
#[derive(Debug, Default)]
pub struct ReplyReader {
    buf: Vec<u8>,
    code: Option<u16>,
    lines: Vec<String>,
    reply_bytes: usize,
}

impl ReplyReader {
    /// An empty reader.
    pub fn new() -> Self {
        ReplyReader::default()
    }

    /// Add bytes read from the connection.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet part of a returned reply.
    pub fn pending_bytes(&self) -> usize {
        self.buf.len() + self.reply_bytes
    }

    /// How many bytes it makes sense to read next: never more than would
    /// cross [`MAX_REPLY_BYTES`] (plus one, so that crossing is seen).
    pub fn room(&self) -> usize {
        (MAX_REPLY_BYTES + 1).saturating_sub(self.pending_bytes()).max(1)
    }

    /// Drop everything buffered; returns how many bytes that was.
    pub fn discard(&mut self) -> usize {
        let n = self.pending_bytes();
        self.buf.clear();
        self.code = None;
        self.lines.clear();
        self.reply_bytes = 0;
        n
    }

    /// The next complete reply, `Ok(None)` when more bytes are needed, or
    /// the limit or syntax rule the server broke. After an error the reader
    /// is in an unspecified state: give up on the connection.
    pub fn next_reply(&mut self) -> Result<Option<Reply>, ReplyError> {
        loop {
            let Some(end) = self.buf.iter().position(|&b| b == b'\n') else {
                if self.buf.len() >= MAX_LINE_BYTES {
                    return Err(ReplyError::LineTooLong { limit: MAX_LINE_BYTES });
                }
                if self.pending_bytes() > MAX_REPLY_BYTES {
                    return Err(ReplyError::TooLarge { limit: MAX_REPLY_BYTES });
                }
                return Ok(None);
            };
            let line_len = end + 1;
            if line_len > MAX_LINE_BYTES {
                return Err(ReplyError::LineTooLong { limit: MAX_LINE_BYTES });
            }
            self.reply_bytes += line_len;
            if self.reply_bytes > MAX_REPLY_BYTES {
                return Err(ReplyError::TooLarge { limit: MAX_REPLY_BYTES });
            }
            let raw: Vec<u8> = self.buf.drain(..line_len).collect();
            let line = trim_line_end(&raw);
            let (code, last, text) = parse_line(line)?;
            match self.code {
                None => self.code = Some(code),
                Some(first) if first != code => {
                    return Err(ReplyError::CodeChanged { first, then: code })
                }
                Some(_) => {}
            }
            self.lines.push(text);
            if last {
                let reply = Reply {
                    code,
                    lines: std::mem::take(&mut self.lines),
                };
                self.code = None;
                self.reply_bytes = 0;
                return Ok(Some(reply));
            }
            if self.lines.len() >= MAX_REPLY_LINES {
                return Err(ReplyError::TooManyLines { limit: MAX_REPLY_LINES });
            }
        }
    }
}

/// Strip `\n` and one `\r` before it (bare LF is tolerated, as most
/// clients do).
fn trim_line_end(raw: &[u8]) -> &[u8] {
    let line = raw.strip_suffix(b"\n").unwrap_or(raw);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `(code, is_last_line, text)` of one line without its line end.
fn parse_line(line: &[u8]) -> Result<(u16, bool, String), ReplyError> {
    let bad = || ReplyError::NotAReply {
        line: sanitize(&String::from_utf8_lossy(line), 60),
    };
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let code = u16::from(line[0] - b'0') * 100 + u16::from(line[1] - b'0') * 10 + u16::from(line[2] - b'0');
    if !(200..=599).contains(&code) {
        return Err(bad());
    }
    let (last, text) = match line.get(3) {
        None => (true, &line[3..]),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => return Err(bad()),
    };
    Ok((code, last, String::from_utf8_lossy(text).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `data` in chunks of `chunk` bytes; the first reply or error.
    fn read_one(data: &[u8], chunk: usize) -> Result<Option<Reply>, ReplyError> {
        let mut r = ReplyReader::new();
        for part in data.chunks(chunk.max(1)) {
            r.push(part);
            if let Some(reply) = r.next_reply()? {
                return Ok(Some(reply));
            }
        }
        r.next_reply()
    }

    #[test]
    fn single_and_multiline_replies_in_any_chunking() {
        let ehlo = b"250-mail.contoso.com Hello [10.0.0.9]\r\n250-SIZE 36700160\r\n250-STARTTLS\r\n250 AUTH LOGIN PLAIN\r\n";
        for chunk in [1, 2, 7, 4096] {
            let r = read_one(ehlo, chunk).unwrap().unwrap();
            assert_eq!(r.code, 250);
            assert_eq!(
                r.lines,
                ["mail.contoso.com Hello [10.0.0.9]", "SIZE 36700160", "STARTTLS", "AUTH LOGIN PLAIN"]
            );
        }
        let r = read_one(b"220 relay.example ESMTP\n", 3).unwrap().unwrap();
        assert_eq!((r.code, r.first_line()), (220, "relay.example ESMTP"));
        let r = read_one(b"250\r\n", 1).unwrap().unwrap();
        assert_eq!((r.code, r.lines.len()), (250, 1));
        assert!(read_one(b"250-partial\r\n250 ", 5).unwrap().is_none());
    }

    #[test]
    fn replies_sent_together_come_out_one_by_one_and_discard_empties() {
        let mut r = ReplyReader::new();
        r.push(b"250 2.0.0 Ok\r\n554 5.7.1 Relay access denied\r\n220 2.0.0 Ready");
        assert_eq!(r.next_reply().unwrap().unwrap().code, 250);
        let second = r.next_reply().unwrap().unwrap();
        assert_eq!(second.shown(), "554 5.7.1 Relay access denied");
        assert_eq!(r.next_reply().unwrap(), None);
        assert_eq!(r.discard(), 15);
        assert_eq!(r.pending_bytes(), 0);
    }

    #[test]
    fn endless_multiline_stops_at_the_line_limit() {
        let mut r = ReplyReader::new();
        let mut fed = 0;
        let err = loop {
            r.push(b"250-AAAA\r\n");
            fed += 1;
            match r.next_reply() {
                Ok(None) => assert!(fed <= MAX_REPLY_LINES, "never stopped"),
                Ok(Some(_)) => panic!("no final line was sent"),
                Err(e) => break e,
            }
        };
        assert_eq!(err, ReplyError::TooManyLines { limit: MAX_REPLY_LINES });
        assert_eq!(fed, MAX_REPLY_LINES);
        assert!(err.to_string().contains("more than 128 lines"));
    }

    #[test]
    fn a_megabyte_banner_stops_at_the_line_limit_without_waiting_for_its_end() {
        let banner = [b"220 ".as_slice(), &vec![b'x'; 1 << 20]].concat();
        // No line end at all: refused once the buffer reaches a line's worth.
        let mut r = ReplyReader::new();
        r.push(&banner[..MAX_LINE_BYTES - 1]);
        assert_eq!(r.next_reply(), Ok(None));
        r.push(&banner[MAX_LINE_BYTES - 1..MAX_LINE_BYTES]);
        assert_eq!(r.next_reply(), Err(ReplyError::LineTooLong { limit: MAX_LINE_BYTES }));
        // A long line that does end.
        let mut long = vec![b'2', b'2', b'0', b' '];
        long.extend(vec![b'y'; MAX_LINE_BYTES]);
        long.extend(b"\r\n");
        assert_eq!(read_one(&long, 4096), Err(ReplyError::LineTooLong { limit: MAX_LINE_BYTES }));
        // Exactly at the limit is fine.
        let mut edge = b"220 ".to_vec();
        edge.extend(vec![b'z'; MAX_LINE_BYTES - 6]);
        edge.extend(b"\r\n");
        assert_eq!(edge.len(), MAX_LINE_BYTES);
        assert_eq!(read_one(&edge, 100).unwrap().unwrap().code, 220);
    }

    #[test]
    fn many_long_lines_stop_at_the_byte_limit() {
        let line = [b"250-".as_slice(), &vec![b'q'; 1000], b"\r\n"].concat();
        let mut r = ReplyReader::new();
        let err = loop {
            r.push(&line);
            if let Err(e) = r.next_reply() {
                break e;
            }
        };
        assert_eq!(err, ReplyError::TooLarge { limit: MAX_REPLY_BYTES });
        assert!(r.room() >= 1);
    }

    #[test]
    fn garbage_is_refused_with_the_offending_line_sanitised() {
        for (input, needle) in [
            (b"HTTP/1.1 400 Bad Request\r\n".as_slice(), "HTTP/1.1"),
            (b"22\r\n", "22"),
            (b"2x0 hi\r\n", "2x0"),
            (b"220_banner\r\n", "220_banner"),
            (b"199 too low\r\n", "199"),
            (b"\x00\x01\x02\xff\xfe\r\n", "?"),
            (b"\x1b[31m220 colour\r\n", "?[31m"),
        ] {
            let e = read_one(input, 3).unwrap_err();
            let ReplyError::NotAReply { line } = &e else { panic!("{e:?}") };
            assert!(line.contains(needle), "{line:?} for {input:?}");
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
        assert_eq!(
            read_one(b"250-a\r\n550 b\r\n", 64),
            Err(ReplyError::CodeChanged { first: 250, then: 550 })
        );
    }

    #[test]
    fn shown_text_is_bounded_and_clean() {
        let r = Reply {
            code: 220,
            lines: vec![format!("evil\x07\x1b[2J{}", "x".repeat(500))],
        };
        let s = r.shown();
        assert!(s.starts_with("220 evil"));
        assert!(s.chars().count() <= 4 + MAX_SHOWN_CHARS + 1, "{}", s.len());
        assert!(!s.chars().any(char::is_control));
        assert_eq!(Reply { code: 250, lines: vec![String::new()] }.shown(), "250");
    }
}
