//! Timestamps as the collector stores them: RFC 3339, UTC, microseconds, so
//! that text order is time order.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Now.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// `hours` from now.
pub fn in_hours(hours: i64) -> String {
    format(OffsetDateTime::now_utc() + Duration::hours(hours))
}

/// `minutes` ago.
pub fn minutes_ago(minutes: i64) -> String {
    format(OffsetDateTime::now_utc() - Duration::minutes(minutes))
}

/// Today's date, UTC, `YYYY-MM-DD`.
pub fn today() -> String {
    now()[..10].to_string()
}

/// A stored time moved by `seconds` (negative: earlier), as stored. A time
/// that does not parse counts as now.
pub fn shift(at: &str, seconds: i64) -> String {
    let t = OffsetDateTime::parse(at.trim(), &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    format(t + Duration::seconds(seconds))
}

/// Format a time.
pub fn format(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(FORMAT).expect("UTC times format")
}

/// Is `text` a date (`YYYY-MM-DD`) or an RFC 3339 time?
pub fn is_date_or_time(text: &str) -> bool {
    let date = format_description!("[year]-[month]-[day]");
    time::Date::parse(text, date).is_ok()
        || OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_order_is_time_order() {
        let a = format(OffsetDateTime::UNIX_EPOCH + Duration::milliseconds(1500));
        assert_eq!(a, "1970-01-01T00:00:01.500000Z");
        assert!(now() < in_hours(1));
        assert!(is_date_or_time("2025-01-31") && is_date_or_time(&now()));
        assert!(!is_date_or_time("last week"));
    }
}
