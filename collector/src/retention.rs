//! How long envelopes and history are kept (`[retention]` in the config
//! file), and the sweep `serve` runs to prune what is older. What is never
//! pruned is in [`crate::store::retention`].
//!
//! The default keeps everything, as the collector always did: envelopes are
//! the evidence an MSP may be asked for, and only the operator knows how
//! long a contract or an auditor wants it kept.

use crate::store::retention::{Cutoffs, Pruned};
use crate::store::Store;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// How often `serve` prunes: often enough that nothing lingers a day past
/// its time, rarely enough that the scan over batches costs nothing.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);

/// The shortest period accepted: less would prune the envelopes of
/// deliveries an agent may still be re-sending from its spool.
pub const MIN_DAYS: u32 = 7;

/// The `[retention]` section, as written: periods such as `"400d"`, `"8w"`,
/// `"3y"`; a kind left out is kept for ever.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// The signed batch envelopes.
    #[serde(default)]
    pub envelopes: Option<String>,
    /// Connector history and the SIEM feed's finding events.
    #[serde(default)]
    pub history: Option<String>,
}

impl RetentionConfig {
    /// Check both periods.
    pub fn check(&self) -> Result<(), String> {
        self.days().map(|_| ())
    }

    /// Whether anything is ever pruned.
    pub fn prunes(&self) -> bool {
        self.envelopes.is_some() || self.history.is_some()
    }

    /// (envelopes, history) in days.
    fn days(&self) -> Result<(Option<u32>, Option<u32>), String> {
        let parse = |key: &str, value: &Option<String>| value.as_deref().map(|v| period_days(key, v)).transpose();
        Ok((parse("envelopes", &self.envelopes)?, parse("history", &self.history)?))
    }

    /// What is old enough to prune at `now` (RFC 3339).
    pub fn cutoffs(&self, now: &str) -> Result<Cutoffs, String> {
        let (envelopes, history) = self.days()?;
        let before = |days: u32| crate::timestamp::shift(now, -i64::from(days) * 86_400);
        Ok(Cutoffs { envelopes_before: envelopes.map(before), history_before: history.map(before) })
    }
}

/// `"400d"`, `"8w"`, `"3y"` (a year is 365 days) in days.
fn period_days(key: &str, value: &str) -> Result<u32, String> {
    let refuse = |why: &str| {
        format!(
            "[retention] {key} = {value:?}: {why}; give days, weeks or years, e.g. {key} = \"400d\", \"8w\" or \"3y\" \
             (leave it out to keep them for ever)"
        )
    };
    let value = value.trim();
    let split = value.len().saturating_sub(1);
    let (number, unit) = (value.get(..split).unwrap_or(""), value.get(split..).unwrap_or(""));
    let per = match unit {
        "d" => 1,
        "w" => 7,
        "y" => 365,
        _ => return Err(refuse("the unit must be d, w or y")),
    };
    let n: u32 = number.parse().map_err(|_| refuse("not a whole number before the unit"))?;
    let days = n.checked_mul(per).filter(|d| *d <= 100 * 365).ok_or_else(|| refuse("more than 100 years"))?;
    if days < MIN_DAYS {
        return Err(refuse(&format!("less than {MIN_DAYS} days")));
    }
    Ok(days)
}

impl std::fmt::Display for Pruned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} envelope(s), {} history row(s), {} finding event(s)",
            self.envelopes, self.history, self.finding_events
        )
    }
}

/// Prune as `config` says every [`SWEEP_EVERY`], until `stop` resolves;
/// a failure is logged and tried again next time.
pub async fn sweep(store: Arc<dyn Store>, config: RetentionConfig, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = every.tick() => {}
        }
        let pruned = match config.cutoffs(&crate::timestamp::now()) {
            Ok(cutoffs) => store.prune(&cutoffs, false).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match pruned {
            Ok(p) if p == Pruned::default() => {}
            Ok(p) => tracing::info!("retention: pruned {p}"),
            Err(e) => tracing::warn!("retention: pruning failed, tried again in an hour: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_days_weeks_or_years_and_bad_ones_say_what_works() {
        let config = RetentionConfig { envelopes: Some("400d".into()), history: Some("3y".into()) };
        assert_eq!(config.days().unwrap(), (Some(400), Some(3 * 365)));
        let cutoffs = config.cutoffs("2026-12-02T00:00:00Z").unwrap();
        assert_eq!(cutoffs.envelopes_before.as_deref(), Some("2025-10-28T00:00:00.000000Z"));
        assert_eq!(cutoffs.history_before.as_deref(), Some("2023-12-03T00:00:00.000000Z"));
        assert_eq!(period_days("history", "8w").unwrap(), 56);
        for bad in ["400", "3 months", "-1d", "2d", "1.5y", "200y", ""] {
            let e = period_days("envelopes", bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")) && e.contains("envelopes = \"400d\""), "{e}");
        }
        assert!(!RetentionConfig::default().prunes());
        assert_eq!(RetentionConfig::default().cutoffs("2026-12-02T00:00:00Z").unwrap(), Cutoffs::default());
    }
}
