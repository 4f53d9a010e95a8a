//! Reading a request's body under a size cap and two clocks: a body that
//! stops arriving ([`BODY_STALL_TIMEOUT`]) or that trickles in for longer
//! than any honest link needs ([`BODY_DEADLINE`]) gives its admission slot
//! and its connection back with a 408, which the agent retries. Without
//! them a client sending a byte a minute could hold either for ever.

use super::error::ApiError;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::BodyExt as _;
use std::time::Duration;

/// Longest a body may go without a byte arriving: TCP retransmits over a
/// bad link for well under this before the link is gone.
pub const BODY_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest a whole body may take: 64 MiB at 1 Mbit/s is nine minutes (and
/// the agent gzips, and splits a scan over 32 MiB).
pub const BODY_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// Longest a small body (an enrollment, an annotation) may take: 64 KiB
/// arrives in seconds on any link.
pub const SMALL_BODY_DEADLINE: Duration = Duration::from_secs(60);

/// A small request body: at most [`super::MAX_SMALL_BODY_BYTES`], within
/// [`SMALL_BODY_DEADLINE`] and the stall timeout.
pub struct SmallBody(pub Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for SmallBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        read_timed(&parts.headers, body, super::MAX_SMALL_BODY_BYTES, BODY_STALL_TIMEOUT, SMALL_BODY_DEADLINE)
            .await
            .map(SmallBody)
            .map_err(|e| e.refusal("too_large"))
    }
}

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Declared or found to be over the cap.
    TooLarge {
        /// The cap, in bytes.
        max: usize,
    },
    /// No byte for [`BODY_STALL_TIMEOUT`].
    Stalled {
        /// Bytes read before it stalled.
        read: usize,
    },
    /// Not done within [`BODY_DEADLINE`].
    TooSlow {
        /// Bytes read by then.
        read: usize,
    },
    /// The connection failed mid-body.
    Broken(String),
}

impl BodyError {
    /// The refusal; `too_large_code` is the endpoint's own code for 413.
    pub fn refusal(&self, too_large_code: &'static str) -> ApiError {
        match self {
            BodyError::TooLarge { max } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                too_large_code,
                format!("the body is over {max} bytes; the agent splits a large scan by itself ([delivery] max_batch_bytes)"),
            ),
            BodyError::Stalled { read } => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "no part of the body arrived for {} s (after {read} bytes); the agent retries it",
                    BODY_STALL_TIMEOUT.as_secs()
                ),
            ),
            BodyError::TooSlow { read } => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "the body took over {} minutes ({read} bytes by then); on a link this slow, lower [delivery] \
                     max_batch_bytes so that each part arrives in time",
                    BODY_DEADLINE.as_secs() / 60
                ),
            ),
            BodyError::Broken(why) => ApiError::malformed(format!("reading the body: {why}")),
        }
    }
}

/// How an upload's body is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyClock {
    /// Longest without a byte.
    pub stall: Duration,
    /// Longest in all.
    pub deadline: Duration,
}

impl Default for BodyClock {
    fn default() -> Self {
        BodyClock { stall: BODY_STALL_TIMEOUT, deadline: BODY_DEADLINE }
    }
}

/// The whole body, at most `max` bytes, within `clock`.
pub async fn read(headers: &HeaderMap, body: Body, max: usize, clock: BodyClock) -> Result<Bytes, BodyError> {
    read_timed(headers, body, max, clock.stall, clock.deadline).await
}

/// The same with the clocks given (tests shorten them).
pub async fn read_timed(
    headers: &HeaderMap,
    mut body: Body,
    max: usize,
    stall: Duration,
    deadline: Duration,
) -> Result<Bytes, BodyError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge { max });
    }
    let mut out = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let next = tokio::time::timeout(stall, body.frame());
        let frame = match tokio::time::timeout_at(until, next).await {
            Err(_) => return Err(BodyError::TooSlow { read: out.len() }),
            Ok(Err(_)) => return Err(BodyError::Stalled { read: out.len() }),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(Err(e)))) => return Err(BodyError::Broken(e.to_string())),
            Ok(Ok(Some(Ok(frame)))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > max {
                return Err(BodyError::TooLarge { max });
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;

    fn trickle(chunks: Vec<(&'static [u8], u64)>) -> Body {
        let stream = futures::stream::iter(chunks).then(|(bytes, wait_ms)| async move {
            tokio::time::sleep(Duration::from_millis(wait_ms)).await;
            Ok::<_, std::io::Error>(Bytes::from_static(bytes))
        });
        Body::from_stream(stream)
    }

    fn length(n: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, n.into());
        h
    }

    /// Real time, shortened clocks, wide margins: a byte every tenth of
    /// the stall timeout is in time, one after five times it is not.
    #[tokio::test]
    async fn a_body_that_stops_or_trickles_is_cut_off() {
        let (stall, deadline) = (Duration::from_secs(1), Duration::from_secs(3));
        let ok = read_timed(&HeaderMap::new(), trickle(vec![(b"ab", 100), (b"cd", 100)]), 10, stall, deadline).await;
        assert_eq!(ok.unwrap().as_ref(), b"abcd");
        let stalled = read_timed(&HeaderMap::new(), trickle(vec![(b"ab", 0), (b"cd", 5_000)]), 10, stall, deadline).await;
        assert_eq!(stalled.unwrap_err(), BodyError::Stalled { read: 2 });
        let drip = vec![(&b"x"[..], 700); 8];
        match read_timed(&HeaderMap::new(), trickle(drip), 10, stall, deadline).await {
            Err(BodyError::TooSlow { read }) => assert!(read < 8, "cut off before the end: {read}"),
            other => panic!("each byte in time but the whole too slow: {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_cap_holds_for_declared_and_actual_lengths() {
        let declared = read(&length(11), Body::from(vec![0u8; 11]), 10, BodyClock::default()).await;
        assert_eq!(declared.unwrap_err(), BodyError::TooLarge { max: 10 });
        let undeclared = read(&HeaderMap::new(), trickle(vec![(b"123456", 0), (b"7890a", 0)]), 10, BodyClock::default()).await;
        assert_eq!(undeclared.unwrap_err(), BodyError::TooLarge { max: 10 });
        let e = BodyError::TooLarge { max: 10 }.refusal("too_large");
        assert_eq!((e.status, e.code), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
        let e = BodyError::Stalled { read: 2 }.refusal("too_large");
        assert_eq!((e.status, e.code), (StatusCode::REQUEST_TIMEOUT, "body_timeout"));
        assert!(e.message.contains("retries"), "{}", e.message);
    }
}
