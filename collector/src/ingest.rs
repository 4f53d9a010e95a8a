//! The verify-first ingest pipeline, independent of HTTP.
//!
//! 1. size cap ([`MAX_ENVELOPE_BYTES`]); a gzip body is inflated first,
//!    to at most [`MAX_INFLATED_BYTES`] ([`decode_body`]);
//! 2. the envelope's outer JSON only (the payload stays opaque bytes), on a
//!    blocking thread like every step that costs CPU per byte;
//! 3. the claimed signer: unknown -> refused, revoked -> refused; it must
//!    be the agent that signed the request, when the request was signed
//!    (see [`crate::api::admission`]);
//! 4. the signature over PAE with that agent's stored key -> else refused;
//! 5. only now the payload is parsed, as a [`ScanBatch`] (unknown fields
//!    refused), and must name its signer, and the tenant and site the agent
//!    was enrolled for;
//! 6. the store, in one transaction: a stored digest is a `duplicate`; a
//!    sequence not above the agent's last is refused; else the raw envelope
//!    is kept as evidence and the batch applied to the register.
//!
//! Every refusal is an [`IngestError`] and stores nothing.

use crate::store::{AgentRecord, IngestOutcome, Store, StoreError, VerifiedBatch};
use crate::timestamp;
use plumbline_protocol::batch::{ScanBatch, BATCH_SCHEMA};
use plumbline_protocol::envelope::{payload_digest, Envelope, EnvelopeError, SCAN_PAYLOAD_TYPE};
use plumbline_protocol::identity::{is_agent_id, parse_public_key};
use plumbline_protocol::messages::IngestResponse;
use plumbline_protocol::register::split_key;

/// The largest envelope accepted, in bytes; the HTTP layer reads no more.
/// A 20,000-flow tenant's batch is about 20 MiB once base64-encoded; this
/// leaves room for the other sources beside it.
pub const MAX_ENVELOPE_BYTES: usize = 64 * 1024 * 1024;

/// The largest request body read from the wire, compressed or not: a gzip
/// body is never larger than what it inflates to (bar a few header bytes),
/// so one cap bounds what is buffered before any signature is checked.
pub const MAX_WIRE_BYTES: usize = MAX_ENVELOPE_BYTES;

/// The most a `Content-Encoding: gzip` body may inflate to: the envelope's
/// own cap, so a small body that inflates without end (a decompression
/// bomb) stops here, having used no more memory than an honest envelope.
pub const MAX_INFLATED_BYTES: usize = MAX_ENVELOPE_BYTES;

/// Why a batch was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Over [`MAX_ENVELOPE_BYTES`].
    #[error("the envelope is over {MAX_ENVELOPE_BYTES} bytes")]
    TooLarge,
    /// A gzip body that inflates past [`MAX_INFLATED_BYTES`].
    #[error(
        "the gzip body inflates to more than {MAX_INFLATED_BYTES} bytes; a scan this large must be sent in parts \
         (the agent splits one over [delivery] max_batch_bytes by itself)"
    )]
    InflatesTooLarge,
    /// A `Content-Encoding` other than gzip.
    #[error("Content-Encoding {0:?} is not accepted; send the envelope as it is, or gzip it")]
    UnsupportedEncoding(String),
    /// Not an envelope, not a scan batch, or not a valid one.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The claimed signer is not enrolled.
    #[error("unknown agent {0}")]
    UnknownAgent(String),
    /// The signer was revoked.
    #[error("agent {0} is revoked")]
    RevokedAgent(String),
    /// The signature does not verify with the agent's key.
    #[error("the signature does not verify with the key enrolled for {0}")]
    BadSignature(String),
    /// The payload names another agent than its signer.
    #[error("the batch names agent {claimed} but is signed by {signer}")]
    WrongAgent {
        /// In the payload.
        claimed: String,
        /// The verified signer.
        signer: String,
    },
    /// The request is signed by one agent and the envelope by another.
    #[error("the envelope is signed as {envelope} but the request as {request}; an agent signs both with its one key")]
    SignedByOther {
        /// The envelope's signer.
        envelope: String,
        /// The request's.
        request: String,
    },
    /// The payload names a tenant or site the agent is not enrolled for.
    #[error("agent {agent} is enrolled for tenant {enrolled_tenant:?} site {enrolled_site:?}, not tenant {tenant:?} site {site:?}")]
    WrongTenant {
        /// The signer.
        agent: String,
        /// Its tenant.
        enrolled_tenant: String,
        /// Its site.
        enrolled_site: String,
        /// The batch's tenant.
        tenant: String,
        /// The batch's site.
        site: String,
    },
    /// The sequence is not above the last accepted one.
    #[error("sequence {sequence} is not above {last}, the last accepted from this agent")]
    ReplayedSequence {
        /// The batch's.
        sequence: u64,
        /// The last accepted.
        last: u64,
    },
    /// The sequence is implausibly far above the last accepted one.
    #[error(
        "sequence {sequence} jumps more than {max} past {last}, the last accepted from this agent; its counter is damaged: \
         on the agent, delete SPOOL/sequence and run `plumbline spool requeue --all`, which re-numbers above {last}"
    )]
    SequenceJump {
        /// The batch's.
        sequence: u64,
        /// The last accepted.
        last: u64,
        /// The largest jump allowed.
        max: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl IngestError {
    /// The stable code in [`plumbline_protocol::messages::ErrorBody::error`].
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::TooLarge | IngestError::InflatesTooLarge => "too_large",
            IngestError::UnsupportedEncoding(_) => "unsupported_encoding",
            IngestError::Malformed(_) => "malformed",
            IngestError::UnknownAgent(_) => "unknown_agent",
            IngestError::RevokedAgent(_) => "revoked_agent",
            IngestError::BadSignature(_) => "bad_signature",
            IngestError::WrongAgent { .. } | IngestError::SignedByOther { .. } => "wrong_agent",
            IngestError::WrongTenant { .. } => "wrong_tenant",
            IngestError::ReplayedSequence { .. } => "replayed_sequence",
            IngestError::SequenceJump { .. } => "sequence_jump",
            IngestError::Store(_) => "internal",
        }
    }
}

