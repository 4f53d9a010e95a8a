//! Credentials out of TCP dialogues before they are stored in a recording
//! (and out of a replayed write before it is matched): SASL exchanges and
//! passwords on a command line, in SMTP, POP3, IMAP and FTP.

use super::scrub;

/// Longest start of a line [`Scrubber`] looks at.
const LINE_START: usize = 64;

/// Credentials out of a dialogue, in the protocols a plugin may speak:
/// - SASL: after a client line `AUTH MECH` (SMTP, POP3) or `TAG AUTHENTICATE
///   MECH` (IMAP), what follows the mechanism (an initial response), every
///   later client line and the server's challenges (`334 ` in SMTP, `+ ` in
///   POP3 and IMAP) are secret, until the server gives any other line (its
///   final reply). The mechanism is kept only when it is a SASL one this
///   knows, so that `AUTH PASSWORD` of other protocols (Redis) is not kept
///   either.
/// - A password on the command line: the rest of a client line after `PASS `
///   (POP3, FTP), `APOP ` (POP3) or `TAG LOGIN ` (IMAP) is secret, and so are
///   later client lines until the server's reply (an IMAP literal carries
///   the password on the next line).
///
/// Bytes are taken one at a time, so a line split over several reads or
/// writes is scrubbed the same as a whole one. The same scrub runs over a
/// replayed write before it is matched. A message body line that happens to
/// start like one of these is scrubbed too: more is removed, never less.
#[derive(Debug, Default, Clone)]
pub struct Scrubber {
    auth: bool,
    written: Line,
    read: Line,
}

#[derive(Debug, Default, Clone)]
struct Line {
    /// The line's first bytes.
    start: Vec<u8>,
    /// The rest of this line is secret.
    secret: bool,
    /// After `AUTH `: the word so far, held back until it is known to be a
    /// mechanism's name.
    mechanism: Option<Vec<u8>>,
}

/// What a client line's first words say comes next.
enum Credential {
    /// A SASL exchange: a mechanism's name, then secrets.
    Sasl,
    /// A password, on this line or the next.
    Password,
}

/// The credential command a client line starts with, read when `start` (the
/// line so far) has just ended a word: its first word, or its second after
/// an IMAP tag.
fn credential_command(start: &[u8]) -> Option<Credential> {
    let words: Vec<&[u8]> = start.strip_suffix(b" ")?.split(|c| *c == b' ').collect();
    let command = match words.as_slice() {
        [command] => command,
        [tag, command] if !tag.is_empty() => command,
        _ => return None,
    };
    match command.to_ascii_uppercase().as_slice() {
        b"AUTH" | b"AUTHENTICATE" => Some(Credential::Sasl),
        b"PASS" | b"APOP" | b"LOGIN" => Some(Credential::Password),
        _ => None,
    }
}

/// A server line that continues a SASL exchange (its text is a challenge):
/// SMTP's `334`, POP3's and IMAP's `+` (but not POP3's `+OK`).
fn continuation(start: &[u8]) -> bool {
    let smtp = start.len() >= 3 && &start[..3] == b"334" && start.get(3).is_none_or(|c| matches!(c, b' ' | b'-'));
    let plus = start.first() == Some(&b'+') && start.get(1).is_none_or(|c| *c == b' ');
    smtp || plus
}

