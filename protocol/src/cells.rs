//! Register text on its way out to a spreadsheet or a terminal. Names,
//! scopes and findings come from client tenants and from plugins, so both
//! binaries print them through these.

/// The columns every register CSV starts with, the agent's scan and the
/// collector's register alike, so that one spreadsheet reads both: the
/// collector's adds its own columns (status, annotations) after these.
/// `record` is `connector`, or `context` for a context record.
pub const REGISTER_COLUMNS: [&str; 18] = [
    "tenant_id",
    "site_id",
    "key",
    "category",
    "name",
    "scope",
    "owner",
    "co_owners",
    "purpose",
    "auth_type",
    "migration_state",
    "created",
    "last_change",
    "plugin",
    "findings",
    "highest_severity",
    "check_ids",
    "record",
];

/// [`REGISTER_COLUMNS`]'s `record` cell.
pub fn record_kind(context: bool) -> &'static str {
    if context { "context" } else { "connector" }
}

/// A CSV cell that a spreadsheet will not run as a formula: cells starting
/// with `=`, `+`, `-`, `@`, a tab or a carriage return get a leading `'`.
pub fn defuse(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// Text for a terminal: control characters (escape sequences, newlines,
/// carriage returns) become spaces, so nothing reported can move the
/// cursor, recolour the screen or forge a line.
pub fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// At most `max` characters of `text`, with `…` when cut: text from a
/// plugin or a tenant kept in a register, a log line or a warning.
pub fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_are_defused() {
        assert_eq!(super::defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::defuse("Relay"), "Relay");
    }

    #[test]
    fn escapes_never_reach_a_terminal() {
        assert_eq!(super::printable("a\x1b[2Jb\r\nc\u{9b}d"), "a [2Jb  c d");
    }
}
