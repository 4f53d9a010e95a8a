//! Pushing the spool to the collector: oldest first, one batch at a time,
//! `POST {collector}/v1/ingest` with the envelope as the body, gzipped
//! (`Content-Encoding: gzip`; sent as it is to a collector that refuses
//! that). The spool keeps the envelope uncompressed: it is what is signed
//! and what `plumbline verify` reads. With the agent's key at hand the
//! request is signed too (`Authorization: Plumbline-Agent …`), so that the
//! collector admits it by this agent's own limits before reading the body.
//! An upload is timed by its progress, not as a whole.
//!
//! Each answer is one of four things:
//! - an acknowledgement (200 with `stored` or `duplicate`, for this batch's
//!   digest and sequence): the batch is deleted;
//! - `replayed_sequence` with the collector's last accepted sequence: this
//!   agent's counter went back (a lost `spool/sequence`, a restored backup).
//!   The batch is re-signed above that number, once, and sent again; the
//!   operator is told. Without the key at hand it waits instead;
//! - a refusal for good: only the collector's own typed refusals
//!   ([`FINAL_REFUSALS`], an [`ErrorBody`] with one of those codes). The
//!   batch moves to `rejected/` and the flush goes on with the next;
//! - anything else (connection refused, timeout, 5xx, 408, 429, a redirect,
//!   a 4xx from a proxy or WAF that is not an [`ErrorBody`], a code this
//!   agent does not know, `unknown_agent` after a collector restore, an
//!   answer that is not an acknowledgement of this batch): retried with
//!   capped exponential backoff and jitter, honouring `Retry-After`; if it
//!   still fails, the flush stops there, so order is kept, and the batch
//!   waits for the next run.

use super::client::{gzip, Answer, Body, Collector, UploadClock};
use super::lock::{SpoolLock, FLUSH_LOCK_FILE};
use super::spool::{read_batch, Rejection, Spool, SpoolLimits, SpooledBatch};
use super::{batch, DeliveryError};
use crate::config::RetryPolicy;
use plumbline_protocol::envelope::{payload_digest, Envelope};
use plumbline_protocol::identity::AgentKey;
use plumbline_protocol::messages::{ErrorBody, IngestResponse};
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// What a flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// The sequence of the batch this run added, if it added one.
    pub spooled: Option<u64>,
    /// Batches the collector acknowledged (and that were deleted).
    pub delivered: usize,
    /// Batches still waiting.
    pub queued: usize,
    /// Batches refused for good in this flush (now in `rejected/`).
    pub rejected: Vec<Rejection>,
    /// Batches re-signed under a new number because the collector had
    /// already accepted a higher one from this agent.
    pub renumbered: Vec<Renumbered>,
    /// Why the flush stopped early, if it did.
    pub error: Option<String>,
}

impl fmt::Display for FlushReport {
    /// `delivery: 2 delivered, 1 queued, 0 rejected`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "delivery: {} delivered, {} queued, {} rejected",
            self.delivered,
            self.queued,
            self.rejected.len()
        )
    }
}

/// A batch that went out under a new sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renumbered {
    /// Its number in the spool.
    pub from: u64,
    /// The number it was re-signed with.
    pub to: u64,
    /// The last sequence the collector had accepted from this agent.
    pub collector_last: u64,
}

/// The collector's refusals that no retry can change. Any other code, and
/// any 4xx that is not an [`ErrorBody`], may pass (see the module header).
pub const FINAL_REFUSALS: &[&str] =
    &["too_large", "malformed", "bad_signature", "revoked_agent", "wrong_agent", "wrong_tenant", "replayed_sequence", "sequence_jump"];

/// The result of pushing one batch.
#[derive(Debug)]
enum Outcome {
    Acknowledged,
    Refused { status: u16, error: String, message: String, last_accepted: Option<u64> },
    Failed(String),
}

