//! Making server-supplied text safe to store and show.

/// `text` with every control character (including CR, LF, ESC and the
/// Unicode bidi controls a hostile banner might use to disguise itself)
/// replaced by `?`, and cut to `max_chars` characters with `…` appended
/// when it was longer.
pub fn sanitize(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    for (n, c) in text.chars().enumerate() {
        if n == max_chars {
            out.push('…');
            break;
        }
        out.push(if is_unsafe(c) { '?' } else { c });
    }
    out
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{FFFD}')
}

/// A host name as SMTP servers announce it: letters, digits, dots and
/// dashes, starting with a letter or digit, at most 253 characters.
pub fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// The leading run of `[A-Za-z0-9][A-Za-z0-9.-]*` in `s` (the server-name
/// pattern nmap's smtp-open-relay uses), at most 253 characters.
pub fn leading_host_name(s: &str) -> Option<&str> {
    let end = s
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
        .unwrap_or(s.len());
    let name = s[..end].trim_end_matches(['.', '-']);
    (is_host_name(name) && name.len() <= 253).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_replaces_controls_and_bounds_length() {
        assert_eq!(sanitize("ok\r\nFAKE\x1b[0m", 100), "ok??FAKE?[0m");
        assert_eq!(sanitize("abc\u{202E}def", 100), "abc?def");
        assert_eq!(sanitize("abcdef", 3), "abc…");
        assert_eq!(sanitize("abc", 3), "abc");
        assert_eq!(sanitize("", 3), "");
        assert_eq!(sanitize("äöü€", 2), "äö…");
    }

    #[test]
    fn host_names_follow_the_nmap_pattern() {
        assert_eq!(leading_host_name("mail.contoso.com ESMTP Postfix"), Some("mail.contoso.com"));
        assert_eq!(leading_host_name("EXCH01.corp.local Microsoft ESMTP MAIL Service ready"), Some("EXCH01.corp.local"));
        assert_eq!(leading_host_name("relay.example.; bye"), Some("relay.example"));
        assert_eq!(leading_host_name("-dash first"), None);
        assert_eq!(leading_host_name(" leading space"), None);
        assert_eq!(leading_host_name(""), None);
        assert!(is_host_name("a-1.b"));
        assert!(!is_host_name("a_b"));
        assert!(!is_host_name(&"a".repeat(254)));
    }
}
