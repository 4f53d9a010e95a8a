//! What both backends share: JSON columns, sequence numbers, and how an
//! enrollment token that could not be used is explained.

use super::StoreError;
use crate::register::{Current, Plan, Subject};
use plumbline_protocol::batch::ScanBatch;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A JSON column's text.
pub(super) fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("register types serialise")
}

/// A JSON column back.
pub(super) fn from_json<T: DeserializeOwned>(column: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("stored {column} does not parse: {e}")))
}

/// A sequence as stored (signed 64-bit).
pub(super) fn seq_to_db(sequence: u64) -> Result<i64, StoreError> {
    i64::try_from(sequence).map_err(|_| StoreError::Backend(format!("sequence {sequence} is out of range")))
}

/// A stored sequence.
pub(super) fn seq_from_db(sequence: Option<i64>) -> Option<u64> {
    sequence.and_then(|s| u64::try_from(s).ok())
}

/// A token row exists but the conditional update did not take it: why.
pub(super) fn token_refusal(used: bool, expires_at: &str, now: &str) -> StoreError {
    if used {
        StoreError::TokenUsed
    } else if expires_at <= now {
        StoreError::TokenExpired
    } else {
        StoreError::TokenInvalid
    }
}

/// A revoked agent's batch is refused, even one that raced the revocation.
pub(super) fn refuse_revoked(agent_id: &str, revoked: bool) -> Result<(), StoreError> {
    if revoked {
        return Err(StoreError::Revoked(agent_id.to_string()));
    }
    Ok(())
}

/// A sequence not above the last accepted one is a replay (or stale).
pub(super) fn refuse_replayed(last_sequence: Option<u64>, sequence: u64) -> Result<(), StoreError> {
    match last_sequence {
        Some(last) if sequence <= last => Err(StoreError::Replayed { sequence, last }),
        // A counter gone wild (up to i64::MAX) would otherwise become the
        // last accepted number, and refuse every later batch as replayed.
        last if sequence > last.unwrap_or(0).saturating_add(MAX_SEQUENCE_JUMP) => {
            Err(StoreError::SequenceJump { sequence, last: last.unwrap_or(0), max: MAX_SEQUENCE_JUMP })
        }
        _ => Ok(()),
    }
}

/// The largest step between two accepted sequence numbers: a scan every
/// minute for a year is half a million batches; a corrupt counter is more.
pub const MAX_SEQUENCE_JUMP: u64 = 1_000_000;

/// Batches skipped between the last accepted number and `sequence`.
pub(super) fn sequence_gap(last_sequence: Option<u64>, sequence: u64) -> i64 {
    last_sequence.map_or(0, |last| sequence.saturating_sub(last).saturating_sub(1)) as i64
}

/// What a batch applies, and when its history happened ([`history_time`]).
/// `earlier` are the stored envelopes of the earlier parts of its scan, when
/// it is the last part of a split scan (see [`crate::register::parts`]).
pub(super) fn to_apply<'a>(
    batch: &'a super::VerifiedBatch,
    enrolled_at: &str,
    earlier: &[Vec<u8>],
) -> Result<(std::borrow::Cow<'a, ScanBatch>, String), StoreError> {
    let at = history_time(&batch.batch.scan_finished_at, &batch.received_at, enrolled_at);
    let earlier = earlier.iter().map(|e| stored_batch(e)).collect::<Result<Vec<_>, _>>()?;
    // Borrowed unless parts were joined: `incremental::split` copies only
    // the rows that changed (copying the whole batch was 5% of the writer).
    Ok((crate::register::parts::whole(&batch.batch, earlier), at))
}

/// The latest scan recorded of a row's plugin by an agent that still sees
/// it (`NULL` when none): the row's `last_seen` is the later of this and its
/// own column, which an unchanged report does not rewrite. `{t}` is the
/// row's table alias, `{k}` its key column.
const SCANNED: &str = "(SELECT MAX(p.at) FROM sightings s JOIN plugin_scans p
      ON p.tenant_id = s.tenant_id AND p.agent_id = s.agent_id AND p.subject = s.subject AND p.plugin = {t}.plugin
      WHERE s.tenant_id = {t}.tenant_id AND s.subject = '{s}' AND s.key = {t}.{k} AND s.present)";

