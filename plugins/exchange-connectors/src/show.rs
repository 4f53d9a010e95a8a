//! How values are written into register attributes, finding details and
//! PowerShell fixes.

use crate::model::Presence;

/// Written wherever a field's value is not known.
pub(crate) const UNKNOWN: &str = "unknown";

/// `true`, `false` or `unknown`.
pub(crate) fn bool_(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "true",
        Some(false) => "false",
        None => UNKNOWN,
    }
}

/// A text value or `unknown`.
pub(crate) fn text(v: Option<&str>) -> String {
    v.unwrap_or(UNKNOWN).to_string()
}

/// A list joined with `, `; `none` when known to be empty, `unknown` when absent.
pub(crate) fn list(v: Option<&[String]>) -> String {
    match v {
        None => UNKNOWN.to_string(),
        Some([]) => "none".to_string(),
        Some(items) => items.join(", "),
    }
}

/// What an explicit null in Exchange's answer means to a reader.
pub(crate) const NOT_SET: &str = "not set";

/// A field that may be explicitly null: its value, `not set` (Exchange's
/// null; evidence values are text, and the text "null" read as a value), or
/// `unknown`.
pub(crate) fn presence(v: &Presence<String>) -> String {
    match v {
        Presence::Absent => UNKNOWN.to_string(),
        Presence::Null => NOT_SET.to_string(),
        Presence::Value(s) => s.clone(),
    }
}

/// A PowerShell single-quoted string literal. PowerShell also treats the
/// typographic quotes ‘ ’ ‚ ‛ as single quotes, so those are doubled too.
pub(crate) fn ps_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_say_unknown_and_quote_safely() {
        assert_eq!(bool_(None), "unknown");
        assert_eq!(list(None), "unknown");
        assert_eq!(list(Some(&[])), "none");
        assert_eq!(list(Some(&["a".into(), "b".into()])), "a, b");
        assert_eq!(presence(&Presence::Null), "not set");
        assert_eq!(ps_quote("O'Brien relay"), "'O''Brien relay'");
        assert_eq!(
            ps_quote("x\u{2019}; Remove-Item"),
            "'x\u{2019}\u{2019}; Remove-Item'"
        );
        assert_eq!(ps_quote("$(evil)"), "'$(evil)'");
    }
}
