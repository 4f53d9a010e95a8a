//! Undoing the ways a URL is written in a file (JSON and HTML escapes,
//! percent-encoding) one byte at a time, so that the URL ends where the
//! text says it does.

use super::Encoding;

/// Bytes that can be part of the webhook URLs we look for. Quotes,
/// brackets, whitespace, `$`, `,`, `;`, `#`, backticks and everything
/// non-ASCII end a URL.
fn url_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~:/?@&=+%".contains(&c)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Literal text, with JSON and HTML escapes undone.
    Plain,
    /// Percent-encoded text, decoded once.
    Percent,
}

/// Reads decoded URL bytes from raw text until a byte that cannot be part
/// of the URL.
pub(super) struct Decoder<'a> {
    b: &'a [u8],
    pub(super) pos: usize,
    mode: Mode,
    json: bool,
    html: bool,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(b: &'a [u8], pos: usize, mode: Mode) -> Self {
        Decoder {
            b,
            pos,
            mode,
            json: false,
            html: false,
        }
    }

    pub(super) fn encoding(&self) -> Encoding {
        match self.mode {
            Mode::Percent => Encoding::UrlEncoded,
            Mode::Plain if self.json => Encoding::JsonEscaped,
            Mode::Plain if self.html => Encoding::HtmlEscaped,
            Mode::Plain => Encoding::Plain,
        }
    }

    /// The next decoded byte, or `None` at the end of the URL (`pos` then
    /// stays on the byte that ended it).
    pub(super) fn next_byte(&mut self) -> Option<u8> {
        let rest = self.b.get(self.pos..)?;
        let c = *rest.first()?;
        match self.mode {
            Mode::Percent => {
                if c == b'%' {
                    let v = hex_byte(rest.get(1..3)?)?;
                    if !url_byte(v) {
                        return None;
                    }
                    self.pos += 3;
                    Some(v)
                } else if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
                    self.pos += 1;
                    Some(c)
                } else {
                    None
                }
            }
            Mode::Plain => match c {
                b'\\' => {
                    // `\/`, or `\\\/` when JSON sits in a JSON string;
                    // `\u0026` (Windows PowerShell's ConvertTo-Json writes
                    // `&` so).
                    let slashes = rest.iter().take_while(|&&x| x == b'\\').count();
                    let after = &rest[slashes..];
                    match after.first() {
                        Some(b'/') => {
                            self.json = true;
                            self.pos += slashes + 1;
                            Some(b'/')
                        }
                        Some(b'u') | Some(b'U') => {
                            let hi = hex_byte(after.get(1..3)?)?;
                            let lo = hex_byte(after.get(3..5)?)?;
                            if hi != 0 || !url_byte(lo) {
                                return None;
                            }
                            self.json = true;
                            self.pos += slashes + 5;
                            Some(lo)
                        }
                        _ => None,
                    }
                }
                b'&' => match entity(rest) {
                    Entity::NotOne => {
                        self.pos += 1;
                        Some(b'&')
                    }
                    Entity::Ampersand(len) => {
                        self.html = true;
                        self.pos += len;
                        Some(b'&')
                    }
                    // `&quot;`, `&lt;` and the like end the URL.
                    Entity::Other => None,
                },
                c if url_byte(c) => {
                    self.pos += 1;
                    Some(c)
                }
                _ => None,
            },
        }
    }
}

enum Entity {
    /// A bare `&`.
    NotOne,
    /// `&amp;`, `&#38;` or `&#x26;`, this many bytes long.
    Ampersand(usize),
    /// Any other entity.
    Other,
}

/// What an `&` at the start of `rest` begins.
fn entity(rest: &[u8]) -> Entity {
    let body_len = rest[1..]
        .iter()
        .take(10)
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'#')
        .count();
    if body_len == 0 || rest.get(1 + body_len) != Some(&b';') {
        return Entity::NotOne;
    }
    let body = &rest[1..1 + body_len];
    let is_amp = body.eq_ignore_ascii_case(b"amp")
        || body == b"#38"
        || body.eq_ignore_ascii_case(b"#x26");
    if is_amp {
        Entity::Ampersand(body_len + 2)
    } else {
        let named = body.iter().all(u8::is_ascii_alphabetic);
        let numeric = body.first() == Some(&b'#') && body.len() > 1;
        if named || numeric {
            Entity::Other
        } else {
            Entity::NotOne
        }
    }
}

fn hex_byte(two: &[u8]) -> Option<u8> {
    let d = |c: u8| char::from(c).to_digit(16);
    match two {
        [a, b] => Some(u8::try_from(d(*a)? * 16 + d(*b)?).ok()?),
        _ => None,
    }
}

pub(super) fn starts_with_ci(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}
