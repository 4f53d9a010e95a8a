//! The `[schedule]` section: how often the service scans, and the random
//! delay that keeps a fleet from scanning all at once.
//!
//! `every` is a step of the UTC clock (`6h` scans at 00:00, 06:00, 12:00 and
//! 18:00 UTC), not a time since the last scan, so that the systemd timer
//! (`OnCalendar=`, which catches up missed runs with `Persistent=true`) and
//! the Windows service's own loop scan at the same times of day. That is why
//! only steps that divide an hour or a day, or a week, are accepted.

use serde::Deserialize;
use std::time::Duration;

/// Scan interval when `[schedule]` does not say: four scans a day catch a
/// new connector within a working day, and cost a big tenant's throttled
/// Graph and Exchange quotas little.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(6 * 3600);
/// Shortest interval: one scan of a large tenant takes minutes, and Graph
/// throttles a tenant that is asked more often.
pub const MIN_EVERY: Duration = Duration::from_secs(5 * 60);
/// The default jitter is this fraction of `every` (a tenth: 36 minutes of
/// 6 hours spreads a thousand agents to under one a second).
pub const DEFAULT_JITTER_DIVISOR: u32 = 10;
/// Jitter is at most this fraction of `every` (a half), so a delayed scan
/// always starts before the next step is due.
pub const MAX_JITTER_DIVISOR: u32 = 2;
/// How often batches still waiting are pushed between scans, by default: a
/// collector back from an outage has them within a quarter of an hour, and
/// one that is down is asked four times an hour.
pub const DEFAULT_FLUSH_EVERY: Duration = Duration::from_secs(15 * 60);
/// The shortest `flush_every`: each push of a waiting batch is a signed
/// upload the collector verifies; more often than this only loads it.
pub const MIN_FLUSH_EVERY: Duration = Duration::from_secs(10);
/// How long the service waits after a change in a watched folder before it
/// rescans the plugin that asked for it, by default: an editor's save, a
/// copy of a folder of scripts, an installer's burst of writes all settle
/// well within it, so they cost one rescan, and a webhook URL pasted into a
/// new script is in the register within a minute.
pub const DEFAULT_RESCAN_AFTER_CHANGE: Duration = Duration::from_secs(30);
/// The shortest `rescan_after_change`: below a second, one save written in
/// steps (truncate, write, rename) would rescan the plugin twice.
pub const MIN_RESCAN_AFTER_CHANGE: Duration = Duration::from_secs(1);
/// Directories the service watches at most, over all plugins (a recursive
/// watch counts each directory below it, as inotify does): each costs the
/// kernel about a kilobyte, and the whole machine shares
/// `fs.inotify.max_user_watches` (8192 on older kernels). A folder that
/// would go over it is scanned on the schedule alone.
pub const DEFAULT_MAX_WATCHED_DIRS: usize = 2048;
/// The highest `max_watched_dirs` accepted: far beyond it a tree is better
/// scanned on the schedule than watched.
pub const MAX_WATCHED_DIRS_CEILING: usize = 65_536;

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
/// 1970-01-01 was a Thursday: weekly steps start on Monday 1970-01-05.
const MONDAY_OFFSET: u64 = 4 * DAY;

/// What `every` may be, as the error says.
const ACCEPTED: &str = "5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 1d or 7d (Mondays)";

/// `[schedule]` as written. Both fields are optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// How often to scan, as a step of the UTC clock: `"6h"` scans at 00:00,
    /// 06:00, 12:00 and 18:00 UTC. One of 5m, 10m, 15m, 20m, 30m, 1h, 2h,
    /// 3h, 4h, 6h, 8h, 12h, 1d, 7d. Default `"6h"`.
    #[serde(default)]
    pub every: Option<toml::Value>,
    /// Longest random delay added to each scheduled scan, so a fleet does
    /// not scan (and call Microsoft 365) at the same second. `"0s"` turns it
    /// off. Default a tenth of `every`; at most half of it.
    #[serde(default)]
    pub jitter: Option<toml::Value>,
    /// While batches wait in the spool (the collector was down at the last
    /// scan), how often they are pushed between scans. Default `"15m"`; at
    /// least `"10s"`, at most `every`.
    #[serde(default)]
    pub flush_every: Option<toml::Value>,
    /// After a change in a folder a plugin asked to have watched (its
    /// granted scripts, say), how long the service waits before it rescans
    /// that plugin alone; changes meanwhile are rescanned together. Default
    /// `"30s"`; at least `"1s"`.
    #[serde(default)]
    pub rescan_after_change: Option<toml::Value>,
    /// Directories watched at most, over all plugins, each directory below a
    /// watched folder counted; a folder over it is scanned on the schedule
    /// alone, with a warning. Default 2048; 0 watches no plugin folder.
    #[serde(default)]
    pub max_watched_dirs: Option<usize>,
}

