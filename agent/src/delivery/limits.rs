//! Every limit delivery works under, with the reason for its value. The
//! spool bounds and the retry timings can be overridden in `[delivery]`.

use std::time::Duration;

/// Batches kept in the spool before the oldest is dropped: an hourly scan
/// against a collector that is down for a month still fits.
pub const SPOOL_MAX_BATCHES: usize = 1000;
/// Bytes of batches kept in the spool before the oldest is dropped: a large
/// tenant's batch is a few MB; this keeps a long outage well under a small
/// server's spare disk.
pub const SPOOL_MAX_BYTES: u64 = 512 * 1024 * 1024;
/// Largest envelope the agent sends as one batch; a larger scan is split
/// into parts under it (`[delivery] max_batch_bytes`). Half the collector's
/// 64 MiB envelope cap: room for a collector or proxy set lower, and a part
/// on a slow link is a few minutes, not a quarter of an hour.
pub const MAX_BATCH_BYTES: u64 = 32 * 1024 * 1024;
/// What an envelope adds around its base64 payload: the payload type, the
/// keyid and the signature, with room to spare.
pub const ENVELOPE_OVERHEAD_BYTES: u64 = 512;
/// The smallest `max_batch_bytes` accepted: below it even a scan with no
/// connectors would not fit in one part.
pub const MIN_BATCH_BYTES: u64 = 4096;
/// First retry delay of a push that failed for a reason that may pass
/// (collector down, 5xx, 408, 429).
pub const RETRY_BASE: Duration = Duration::from_millis(500);
/// Longest single retry delay, and the longest `Retry-After` honoured within
/// one flush; a collector that asks for longer is tried on the next run.
pub const RETRY_CAP: Duration = Duration::from_secs(30);
/// Attempts at one batch in one flush before the flush stops and the batch
/// waits for the next run: 0.5 + 1 + 2 + 4 s (plus jitter) is short enough
/// not to hold up a scheduled scan, long enough to ride out a restart.
pub const RETRY_MAX_ATTEMPTS: u32 = 5;
/// Timeout of one small request to the collector (enroll, policy). An
/// upload is timed by its progress instead ([`UPLOAD_STALL_TIMEOUT`]).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest an upload may go without the collector taking a byte: a batch
/// of 32 MiB on a slow link takes minutes, and is fine while it moves.
pub const UPLOAD_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest the collector may take to answer once the whole batch is sent:
/// it verifies and stores a large batch in seconds, a busy database more.
pub const UPLOAD_ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest one upload may take in all, moving or not: the collector's own
/// body deadline is 15 minutes; this only bounds a flush.
pub const UPLOAD_MAX_TIME: Duration = Duration::from_secs(30 * 60);
/// The pieces an upload is handed to the connection in; how often its
/// progress is known.
pub const UPLOAD_CHUNK_BYTES: usize = 64 * 1024;
/// Timeout of one TCP + TLS connect to the collector.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from the collector: answers are small JSON objects.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// How long a command waits for another plumbline process to release the
/// spool (a flush riding out its retries) before giving up.
pub const SPOOL_LOCK_WAIT: Duration = Duration::from_secs(300);
/// How often the spool lock is tried while waiting.
pub const SPOOL_LOCK_POLL: Duration = Duration::from_millis(100);
