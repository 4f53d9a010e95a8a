//! What `/metrics` exposes, in the Prometheus text format (0.0.4): ingests
//! counted by outcome and timed, the alert outbox by destination and state,
//! and agents by when they last delivered. Kept by hand, not with a metrics
//! crate: a few counters, one histogram, and what the store counts per scrape.

use crate::store::alerts::OutboxCount;
use crate::store::AgentRecord;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the ingest latency histogram, in seconds: from a small
/// batch on SQLite (a few ms) to a 64 MiB one (tens of seconds).
pub const INGEST_SECONDS_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Windows for `plumbline_agents{last_seen=...}`, in hours, with their labels:
/// the console calls an agent silent after a day by default.
pub const LAST_SEEN_WINDOWS: &[(i64, &str)] = &[(1, "1h"), (24, "24h"), (24 * 7, "7d")];

/// Counters kept since the process started.
#[derive(Debug, Default)]
pub struct Metrics {
    ingest: Mutex<Ingests>,
}

#[derive(Debug, Default)]
struct Ingests {
    by_outcome: BTreeMap<&'static str, u64>,
    buckets: Vec<u64>,
    sum_seconds: f64,
    count: u64,
}

impl Metrics {
    /// One ingest request, answered with `outcome` (`stored`, `duplicate`,
    /// or the refusal's code) after `took`.
    pub fn ingest(&self, outcome: &'static str, took: Duration) {
        let mut m = self.ingest.lock().unwrap_or_else(|p| p.into_inner());
        *m.by_outcome.entry(outcome).or_insert(0) += 1;
        if m.buckets.is_empty() {
            m.buckets = vec![0; INGEST_SECONDS_BUCKETS.len()];
        }
        let secs = took.as_secs_f64();
        for (i, le) in INGEST_SECONDS_BUCKETS.iter().enumerate() {
            if secs <= *le {
                m.buckets[i] += 1;
            }
        }
        m.sum_seconds += secs;
        m.count += 1;
    }

    /// The text a scrape gets; `now` is RFC 3339, as the store writes times.
    pub fn render(&self, outbox: &[OutboxCount], agents: &[AgentRecord], uploads_in_flight: usize, now: &str) -> String {
        let mut out = String::new();
        let m = self.ingest.lock().unwrap_or_else(|p| p.into_inner());
        head(&mut out, "plumbline_ingest_requests_total", "counter", "Ingest requests answered, by outcome (stored, duplicate, or the refusal's code).");
        for (outcome, n) in &m.by_outcome {
            let _ = writeln!(out, "plumbline_ingest_requests_total{{outcome=\"{outcome}\"}} {n}");
        }
        head(&mut out, "plumbline_ingest_duration_seconds", "histogram", "Time from reading an ingest request to answering it.");
        for (i, le) in INGEST_SECONDS_BUCKETS.iter().enumerate() {
            let n = m.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "plumbline_ingest_duration_seconds_bucket{{le=\"{le}\"}} {n}");
        }
        let _ = writeln!(out, "plumbline_ingest_duration_seconds_bucket{{le=\"+Inf\"}} {}", m.count);
        let _ = writeln!(out, "plumbline_ingest_duration_seconds_sum {}", m.sum_seconds);
        let _ = writeln!(out, "plumbline_ingest_duration_seconds_count {}", m.count);
        drop(m);
        head(&mut out, "plumbline_ingest_in_flight", "gauge", "Uploads admitted and not yet answered (bounded; over the bound is a 429).");
        let _ = writeln!(out, "plumbline_ingest_in_flight {uploads_in_flight}");

        head(&mut out, "plumbline_alert_outbox_by_state", "gauge", "Alerts waiting to be sent (pending) or kept after a refusal (refused).");
        for state in ["pending", "refused"] {
            // Always present, so an alerting rule on them has a series to watch.
            let total: u64 = outbox.iter().filter(|o| o.state == state).map(|o| o.count).sum();
            let _ = writeln!(out, "plumbline_alert_outbox_by_state{{state=\"{state}\"}} {total}");
        }
        head(&mut out, "plumbline_alert_outbox", "gauge", "Alerts in the outbox, by destination and state (pending, sent, refused).");
        for o in outbox {
            let _ = writeln!(
                out,
                "plumbline_alert_outbox{{destination=\"{}\",state=\"{}\"}} {}",
                label(&o.destination),
                label(&o.state),
                o.count
            );
        }

        head(
            &mut out,
            "plumbline_agents",
            "gauge",
            "Agents not revoked, by their last delivery: within 1h, 1h to 24h, 24h to 7d, older, or never.",
        );
        let live: Vec<&AgentRecord> = agents.iter().filter(|a| a.revoked_at.is_none()).collect();
        let mut within_previous = 0;
        for (hours, name) in LAST_SEEN_WINDOWS {
            let since = crate::timestamp::shift(now, -hours * 3600);
            let within = live.iter().filter(|a| a.last_seen_at.as_deref().is_some_and(|at| at >= since.as_str())).count();
            let _ = writeln!(out, "plumbline_agents{{last_seen=\"{name}\"}} {}", within - within_previous);
            within_previous = within;
        }
        let never = live.iter().filter(|a| a.last_seen_at.is_none()).count();
        let _ = writeln!(out, "plumbline_agents{{last_seen=\"older\"}} {}", live.len() - never - within_previous);
        let _ = writeln!(out, "plumbline_agents{{last_seen=\"never\"}} {never}");
        head(&mut out, "plumbline_agents_revoked", "gauge", "Revoked agents.");
        let _ = writeln!(out, "plumbline_agents_revoked {}", agents.len() - live.len());
        head(&mut out, "plumbline_agent_missing_batches", "gauge", "Batches never received, summed over agents (gaps in their sequence numbers).");
        let _ = writeln!(out, "plumbline_agent_missing_batches {}", agents.iter().map(|a| a.missing_batches).sum::<u64>());
        out
    }
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value escaped as the format asks (backslash, quote, newline).
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingests_are_counted_by_outcome_and_bucketed_cumulatively() {
        let m = Metrics::default();
        m.ingest("stored", Duration::from_millis(3));
        m.ingest("stored", Duration::from_millis(40));
        m.ingest("bad_signature", Duration::from_secs(60));
        let text = m.render(&[], &[], 2, "2026-12-01T12:00:00.000000Z");
        for line in [
            "plumbline_ingest_requests_total{outcome=\"stored\"} 2",
            "plumbline_ingest_requests_total{outcome=\"bad_signature\"} 1",
            "plumbline_ingest_duration_seconds_bucket{le=\"0.005\"} 1",
            "plumbline_ingest_duration_seconds_bucket{le=\"0.05\"} 2",
            "plumbline_ingest_duration_seconds_bucket{le=\"30\"} 2",
            "plumbline_ingest_duration_seconds_bucket{le=\"+Inf\"} 3",
            "plumbline_ingest_duration_seconds_count 3",
            "plumbline_ingest_in_flight 2",
            "plumbline_alert_outbox_by_state{state=\"pending\"} 0",
            "plumbline_agents{last_seen=\"never\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