/// The schedule the agent runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The step between scans.
    pub every: Duration,
    /// The longest random delay after each step.
    pub jitter: Duration,
    /// How often waiting batches are pushed between scans.
    pub flush_every: Duration,
    /// The wait between a change in a watched folder and the rescan.
    pub rescan_after_change: Duration,
    /// Directories watched at most, over all plugins.
    pub max_watched_dirs: usize,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            every: DEFAULT_EVERY,
            jitter: DEFAULT_EVERY / DEFAULT_JITTER_DIVISOR,
            flush_every: DEFAULT_FLUSH_EVERY,
            rescan_after_change: DEFAULT_RESCAN_AFTER_CHANGE,
            max_watched_dirs: DEFAULT_MAX_WATCHED_DIRS,
        }
    }
}

impl ScheduleConfig {
    /// Check and apply defaults. Errors name the value and one that works.
    pub(super) fn resolve(&self) -> Result<Schedule, String> {
        let every = match &self.every {
            None => DEFAULT_EVERY,
            Some(v) => {
                let d = duration_value("every", v, "\"6h\"")?;
                if !is_calendar_step(d) {
                    return Err(format!(
                        "[schedule] every = {}: scans start at fixed times of the UTC day, so every must divide an \
                         hour or a day; use one of {ACCEPTED}",
                        show(v)
                    ));
                }
                d
            }
        };
        let default_jitter = every / DEFAULT_JITTER_DIVISOR;
        let jitter = match &self.jitter {
            None => default_jitter,
            Some(v) => {
                let d = duration_value("jitter", v, "\"30m\"")?;
                let max = every / MAX_JITTER_DIVISOR;
                if d > max {
                    return Err(format!(
                        "[schedule] jitter = {} is more than half of every ({}), so a delayed scan could run into \
                         the next one; use at most \"{}\" (the default is \"{}\", a tenth)",
                        show(v),
                        format_duration(every),
                        format_duration(max),
                        format_duration(default_jitter)
                    ));
                }
                d
            }
        };
        let flush_every = match &self.flush_every {
            None => DEFAULT_FLUSH_EVERY.min(every),
            Some(v) => {
                let d = duration_value("flush_every", v, "\"15m\"")?;
                if d < MIN_FLUSH_EVERY || d > every {
                    return Err(format!(
                        "[schedule] flush_every = {} must be between \"{}\" and every ({}); the default is \"{}\"",
                        show(v),
                        format_duration(MIN_FLUSH_EVERY),
                        format_duration(every),
                        format_duration(DEFAULT_FLUSH_EVERY.min(every))
                    ));
                }
                d
            }
        };
        let rescan_after_change = match &self.rescan_after_change {
            None => DEFAULT_RESCAN_AFTER_CHANGE,
            Some(v) => {
                let d = duration_value("rescan_after_change", v, "\"30s\"")?;
                if d < MIN_RESCAN_AFTER_CHANGE {
                    return Err(format!(
                        "[schedule] rescan_after_change = {} is too short to let a save settle; use at least \"{}\" \
                         (the default is \"{}\")",
                        show(v),
                        format_duration(MIN_RESCAN_AFTER_CHANGE),
                        format_duration(DEFAULT_RESCAN_AFTER_CHANGE)
                    ));
                }
                d
            }
        };
        let max_watched_dirs = self.max_watched_dirs.unwrap_or(DEFAULT_MAX_WATCHED_DIRS);
        if max_watched_dirs > MAX_WATCHED_DIRS_CEILING {
            return Err(format!(
                "[schedule] max_watched_dirs = {max_watched_dirs} is over {MAX_WATCHED_DIRS_CEILING}; a tree that \
                 large is better scanned on the schedule: use at most {MAX_WATCHED_DIRS_CEILING} (the default is \
                 {DEFAULT_MAX_WATCHED_DIRS})"
            ));
        }
        Ok(Schedule { every, jitter, flush_every, rescan_after_change, max_watched_dirs })
    }
}

