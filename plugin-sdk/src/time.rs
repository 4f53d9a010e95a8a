//! Dates as Microsoft 365 sources write them, to and from RFC 3339.
//!
//! Plugins run without a system clock or time zone database; these are
//! plain calendar conversions in UTC.

/// Parse a date as Microsoft 365 sources write them, to milliseconds since
/// the Unix epoch:
/// - ISO 8601 / RFC 3339: `2026-07-23T22:55:13.0000000Z`, `2026-07-23T22:55:13+02:00`,
///   and without a zone (taken as UTC);
/// - Windows PowerShell 5.1 `ConvertTo-Json`: `/Date(1772500512000)/`, also
///   with an offset suffix such as `/Date(1772500512000+0100)/`.
pub fn parse_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        // The suffix offset only says which zone the writer was in; the
        // number is already UTC.
        let digits_end = inner
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-')
            .map(|(i, _)| i)
            .unwrap_or(inner.len());
        return inner[..digits_end].parse().ok();
    }
    parse_iso(t)
}

fn parse_iso(t: &str) -> Option<i64> {
    // Byte offsets below are only safe on ASCII; a date never needs more.
    if !t.is_ascii() {
        return None;
    }
    let b = t.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let num = |s: &str| s.parse::<i64>().ok();
    let (y, mo, d) = (num(&t[0..4])?, num(&t[5..7])?, num(&t[8..10])?);
    let (h, mi, s) = (num(&t[11..13])?, num(&t[14..16])?, num(&t[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &t[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        let first3: String = digits.chars().chain("000".chars()).take(3).collect();
        millis = num(&first3)?;
        rest = &frac[digits.len()..];
    }
    let offset_secs = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hm = rest[1..].replace(':', "");
            if hm.len() != 4 {
                return None;
            }
            sign * (num(&hm[0..2])? * 3600 + num(&hm[2..4])? * 60)
        }
    };
    let days = days_from_civil(y, mo, d);
    Some((days * 86_400 + h * 3600 + mi * 60 + s - offset_secs) * 1000 + millis)
}

/// Milliseconds since the epoch as RFC 3339 UTC, to the second:
/// `2026-07-23T22:55:13Z`.
pub fn to_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Normalise any date [`parse_ms`] reads to RFC 3339 UTC.
pub fn normalize(text: &str) -> Option<String> {
    parse_ms(text).map(to_rfc3339)
}

// Howard Hinnant's days_from_civil / civil_from_days, proleptic Gregorian.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_microsoft_date_form() {
        // 1772500512000 ms = 2026-03-03T01:15:12Z
        assert_eq!(parse_ms("/Date(1772500512000)/"), Some(1_772_500_512_000));
        assert_eq!(parse_ms("/Date(1772500512000+0100)/"), Some(1_772_500_512_000));
        assert_eq!(parse_ms("2026-03-03T01:15:12.0000000Z"), Some(1_772_500_512_000));
        assert_eq!(parse_ms("2026-03-03T02:15:12+01:00"), Some(1_772_500_512_000));
        assert_eq!(parse_ms("2026-03-03T01:15:12"), Some(1_772_500_512_000));
        assert_eq!(parse_ms("2026-03-03T01:15:12.25Z"), Some(1_772_500_512_250));
        assert_eq!(to_rfc3339(1_772_500_512_000), "2026-03-03T01:15:12Z");
        assert_eq!(normalize("/Date(0)/").as_deref(), Some("1970-01-01T00:00:00Z"));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "/Date(abc)/",
            "2026-03-03T01:15:12+1",
            "2026-07-23T1€:00:00Z",
            "2026-07-23T10:00:00.€",
        ] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 59, 60, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