impl From<StoreError> for IngestError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownAgent(id) => IngestError::UnknownAgent(id),
            StoreError::Revoked(id) => IngestError::RevokedAgent(id),
            StoreError::Replayed { sequence, last } => IngestError::ReplayedSequence { sequence, last },
            StoreError::SequenceJump { sequence, last, max } => IngestError::SequenceJump { sequence, last, max },
            other => IngestError::Store(other),
        }
    }
}

/// The envelope in a request body sent with `encoding` (the
/// `Content-Encoding` header, if any): as it is, or gzip inflated to at most
/// [`MAX_INFLATED_BYTES`]. The signature is over the envelope's payload, so
/// it is checked on the inflated envelope exactly as on an uncompressed one.
pub fn decode_body(encoding: Option<&str>, body: &[u8]) -> Result<Vec<u8>, IngestError> {
    use std::io::Read as _;
    match encoding.map(str::trim) {
        None | Some("") | Some("identity") => Ok(body.to_vec()),
        Some(e) if e.eq_ignore_ascii_case("gzip") => {
            let mut out = Vec::new();
            let limit = MAX_INFLATED_BYTES as u64 + 1;
            flate2::read::MultiGzDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| IngestError::Malformed(format!("the gzip body does not inflate: {e}")))?;
            if out.len() > MAX_INFLATED_BYTES {
                return Err(IngestError::InflatesTooLarge);
            }
            Ok(out)
        }
        // Not echoed whole: it is untrusted.
        Some(other) => Err(IngestError::UnsupportedEncoding(other.chars().take(40).collect())),
    }
}

/// How a batch arrived, beyond its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Arrival<'a> {
    /// Where the delivery came from (see [`crate::egress`]), recorded as
    /// the agent's site's egress for the cross-check.
    pub egress: Option<std::net::IpAddr>,
    /// The agent whose signature the request carried
    /// ([`crate::api::admission`]), as read then: the envelope must be
    /// signed by it too, and it is not read again.
    pub signed_by: Option<&'a AgentRecord>,
}

/// [`decode_body`] then [`ingest_arrived`], inflating on a blocking thread
/// (up to 64 MiB of CPU work).
pub async fn ingest_encoded(
    store: &dyn Store,
    encoding: Option<String>,
    body: axum::body::Bytes,
    alerts: &crate::alerts::RuleSet,
    arrival: Arrival<'_>,
) -> Result<IngestResponse, IngestError> {
    let body = match encoding {
        None => body,
        Some(e) => blocking(move || decode_body(Some(&e), &body), "inflating").await??.into(),
    };
    ingest_arrived(store, body, alerts, arrival).await
}

/// `work` on a blocking thread: CPU work on up to 64 MiB must not hold up
/// the async workers, which serve everyone else.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static, what: &str) -> Result<T, IngestError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| IngestError::Store(StoreError::Backend(format!("{what} task: {e}"))))
}

/// Verify, parse and store one envelope as received, with no alert rules.
pub async fn ingest(store: &dyn Store, body: &[u8]) -> Result<IngestResponse, IngestError> {
    ingest_alerting(store, body, &crate::alerts::RuleSet::default()).await
}