fn show(v: &toml::Value) -> String {
    v.to_string()
}

fn duration_value(field: &str, v: &toml::Value, example: &str) -> Result<Duration, String> {
    let toml::Value::String(text) = v else {
        return Err(format!(
            "[schedule] {field} = {}: write a duration in quotes with its unit, e.g. {field} = {example} (s, m, h, d)",
            show(v)
        ));
    };
    parse_duration(text).map_err(|why| format!("[schedule] {field} = {}: {why}, e.g. {field} = {example}", show(v)))
}

/// `"90s"`, `"30m"`, `"6h"`, `"1d"`, `"1h30m"`: numbers each with a unit
/// (s, m, h, d, w).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the duration is empty".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => MINUTE,
            'h' => HOUR,
            'd' => DAY,
            'w' => WEEK,
            _ => return Err(format!("`{c}` is not a unit; write a number followed by s, m, h or d")),
        };
        if digits.is_empty() {
            return Err(format!("the unit `{c}` has no number before it"));
        }
        let n: u64 = digits.parse().map_err(|_| "the number is too large".to_string())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .filter(|&t| t <= 366 * DAY)
            .ok_or_else(|| "longer than a year".to_string())?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!("`{digits}` has no unit; write a number followed by s, m, h or d"));
    }
    Ok(Duration::from_secs(total))
}

/// `21600s` as `"6h"`, `5400s` as `"1h30m"`: the form the config takes.
pub fn format_duration(d: Duration) -> String {
    let mut s = d.as_secs();
    if s == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, name) in [(DAY, 'd'), (HOUR, 'h'), (MINUTE, 'm'), (1, 's')] {
        if s >= unit {
            out.push_str(&format!("{}{name}", s / unit));
            s %= unit;
        }
    }
    out
}

fn is_calendar_step(d: Duration) -> bool {
    let s = d.as_secs();
    let divides_an_hour = s < HOUR && HOUR.is_multiple_of(s);
    let divides_a_day = s <= DAY && s.is_multiple_of(HOUR) && DAY.is_multiple_of(s);
    d >= MIN_EVERY && d.subsec_nanos() == 0 && (divides_an_hour || divides_a_day || s == WEEK)
}

impl Schedule {
    /// The same steps as systemd's `OnCalendar=` expression, in UTC.
    pub fn on_calendar(&self) -> String {
        let s = self.every.as_secs();
        if s == WEEK {
            "Mon *-*-* 00:00:00 UTC".into()
        } else if s == DAY {
            "*-*-* 00:00:00 UTC".into()
        } else if s >= HOUR {
            format!("*-*-* 00/{}:00:00 UTC", s / HOUR)
        } else {
            format!("*-*-* *:00/{}:00 UTC", s / MINUTE)
        }
    }