/// SASL mechanisms (RFC 4422 names are at most 20 characters).
const MECHANISMS: &[&str] =
    &["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "NTLM", "GSSAPI", "XOAUTH2", "OAUTHBEARER", "EXTERNAL", "ANONYMOUS"];

fn known_mechanism(word: &[u8]) -> bool {
    let w = String::from_utf8_lossy(word).to_ascii_uppercase();
    MECHANISMS.contains(&w.as_str()) || (w.starts_with("SCRAM-") && w.len() <= 20)
}

/// The held-back word after `AUTH `, or the redaction mark in its place.
fn release(word: Vec<u8>, out: &mut Vec<u8>) {
    if known_mechanism(&word) {
        out.extend_from_slice(&word);
    } else if !word.is_empty() {
        out.extend_from_slice(scrub::REDACTED.as_bytes());
    }
}

impl Scrubber {
    /// What the plugin wrote, as it may be stored.
    pub fn write(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len());
        let mut marked = false;
        for &b in data {
            if b == b'\n' || b == b'\r' {
                if let Some(word) = self.written.mechanism.take() {
                    release(word, &mut out);
                }
                self.written = Line::default();
                out.push(b);
                marked = false;
                continue;
            }
            if self.written.start.is_empty() && self.auth {
                self.written.secret = true;
            }
            if self.written.secret {
                if !marked {
                    out.extend_from_slice(scrub::REDACTED.as_bytes());
                    marked = true;
                }
                continue;
            }
            let line = &mut self.written;
            if let Some(word) = &mut line.mechanism {
                if b != b' ' && word.len() < 20 {
                    word.push(b);
                    continue;
                }
                // The word ended (or is too long for a mechanism): what follows is secret.
                let word = line.mechanism.take().unwrap_or_default();
                marked = !known_mechanism(&word);
                release(word, &mut out);
                if !marked && b == b' ' {
                    out.push(b' ');
                }
                line.secret = true;
                continue;
            }
            out.push(b);
            if line.start.len() < LINE_START {
                line.start.push(b);
            }
            if b == b' ' && line.start.len() < LINE_START {
                match credential_command(&line.start) {
                    Some(Credential::Sasl) => {
                        self.auth = true;
                        line.mechanism = Some(Vec::new());
                    }
                    Some(Credential::Password) => {
                        self.auth = true;
                        line.secret = true;
                    }
                    None => {}
                }
            }
        }
        // A word cut by the end of the write may be longer than it looks: not kept.
        if self.written.mechanism.take_if(|w| !w.is_empty()).is_some() {
            out.extend_from_slice(scrub::REDACTED.as_bytes());
            self.written.secret = true;
        }
        out
    }

    /// What a read returned, as it may be stored.
    pub fn read(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len());
        let mut marked = false;
        for &b in data {
            if b == b'\n' || b == b'\r' {
                let s = &self.read.start;
                if !s.is_empty() && !continuation(s) {
                    self.auth = false;
                }
                self.read = Line::default();
                out.push(b);
                marked = false;
                continue;
            }
            if self.read.secret {
                if !marked {
                    out.extend_from_slice(scrub::REDACTED.as_bytes());
                    marked = true;
                }
                continue;
            }
            out.push(b);
            let line = &mut self.read;
            if line.start.len() < LINE_START {
                line.start.push(b);
            }
            let challenge_starts = (line.start.len() == 4 && line.start.starts_with(b"334") && matches!(b, b' ' | b'-'))
                || (line.start.len() == 2 && line.start == b"+ ");
            if self.auth && challenge_starts {
                line.secret = true;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a client's writes are stored as, one scrubber for the session;
    /// `reads` come between them as (after write n, text).
    fn session(steps: &[(bool, &str)]) -> String {
        let mut s = Scrubber::default();
        let mut out = String::new();
        for (written, text) in steps {
            let kept = if *written { s.write(text.as_bytes()) } else { s.read(text.as_bytes()) };
            out.push_str(&String::from_utf8(kept).unwrap());
        }
        out
    }

    fn writes(lines: &[&str]) -> String {
        session(&lines.iter().map(|l| (true, *l)).collect::<Vec<_>>())
    }

    #[test]
    fn only_a_known_mechanism_is_kept_after_auth() {
        assert_eq!(writes(&["AUTH hunter2\r\n"]), "AUTH REDACTED\r\n", "Redis-style AUTH PASSWORD");
        assert_eq!(writes(&["auth user hunter2\r\n"]), "auth REDACTED\r\n");
        assert_eq!(writes(&["AUTH LOGIN\r\n", "YWxpY2U=\r\n"]), "AUTH LOGIN\r\nREDACTED\r\n");
        assert_eq!(writes(&["AUTH SCRAM-SHA-256 biws\r\n"]), "AUTH SCRAM-SHA-256 REDACTED\r\n");
        // Cut inside the word: it may be a password's start, so neither piece is kept.
        assert_eq!(writes(&["AUTH PLA", "IN AGFsaWNl\r\n"]), "AUTH REDACTEDREDACTED\r\n");
        assert_eq!(writes(&["EHLO x\r\nMAIL FROM:<a@b>\r\n"]), "EHLO x\r\nMAIL FROM:<a@b>\r\n", "no AUTH, nothing removed");
    }

    #[test]
    fn pop3_passwords_apop_digests_and_sasl_are_scrubbed() {
        // RFC 1939's USER/PASS and APOP; the user name stays, the password does not.
        let stored = session(&[
            (false, "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"),
            (true, "USER mrose\r\n"),
            (false, "+OK\r\n"),
            (true, "PASS tanstaaf\r\n"),
            (false, "+OK maildrop has 2 messages\r\n"),
            (true, "STAT\r\n"),
        ]);
        assert_eq!(stored, "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\nUSER mrose\r\n+OK\r\nPASS REDACTED\r\n+OK maildrop has 2 messages\r\nSTAT\r\n");
        assert_eq!(writes(&["APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"]), "APOP REDACTED\r\n");
        // RFC 5034's AUTH with a `+ ` challenge and a `+OK` that ends it.
        let stored = session(&[
            (true, "AUTH PLAIN\r\n"),
            (false, "+ \r\n"),
            (true, "dGVzdAB0ZXN0AHRlc3Q=\r\n"),
            (false, "+OK Maildrop locked and ready\r\n"),
            (true, "LIST\r\n"),
        ]);
        assert!(!stored.contains("dGVzdAB0ZXN0AHRlc3Q="), "{stored}");
        assert!(stored.ends_with("+OK Maildrop locked and ready\r\nLIST\r\n"), "after +OK nothing is secret: {stored}");
    }

    #[test]
    fn imap_login_literals_and_authenticate_are_scrubbed() {
        assert_eq!(writes(&["a001 LOGIN SMITH SESAME\r\n"]), "a001 LOGIN REDACTED\r\n", "RFC 3501's LOGIN");
        // A password sent as a literal comes on the next line, after a `+` continuation.
        let stored = session(&[
            (true, "A1 LOGIN {5}\r\n"),
            (false, "+ Ready for additional command text\r\n"),
            (true, "alice {11}\r\n"),
            (false, "+ Ready\r\n"),
            (true, "hunter2pass\r\n"),
            (false, "A1 OK LOGIN completed\r\n"),
            (true, "A2 SELECT INBOX\r\n"),
        ]);
        assert!(!stored.contains("alice") && !stored.contains("hunter2pass"), "{stored}");
        assert!(stored.ends_with("A1 OK LOGIN completed\r\nA2 SELECT INBOX\r\n"), "{stored}");
        // AUTHENTICATE with its challenges, as in RFC 3501's example.
        let stored = session(&[
            (true, "A001 AUTHENTICATE GSSAPI\r\n"),
            (false, "+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n"),
            (true, "YDMGCSqGSIb3EgECAgIBAAD/////3LQBHXTpFfZgrejpLlLImPwkhbfa2QteAQAgAG1yYwE=\r\n"),
            (false, "A001 OK GSSAPI authentication successful\r\n"),
        ]);
        assert!(stored.starts_with("A001 AUTHENTICATE GSSAPI\r\n+ REDACTED\r\nREDACTED\r\n"), "{stored}");
        assert!(!stored.contains("YGgGCSqG") && !stored.contains("YDMGCSqG"), "{stored}");
    }

    #[test]
    fn ftp_pass_is_scrubbed_and_ordinary_lines_are_not() {
        let stored = session(&[
            (true, "USER anonymous\r\n"),
            (false, "331 Please specify the password.\r\n"),
            (true, "PASS guest@example.com\r\n"),
            (false, "230 Login successful.\r\n"),
            (true, "PASV\r\n"),
        ]);
        assert!(!stored.contains("guest@example.com"), "{stored}");
        assert!(stored.ends_with("230 Login successful.\r\nPASV\r\n"), "{stored}");
        // A word that only looks like a command, later on a line, is not one.
        assert_eq!(writes(&["MAIL FROM:<pass@example.com> SIZE=10\r\n"]), "MAIL FROM:<pass@example.com> SIZE=10\r\n");
        assert_eq!(writes(&["RCPT TO:<login@example.com>\r\n"]), "RCPT TO:<login@example.com>\r\n");
    }
}