/// [`SCANNED`] for the connector aliased `t`.
pub(super) fn connector_scanned(t: &str) -> String {
    SCANNED.replace("{t}", t).replace("{s}", Subject::Connector.as_str()).replace("{k}", "key")
}

/// [`SCANNED`] for the finding aliased `t`.
pub(super) fn finding_scanned(t: &str) -> String {
    SCANNED.replace("{t}", t).replace("{s}", Subject::Finding.as_str()).replace("{k}", "id")
}

/// The condition on findings aliased `f` that `filter` names.
pub(super) fn finding_condition(filter: super::FindingFilter) -> &'static str {
    match filter {
        super::FindingFilter::Open => "AND f.status <> 'resolved'",
        super::FindingFilter::Resolved => "AND f.status = 'resolved'",
        super::FindingFilter::All => "",
    }
}

/// The statements that settle `last_seen` ([`Settle`]), PostgreSQL form,
/// for connectors and then findings: by key (`$1` tenant, `$2` the keys as
/// an array) and by plugin (`$1` tenant, `$2` the plugins, `$3` the agent).
pub(super) fn settle_sql() -> [(String, String); 2] {
    let tables = [
        ("connectors", "c", "key", connector_scanned("c"), Subject::Connector),
        ("findings", "f", "id", finding_scanned("f"), Subject::Finding),
    ];
    tables.map(|(table, t, key, scanned, subject)| {
        let set = format!("UPDATE {table} AS {t} SET last_seen = {scanned} WHERE {t}.tenant_id = $1");
        let later = format!("{scanned} > {t}.last_seen");
        let mine = format!(
            "SELECT key FROM sightings WHERE tenant_id = $1 AND agent_id = $3 AND subject = '{}' AND present",
            subject.as_str()
        );
        (
            format!("{set} AND {t}.{key} = ANY($2) AND {later}"),
            format!("{set} AND {t}.plugin = ANY($2) AND {later} AND {t}.{key} IN ({mine})"),
        )
    })
}

/// The digest column of an entry's JSON text.
pub(super) fn digest(json: &str) -> String {
    crate::register::incremental::digest(json)
}

/// What the plan needs written into rows before the scan records move:
/// rows whose agent's sighting stops (not otherwise written), and the
/// plugins whose record steps back (see
/// [`crate::register::incremental::stepping_back`]).
pub(super) struct Settle {
    /// Connector keys.
    pub connectors: Vec<String>,
    /// Finding ids.
    pub findings: Vec<String>,
    /// Plugins.
    pub plugins: Vec<String>,
}

impl Settle {
    pub(super) fn of(plan: &Plan, stepping: &std::collections::HashSet<String>) -> Settle {
        let stops = |subject: Subject, written: std::collections::HashSet<&str>| -> Vec<String> {
            plan.sightings
                .iter()
                .filter(|x| x.subject == subject && !x.present && !written.contains(x.key.as_str()))
                .map(|x| x.key.clone())
                .collect()
        };
        let mut plugins: Vec<String> = stepping.iter().cloned().collect();
        plugins.sort();
        Settle {
            connectors: stops(Subject::Connector, plan.connectors.iter().map(|c| c.entry.key.as_str()).collect()),
            findings: stops(Subject::Finding, plan.findings.iter().map(|f| f.entry.id.as_str()).collect()),
            plugins,
        }
    }
}

/// The scan records a batch writes: the plugins it covers, and those whose
/// record steps back, each for connectors and findings.
pub(super) fn scan_records<'a>(
    covering: &'a std::collections::HashSet<String>,
    stepping: &'a std::collections::HashSet<String>,
) -> Vec<(&'a str, &'static str)> {
    let mut plugins: Vec<&str> = covering.union(stepping).map(String::as_str).collect();
    plugins.sort();
    plugins.iter().flat_map(|p| [(*p, Subject::Connector.as_str()), (*p, Subject::Finding.as_str())]).collect()
}