    /// The first step strictly after `now` (seconds since the Unix epoch,
    /// UTC), as the timer computes it.
    pub fn next_step_after(&self, now_secs: u64) -> u64 {
        let period = self.every.as_secs().max(1);
        let offset = if period == WEEK { MONDAY_OFFSET } else { 0 };
        let since = now_secs.saturating_sub(offset);
        offset + (since / period + 1) * period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(every: Option<&str>, jitter: Option<&str>) -> Result<Schedule, String> {
        let text = |v: Option<&str>| v.map(|s| toml::Value::String(s.into()));
        ScheduleConfig { every: text(every), jitter: text(jitter), ..ScheduleConfig::default() }.resolve()
    }

    #[test]
    fn defaults_are_six_hours_with_a_tenth_of_jitter() {
        let s = resolve(None, None).unwrap();
        assert_eq!((s.every, s.jitter), (Duration::from_secs(6 * 3600), Duration::from_secs(36 * 60)));
        assert_eq!(resolve(Some("30m"), None).unwrap().jitter, Duration::from_secs(180));
        assert_eq!(resolve(Some("1h"), Some("0s")).unwrap().jitter, Duration::ZERO);
    }

    #[test]
    fn durations_parse_and_print_back() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(" 90s "), Ok(Duration::from_secs(90)));
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(7 * DAY)), "7d");
        for bad in ["", "6", "h", "6 hours", "-1h", "99999999999999999999h", "400d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn every_must_be_a_step_of_the_clock_and_the_error_lists_them() {
        for ok in ["5m", "15m", "30m", "1h", "60m", "4h", "6h", "12h", "24h", "1d", "7d", "1w"] {
            assert!(resolve(Some(ok), None).is_ok(), "{ok}");
        }
        for bad in ["1m", "7m", "45m", "5h", "7h", "2d", "90m"] {
            let e = resolve(Some(bad), None).unwrap_err();
            assert!(e.contains(&format!("every = \"{bad}\"")) && e.contains(ACCEPTED), "{e}");
        }
        let e = resolve(Some("6 hours"), None).unwrap_err();
        assert!(e.contains("not a unit") && e.contains("every = \"6h\""), "{e}");
        let e = ScheduleConfig { every: Some(toml::Value::Integer(6)), ..ScheduleConfig::default() }.resolve().unwrap_err();
        assert!(e.contains("every = 6") && e.contains("in quotes"), "{e}");
    }

    #[test]
    fn jitter_is_bounded_by_half_of_every() {
        assert_eq!(resolve(Some("6h"), Some("3h")).unwrap().jitter, Duration::from_secs(3 * 3600));
        let e = resolve(Some("6h"), Some("4h")).unwrap_err();
        assert!(e.contains("jitter = \"4h\"") && e.contains("at most \"3h\"") && e.contains("\"36m\""), "{e}");
    }

    #[test]
    fn flush_every_defaults_to_a_quarter_hour_within_every() {
        assert_eq!(resolve(None, None).unwrap().flush_every, Duration::from_secs(900));
        assert_eq!(resolve(Some("5m"), None).unwrap().flush_every, Duration::from_secs(300));
        let flush = |v: &str| ScheduleConfig { flush_every: Some(toml::Value::String(v.into())), ..ScheduleConfig::default() }.resolve();
        assert_eq!(flush("30s").unwrap().flush_every, Duration::from_secs(30));
        let e = flush("1s").unwrap_err();
        assert!(e.contains("flush_every = \"1s\"") && e.contains("between \"10s\" and every (6h)"), "{e}");
        assert!(flush("7h").is_err());
    }

    #[test]
    fn rescan_after_change_has_a_floor_and_the_watch_cap_a_ceiling() {
        assert_eq!(resolve(None, None).unwrap().rescan_after_change, Duration::from_secs(30));
        let wait = |v: &str| ScheduleConfig { rescan_after_change: Some(toml::Value::String(v.into())), ..ScheduleConfig::default() }.resolve();
        assert_eq!(wait("1s").unwrap().rescan_after_change, Duration::from_secs(1));
        let e = wait("0s").unwrap_err();
        assert!(e.contains("rescan_after_change = \"0s\"") && e.contains("at least \"1s\""), "{e}");
        let cap = |n: usize| ScheduleConfig { max_watched_dirs: Some(n), ..ScheduleConfig::default() }.resolve();
        assert_eq!(cap(0).unwrap().max_watched_dirs, 0);
        assert_eq!(resolve(None, None).unwrap().max_watched_dirs, DEFAULT_MAX_WATCHED_DIRS);
        assert!(cap(MAX_WATCHED_DIRS_CEILING + 1).unwrap_err().contains("at most 65536"));
    }

    #[test]
    fn calendar_expressions_and_next_steps_agree() {
        let at = |every: &str| resolve(Some(every), None).unwrap();
        assert_eq!(at("6h").on_calendar(), "*-*-* 00/6:00:00 UTC");
        assert_eq!(at("15m").on_calendar(), "*-*-* *:00/15:00 UTC");
        assert_eq!(at("1d").on_calendar(), "*-*-* 00:00:00 UTC");
        assert_eq!(at("7d").on_calendar(), "Mon *-*-* 00:00:00 UTC");
        // 2026-12-01T16:39:13Z (a Tuesday).
        let now = 1_796_143_153;
        assert_eq!(at("6h").next_step_after(now), 1_796_148_000, "18:00 that day");
        assert_eq!(at("15m").next_step_after(now), 1_796_143_500, "16:45");
        assert_eq!(at("6h").next_step_after(1_796_148_000), 1_796_169_600, "a step is never now");
        // The next Monday, 2026-12-07T00:00:00Z.
        assert_eq!(at("7d").next_step_after(now), 1_796_601_600);
    }
}