/// Push every waiting batch, oldest first, until one still fails. `key`
/// lets a batch whose number the collector has already seen be re-signed
/// above it; without it such a batch waits.
///
/// The spool is locked only while it changes, one batch at a time, never
/// across a push: a scan that ends during a long flush appends its batch at
/// once (and this flush sends it too, as it takes the oldest batch each
/// time). `flush.lock`, held throughout, keeps a second flush from pushing
/// alongside; one that finds it held leaves the batches to the first.
pub async fn flush(
    dir: &Path,
    limits: SpoolLimits,
    collector: &Collector,
    retry: RetryPolicy,
    key: Option<&AgentKey>,
) -> Result<FlushReport, DeliveryError> {
    let mut report = FlushReport::default();
    drop(Spool::open(dir, limits)?); // creates the directory
    let _flushing = match SpoolLock::acquire_file(dir, FLUSH_LOCK_FILE, Duration::ZERO) {
        Ok(lock) => lock,
        Err(DeliveryError::SpoolBusy { holder, .. }) => {
            report.queued = super::spool::status(dir)?.queued;
            report.error = Some(format!("another plumbline process{holder} is pushing this spool and sends these batches too"));
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    loop {
        let Some(queued) = Spool::open(dir, limits)?.queued()?.into_iter().next() else { break };
        let (batch, outcome) = push_renumbering(dir, limits, collector, retry, key, queued, &mut report).await?;
        let mut spool = Spool::open(dir, limits)?;
        match outcome {
            Outcome::Acknowledged => {
                spool.acknowledge(&batch)?;
                tracing::info!(sequence = batch.sequence, "batch delivered");
                report.delivered += 1;
            }
            Outcome::Refused { status, error, message, .. } => {
                let rejection = Rejection {
                    sequence: batch.sequence,
                    rejected_at: crate::platform::clock::now_rfc3339(),
                    status,
                    error,
                    message,
                };
                spool.reject(&batch, &rejection)?;
                // The caller reports rejections (FlushReport::rejected).
                tracing::info!(
                    sequence = batch.sequence,
                    "the collector refused batch {} ({}: {}); moved to {}",
                    batch.sequence,
                    rejection.error,
                    rejection.message,
                    spool.dir().join("rejected").display()
                );
                report.rejected.push(rejection);
            }
            Outcome::Failed(message) => {
                report.error = Some(format!("batch {}: {message}", batch.sequence));
                break;
            }
        }
    }
    let mut spool = Spool::open(dir, limits)?;
    report.queued = spool.queued()?.len();
    match &report.error {
        Some(e) => spool.record_error(e)?,
        None if report.queued == 0 => spool.clear_error()?,
        None => {}
    }
    Ok(report)
}

/// Push one spooled batch; on `replayed_sequence` with the collector's last
/// number, re-sign it above that number and push it once more. Returns the
/// batch as it now is in the spool, and the final outcome.
async fn push_renumbering(
    dir: &Path,
    limits: SpoolLimits,
    collector: &Collector,
    retry: RetryPolicy,
    key: Option<&AgentKey>,
    mut batch: SpooledBatch,
    report: &mut FlushReport,
) -> Result<(SpooledBatch, Outcome), DeliveryError> {
    let mut renumbered = false;
    loop {
        let body = read_batch(&batch)?;
        let outcome = match expected_ack(&body) {
            Ok((digest, signer)) => {
                // The request is signed only by the key that signed the
                // envelope: a batch from before a re-enrollment goes unsigned.
                let signing = key.filter(|k| k.agent_id() == signer);
                push_one(collector, body.clone(), &digest, batch.sequence, retry, signing).await
            }
            Err(why) => Outcome::Refused {
                status: 0,
                error: "damaged".into(),
                message: format!("not sent: the spooled file is not a signed batch ({why})"),
                last_accepted: None,
            },
        };
        let last = match &outcome {
            Outcome::Refused { error, last_accepted: Some(last), .. } if error == "replayed_sequence" && !renumbered => *last,
            _ => return Ok((batch, outcome)),
        };
        let Some(key) = key else {
            let why = format!(
                "the collector has already accepted sequence {last} from this agent, so batch {} must be re-signed above it; \
                 run `plumbline spool flush` or `plumbline run` as the account that can read the agent key",
                batch.sequence
            );
            return Ok((batch, Outcome::Failed(why)));
        };
        let resign = match batch::resign(&body, key) {
            Ok(f) => f,
            Err(why) => return Ok((batch, refused_locally(why))),
        };
        let from = batch.sequence;
        batch = Spool::open(dir, limits)?.renumber(&batch, last, resign)?;
        tracing::info!(from, to = batch.sequence, collector_last = last, "batch re-numbered above the collector's last");
        report.renumbered.push(Renumbered { from, to: batch.sequence, collector_last: last });
        renumbered = true;
    }
}

fn refused_locally(why: String) -> Outcome {
    Outcome::Refused { status: 0, error: "damaged".into(), message: format!("not re-signed: {why}"), last_accepted: None }
}

/// The digest an acknowledgement of this body must name, and the agent the
/// envelope says signed it; `Err` if the body is not an envelope with a
/// base64 payload (damaged in the spool).
fn expected_ack(body: &[u8]) -> Result<(String, String), String> {
    use base64::Engine as _;
    let env = Envelope::from_json(body).map_err(|e| e.to_string())?;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(&env.payload)
        .map_err(|e| format!("payload is not base64: {e}"))?;
    Ok((payload_digest(&payload), env.claimed_keyid().unwrap_or_default().to_string()))
}

async fn push_one(
    collector: &Collector,
    body: Vec<u8>,
    digest: &str,
    sequence: u64,
    retry: RetryPolicy,
    key: Option<&AgentKey>,
) -> Outcome {
    let attempts = retry.max_attempts.max(1);
    let mut last = String::new();
    let gzipped = match collector.takes_gzip() {
        true => {
            let body = body.clone();
            tokio::task::spawn_blocking(move || gzip(&body)).await.ok()
        }
        false => None,
    };
    let mut wire = match gzipped {
        Some(g) => Body::Gzip(g),
        None => Body::Plain(body.clone()),
    };
    for attempt in 0..attempts {
        let mut answer = collector.upload("v1/ingest", wire.clone(), key, UploadClock::default()).await;
        // A collector that predates gzip reads the compressed bytes as a
        // broken envelope (400), or names the encoding (415): send it as is,
        // at once and from then on.
        if matches!((&wire, &answer), (Body::Gzip(_), Ok(a)) if a.status == 400 || a.status == 415) {
            tracing::info!(sequence, "the collector did not take the gzipped batch; sending it and the rest uncompressed");
            collector.refuses_gzip();
            wire = Body::Plain(body.clone());
            answer = collector.upload("v1/ingest", wire.clone(), key, UploadClock::default()).await;
        }
        let (message, retry_after) = match answer {
            Ok(answer) => match judge(&answer, digest, sequence) {
                Judged::Ack => return Outcome::Acknowledged,
                Judged::Refused { error, message, last_accepted } => {
                    return Outcome::Refused { status: answer.status, error, message, last_accepted }
                }
                Judged::Transient(m) => (m, answer.retry_after),
            },
            Err(e) => (format!("collector unreachable: {e}"), None),
        };
        tracing::debug!(sequence, attempt, "push failed: {message}");
        last = message;
        if attempt + 1 == attempts {
            break;
        }
        let delay = match retry_after {
            Some(d) if d > retry.cap => {
                return Outcome::Failed(format!("{last}; the collector asked to retry after {} s", d.as_secs()))
            }
            Some(d) => d,
            None => backoff(retry, attempt),
        };
        tokio::time::sleep(delay).await;
    }
    Outcome::Failed(format!("{last} (after {attempts} attempts)"))
}

enum Judged {
    Ack,
    Refused { error: String, message: String, last_accepted: Option<u64> },
    Transient(String),
}

fn judge(answer: &Answer, digest: &str, sequence: u64) -> Judged {
    match answer.status {
        200 => match serde_json::from_slice::<IngestResponse>(&answer.body) {
            Ok(r) if (r.status == "stored" || r.status == "duplicate") && r.digest == digest && r.sequence == sequence => {
                Judged::Ack
            }
            Ok(r) => Judged::Transient(format!(
                "the collector answered 200 but not for this batch (status {:?}, digest {}, sequence {}); kept",
                r.status, r.digest, r.sequence
            )),
            Err(_) => Judged::Transient(format!("the collector answered 200 without an acknowledgement: {}", answer.text())),
        },
        s @ (408 | 429) => Judged::Transient(format!("the collector is busy (HTTP {s})")),
        s if (500..600).contains(&s) => Judged::Transient(format!("the collector failed (HTTP {s}): {}", answer.text())),
        s if (300..400).contains(&s) => Judged::Transient(format!(
            "the collector redirects (HTTP {s}) to {}; set [delivery] collector_url to it",
            answer.location.as_deref().unwrap_or("(no location)")
        )),
        s if (400..500).contains(&s) => match serde_json::from_slice::<ErrorBody>(&answer.body) {
            Ok(e) if FINAL_REFUSALS.contains(&e.error.as_str()) => {
                Judged::Refused { error: e.error, message: e.message, last_accepted: e.last_accepted_sequence }
            }
            Ok(e) if e.error == "unknown_agent" => Judged::Transient(format!(
                "the collector does not know this agent (HTTP {s}: {}); if its database was restored from a backup \
                 older than this agent's enrollment, enroll again with `plumbline enroll --force`; the batches wait",
                e.message
            )),
            Ok(e) => Judged::Transient(format!(
                "the collector refused with {} (HTTP {s}): {}; kept, to be sent again",
                e.error, e.message
            )),
            Err(_) => Judged::Transient(format!(
                "HTTP {s} from something that is not the collector (a proxy or firewall in between, or a wrong \
                 collector_url path?): {}; kept, to be sent again",
                answer.text()
            )),
        },
        s => Judged::Transient(format!("unexpected answer HTTP {s}: {}", answer.text())),
    }
}

/// The delay before retry number `attempt + 1`: `base * 2^attempt`, capped,
/// with "equal jitter" (half fixed, half random) so agents that lost the
/// collector together do not return together.
pub fn backoff(retry: RetryPolicy, attempt: u32) -> Duration {
    let full = retry.base.saturating_mul(2u32.saturating_pow(attempt.min(30))).min(retry.cap);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status, retry_after: None, location: None, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let p = RetryPolicy { base: Duration::from_millis(100), cap: Duration::from_millis(1000), max_attempts: 5 };
        for (attempt, full) in [(0, 100), (1, 200), (2, 400), (3, 800), (4, 1000), (40, 1000)] {
            for _ in 0..20 {
                let d = backoff(p, attempt).as_millis() as u64;
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d} ms not in [{}, {full}]", full / 2);
            }
        }
    }

    #[test]
    fn answers_are_acks_refusals_or_retries() {
        let ok = r#"{"digest":"d1","status":"stored","sequence":3}"#;
        assert!(matches!(judge(&answer(200, ok), "d1", 3), Judged::Ack));
        let dup = r#"{"digest":"d1","status":"duplicate","sequence":3}"#;
        assert!(matches!(judge(&answer(200, dup), "d1", 3), Judged::Ack));
        // 200 from something that is not acknowledging this batch is no ack.
        assert!(matches!(judge(&answer(200, ok), "d2", 3), Judged::Transient(_)));
        assert!(matches!(judge(&answer(200, ok), "d1", 4), Judged::Transient(_)));
        assert!(matches!(judge(&answer(200, "<html>portal</html>"), "d1", 3), Judged::Transient(_)));
        for s in [408, 429, 500, 502, 503, 301] {
            assert!(matches!(judge(&answer(s, ""), "d1", 3), Judged::Transient(_)), "{s}");
        }
        let refused = judge(&answer(403, r#"{"error":"wrong_tenant","message":"no"}"#), "d1", 3);
        assert!(matches!(refused, Judged::Refused { ref error, .. } if error == "wrong_tenant"));
        let replayed = r#"{"error":"replayed_sequence","message":"no","last_accepted_sequence":41}"#;
        let refused = judge(&answer(409, replayed), "d1", 3);
        assert!(matches!(refused, Judged::Refused { last_accepted: Some(41), .. }));
        // Only the collector's own typed refusals are final: a proxy's HTML
        // 413, a WAF's 403, a wrong path's 404, a code from a newer collector,
        // and an agent the collector forgot (a restored database) all wait.
        for (s, body) in [
            (413, "<html>Request Entity Too Large</html>"),
            (403, "<html>blocked by policy</html>"),
            (404, "not found"),
            (400, r#"{"error":"some_new_code","message":"?"}"#),
            (401, r#"{"error":"unknown_agent","message":"no agent agt_x"}"#),
        ] {
            match judge(&answer(s, body), "d1", 3) {
                Judged::Transient(m) => assert!(m.contains(&format!("HTTP {s}")), "{m}"),
                _ => panic!("HTTP {s} {body} must not be final"),
            }
        }
    }

    #[test]
    fn the_summary_line() {
        let r = FlushReport { delivered: 2, queued: 1, ..Default::default() };
        assert_eq!(r.to_string(), "delivery: 2 delivered, 1 queued, 0 rejected");
    }

    #[test]
    fn damaged_spool_files_are_recognised() {
        assert!(expected_ack(b"{\"payloadType\":").is_err());
        let key = plumbline_protocol::identity::AgentKey::generate();
        let env = plumbline_protocol::envelope::sign("t", b"p", key.signing(), "k");
        assert_eq!(expected_ack(&serde_json::to_vec(&env).unwrap()).unwrap(), (payload_digest(b"p"), "k".to_string()));
    }
}