/// The same, queueing what `alerts` fire in the ingest's own transaction.
pub async fn ingest_alerting(
    store: &dyn Store,
    body: &[u8],
    alerts: &crate::alerts::RuleSet,
) -> Result<IngestResponse, IngestError> {
    ingest_from(store, body, alerts, None).await
}

/// The same, recording `egress` (where the delivery came from, see
/// [`crate::egress`]) as the agent's site's egress for the cross-check.
pub async fn ingest_from(
    store: &dyn Store,
    body: &[u8],
    alerts: &crate::alerts::RuleSet,
    egress: Option<std::net::IpAddr>,
) -> Result<IngestResponse, IngestError> {
    let arrival = Arrival { egress, signed_by: None };
    ingest_arrived(store, axum::body::Bytes::copy_from_slice(body), alerts, arrival).await
}

/// The outer envelope and its claimed signer, checked to be shaped like an
/// agent id before anything else is done with it.
fn envelope_and_signer(body: &[u8]) -> Result<(Envelope, String), IngestError> {
    // serde's message may quote a field name of any length: bounded.
    let envelope = Envelope::from_json(body).map_err(|e| IngestError::Malformed(untrusted(&e.to_string())))?;
    let signer = envelope
        .claimed_keyid()
        .ok_or_else(|| IngestError::Malformed("the envelope has no signature".into()))?
        .to_string();
    if !is_agent_id(&signer) {
        // Not echoed: it is untrusted and may be any size.
        return Err(IngestError::Malformed(format!(
            "the signature's keyid ({} bytes) is not an agent id (agt_ and 32 hex digits)",
            signer.len()
        )));
    }
    Ok((envelope, signer))
}

/// The longest piece of untrusted text a refusal quotes (in the answer and
/// in the log line).
pub const MAX_QUOTED_CHARS: usize = 200;

/// Untrusted text as a refusal may quote it: printable and bounded.
pub fn untrusted(text: &str) -> String {
    plumbline_protocol::cells::printable(&plumbline_protocol::cells::bounded(text, MAX_QUOTED_CHARS))
}

/// The longest refusal written to the log: a few quoted pieces and the fix.
pub const MAX_LOGGED_CHARS: usize = 1000;

/// A refusal's message as the log takes it: one line, bounded, whatever
/// it quotes.
pub fn loggable(message: &str) -> String {
    plumbline_protocol::cells::printable(&plumbline_protocol::cells::bounded(message, MAX_LOGGED_CHARS))
}

/// Verify, parse and store one envelope as it arrived.
pub async fn ingest_arrived(
    store: &dyn Store,
    body: axum::body::Bytes,
    alerts: &crate::alerts::RuleSet,
    arrival: Arrival<'_>,
) -> Result<IngestResponse, IngestError> {
    if body.len() > MAX_ENVELOPE_BYTES {
        return Err(IngestError::TooLarge);
    }
    let parsing = body.clone();
    let (envelope, signer) = blocking(move || envelope_and_signer(&parsing), "parsing").await??;
    if let Some(caller) = arrival.signed_by.filter(|c| c.id != signer) {
        return Err(IngestError::SignedByOther { envelope: signer, request: caller.id.clone() });
    }
    let egress = arrival.egress;
    // A revocation after the request's signature was checked is still
    // caught: the store refuses a revoked agent's batch in its transaction.
    let agent = match arrival.signed_by {
        Some(known) => known.clone(),
        None => store.agent(&signer).await?.ok_or_else(|| IngestError::UnknownAgent(signer.clone()))?,
    };
    if agent.revoked_at.is_some() {
        return Err(IngestError::RevokedAgent(signer));
    }
    let key = parse_public_key(&agent.public_key)
        .map_err(|e| IngestError::Store(StoreError::Backend(format!("stored key of {signer}: {e}"))))?;
    let who = signer.clone();
    let (payload, batch) = blocking(move || verify_and_parse(&envelope, &who, &key), "verification").await??;
    if batch.schema != BATCH_SCHEMA {
        return Err(IngestError::Malformed(format!("batch schema {} is not {BATCH_SCHEMA}", batch.schema)));
    }
    if batch.sequence > i64::MAX as u64 {
        return Err(IngestError::Malformed(format!("sequence {} is out of range", batch.sequence)));
    }
    if batch.agent_id != signer {
        return Err(IngestError::WrongAgent { claimed: untrusted(&batch.agent_id), signer });
    }
    namespaces(&batch)?;
    if let Some(part) = &batch.part {
        check_part(part)?;
    }
    // PostgreSQL text cannot hold U+0000 and would answer every retry with
    // a 500, blocking the agent's queue; SQLite would store it. Refuse it on
    // both, as the agent's mistake, before anything is written.
    if payload.windows(6).any(|w| w == b"\\u0000") {
        if let Some(field) = nul_field(&batch) {
            return Err(IngestError::Malformed(format!(
                "{field} contains a NUL character (U+0000), which the register cannot store; the plugin that reported it must drop or replace it"
            )));
        }
    }
    if batch.tenant_id != agent.tenant_id || batch.site_id != agent.site_id {
        return Err(IngestError::WrongTenant {
            agent: signer,
            enrolled_tenant: agent.tenant_id,
            enrolled_site: agent.site_id,
            tenant: untrusted(&batch.tenant_id),
            site: untrusted(&batch.site_id),
        });
    }

    let digest = payload_digest(&payload);
    let sequence = batch.sequence;
    let outcome = store
        .ingest(VerifiedBatch {
            digest: digest.clone(),
            envelope: body.into(),
            batch,
            received_at: timestamp::now(),
            alerts: alerts.clone(),
            egress,
        })
        .await?;
    let status = match outcome {
        IngestOutcome::Stored => "stored",
        IngestOutcome::Duplicate => "duplicate",
    };
    Ok(IngestResponse { digest, status: status.to_string(), sequence })
}

