//! Wall-clock time as the register and the spool write it.

/// Milliseconds since the Unix epoch (0 if the clock is before 1970, which
/// only a broken machine reports; a timestamp of 1970 then shows it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `ms` since the epoch as RFC 3339 in UTC.
pub fn rfc3339(ms: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Now, as RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(now_ms())
}