/// Connector keys the plan's findings name that `current` has not loaded:
/// the alerts name them.
pub(super) fn unnamed(current: &Current, plan: &Plan) -> Vec<String> {
    let mut keys: Vec<String> = plan
        .findings
        .iter()
        .map(|f| &f.entry.connector_key)
        .filter(|k| !current.connectors.contains_key(*k) && !plan.connectors.iter().any(|c| &c.entry.key == *k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The scan id under which the earlier parts of `batch` are stored, when
/// it is the last part of a split scan: only then are they loaded.
pub(super) fn last_part_scan(batch: &plumbline_protocol::batch::ScanBatch) -> Option<&str> {
    batch.part.as_ref().filter(|p| p.is_last()).map(|p| p.scan_id.as_str())
}

/// The batch in a stored envelope. It was verified when it arrived; this is
/// the collector reading its own evidence back.
fn stored_batch(envelope: &[u8]) -> Result<plumbline_protocol::batch::ScanBatch, StoreError> {
    use base64::Engine as _;
    let damaged = |e: String| StoreError::Backend(format!("a stored envelope does not read back: {e}"));
    let env = plumbline_protocol::envelope::Envelope::from_json(envelope).map_err(|e| damaged(e.to_string()))?;
    let payload = base64::engine::general_purpose::STANDARD.decode(&env.payload).map_err(|e| damaged(e.to_string()))?;
    serde_json::from_slice(&payload).map_err(|e| damaged(e.to_string()))
}

/// When a batch's history happened: the end of its scan, so that a thousand
/// scans queued through an outage keep their own times rather than the
/// minute they were delivered. Bounded by when it was received (a clock
/// ahead) and by when its agent enrolled (a clock behind, or a made-up
/// date: nothing is signed before the key exists). Unreadable: received.
pub(super) fn history_time(scan_finished_at: &str, received_at: &str, enrolled_at: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(scanned) = time::OffsetDateTime::parse(scan_finished_at.trim(), &Rfc3339) else {
        return received_at.to_string();
    };
    let scanned = crate::timestamp::format(scanned);
    if scanned.as_str() >= received_at {
        received_at.to_string()
    } else if scanned.as_str() < enrolled_at {
        enrolled_at.to_string()
    } else {
        scanned
    }
}

/// Sightings of agents that delivered since this time still count.
pub(super) fn trusted_since(received_at: &str) -> String {
    crate::timestamp::shift(received_at, -crate::register::SIGHTING_TRUST_DAYS * 86_400)
}

/// The audit trail's `after` of an accepted risk.
pub(super) fn acceptance_json(finding_id: &str, a: &super::console::Acceptance) -> String {
    serde_json::json!({"finding_id": finding_id, "rationale": a.rationale, "approver": a.approver, "expires_on": a.expires_on})
        .to_string()
}

/// The audit trail's `after` of a review decision.
pub(super) fn decision_json(change_id: i64, d: &super::console::Decision) -> String {
    serde_json::json!({"change_id": change_id, "decision": d.decision, "note": d.note}).to_string()
}

#[cfg(test)]
mod tests {
    use super::history_time;

    #[test]
    fn history_keeps_the_scan_time_within_enrollment_and_receipt() {
        let (enrolled, received) = ("2026-11-01T00:00:00.000000Z", "2026-11-20T12:00:00.000000Z");
        // Queued through an outage: its own time.
        assert_eq!(history_time("2026-11-18T06:00:05Z", received, enrolled), "2026-11-18T06:00:05.000000Z");
        assert_eq!(history_time("2026-11-18T07:00:05+01:00", received, enrolled), "2026-11-18T06:00:05.000000Z");
        // A clock ahead, a clock behind, and text that is no time.
        assert_eq!(history_time("2027-01-01T00:00:00Z", received, enrolled), received);
        assert_eq!(history_time("1970-01-01T00:00:00Z", received, enrolled), enrolled);
        assert_eq!(history_time("yesterday", received, enrolled), received);
    }
}