/// The verified payload and the scan batch in it. Nothing is parsed before
/// the signature checks out.
fn verify_and_parse(
    envelope: &Envelope,
    signer: &str,
    key: &plumbline_protocol::identity::VerifyingKey,
) -> Result<(Vec<u8>, ScanBatch), IngestError> {
    let payload = envelope.verify(SCAN_PAYLOAD_TYPE, signer, key).map_err(|e| match e {
        EnvelopeError::BadSignature(_) | EnvelopeError::NoSignature(_) => IngestError::BadSignature(signer.to_string()),
        other => IngestError::Malformed(untrusted(&other.to_string())),
    })?;
    let batch: ScanBatch =
        serde_json::from_slice(&payload).map_err(|e| IngestError::Malformed(format!("not a scan batch: {}", untrusted(&e.to_string()))))?;
    Ok((payload, batch))
}

/// Every key must lie in the namespace of the plugin that reported it
/// (`PLUGIN/KEY`), so that one plugin cannot overwrite another's entries;
/// and no finding may pass for one the collector derives itself.
fn namespaces(batch: &ScanBatch) -> Result<(), IngestError> {
    let check = |what: &str, key: &str, plugin: &str| match split_key(key) {
        Some((ns, _)) if ns == plugin => Ok(()),
        _ => Err(IngestError::Malformed(format!(
            "{what} {:?} is not in the namespace of plugin {plugin:?} (keys are \"{plugin}/...\"); upgrade the agent",
            untrusted(key),
            plugin = untrusted(plugin)
        ))),
    };
    for c in &batch.connectors {
        check("connector key", &c.key, &c.plugin)?;
    }
    for f in &batch.findings {
        check("finding's connector key", &f.connector_key, &f.plugin)?;
        if crate::crosscheck::is_cross_check(&f.check_id) {
            return Err(IngestError::Malformed(format!(
                "finding check id {:?} is in the collector's own namespace {:?}; the plugin must name its checks after itself",
                untrusted(&f.check_id),
                crate::crosscheck::rules::PREFIX
            )));
        }
    }
    Ok(())
}

/// The longest scan id of a split scan: the agent sends 32 hex digits.
pub const MAX_SCAN_ID_CHARS: usize = 64;

/// A part header that names its place in a scan sensibly.
fn check_part(part: &plumbline_protocol::batch::BatchPart) -> Result<(), IngestError> {
    let id_ok = !part.scan_id.is_empty()
        && part.scan_id.len() <= MAX_SCAN_ID_CHARS
        && part.scan_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(IngestError::Malformed(format!(
            "the part's scan id ({} bytes) must be 1 to {MAX_SCAN_ID_CHARS} letters, digits, '-' or '_'",
            part.scan_id.len()
        )));
    }
    if part.count < 2 || part.index == 0 || part.index > part.count {
        return Err(IngestError::Malformed(format!(
            "part {} of {} is not a part of a split scan (1 <= index <= count, count >= 2)",
            part.index, part.count
        )));
    }
    Ok(())
}

/// The first place in `batch` holding U+0000, named for the operator.
fn nul_field(batch: &ScanBatch) -> Option<String> {
    let value = serde_json::to_value(batch).ok()?;
    fn walk(v: &serde_json::Value, at: &str) -> Option<String> {
        match v {
            serde_json::Value::String(s) if s.contains('\0') => Some(at.to_string()),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, x)| walk(x, &format!("{at}[{i}]")))
            }
            serde_json::Value::Object(map) => map.iter().find_map(|(k, x)| {
                if k.contains('\0') {
                    Some(format!("{at} (a field name)"))
                } else {
                    walk(x, &format!("{at}.{k}"))
                }
            }),
            _ => None,
        }
    }
    walk(&value, "batch")
}
