//! Who may start an upload now, decided before the body is read, so that
//! nobody, enrolled or not, can make the collector buffer 64 MiB bodies
//! without end.
//!
//! An agent that signs the request ([`plumbline_protocol::agent_auth`]) is
//! known before its body arrives: it gets [`MAX_INGESTS_PER_AGENT`] slots
//! and its own rate. An upload without that signature (an agent from before
//! it) shares a small pool, bounded per client address too. Everyone shares
//! [`MAX_INGESTS_IN_FLIGHT`], and the bytes they declare share
//! [`MAX_BYTES_IN_FLIGHT`]. Over a limit is a 429 with `Retry-After`, which
//! the agent honours and retries.

use super::agent_auth::{self, CallerError};
use super::error::ApiError;
use super::AppState;
use crate::serve::PeerAddr;
use crate::store::AgentRecord;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Ingests in flight in all: a bound on tasks and open bodies. Memory is
/// bounded by [`MAX_BYTES_IN_FLIGHT`], so this can be high enough that a
/// few hundred agents delivering at once are all let in: with the writer
/// committing batches in groups, more in flight is more throughput.
pub const MAX_INGESTS_IN_FLIGHT: usize = 256;
/// Bytes signed agents' ingests in flight may declare together
/// (`Content-Length`; an upload without one counts as the largest allowed):
/// a bound on what their bodies can make the collector hold, whatever their
/// number. Typical batches are tens of kilobytes, so only huge ones ever
/// wait for it. Unsigned uploads have [`MAX_UNSIGNED_IN_FLIGHT`].
pub const MAX_BYTES_IN_FLIGHT: u64 = 1 << 30;
/// Ingests in flight from one signed agent: it sends one batch at a time;
/// the second slot lets a retry in while a timed-out attempt is still
/// being read.
pub const MAX_INGESTS_PER_AGENT: usize = 2;
/// Unsigned ingests in flight in all: before its body nobody can tell who
/// sent one, so together they may hold only this much memory (1 GiB).
pub const MAX_UNSIGNED_IN_FLIGHT: usize = 16;
/// Unsigned ingests in flight from one address: an agent sends one batch at
/// a time, a NAT of a few sites a handful.
pub const MAX_INGESTS_PER_ADDRESS: usize = 8;
/// Batches a second one signed agent may start, sustained: draining a long
/// outage's queue of a thousand batches takes under two minutes.
pub const AGENT_BATCHES_PER_SEC: f64 = 10.0;
/// Batches one signed agent may start at once above its rate.
pub const AGENT_BURST: f64 = 200.0;
/// Unsigned batches a second from one address, sustained, and at once.
pub const ADDRESS_BATCHES_PER_SEC: f64 = 10.0;
/// See [`ADDRESS_BATCHES_PER_SEC`].
pub const ADDRESS_BURST: f64 = 200.0;
/// Rate buckets kept before full (idle) ones are forgotten: a bound on the
/// memory a stranger can make the collector spend on remembering it.
pub const MAX_RATE_BUCKETS: usize = 100_000;
/// What a client refused for lack of a slot is told to wait, in seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 5;

/// Who is uploading, as far as the collector knows before the body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Uploader {
    /// An enrolled, unrevoked agent, by a request signature that verified.
    Agent(String),
    /// No signature: from this address (`None` when the address is unknown,
    /// as in tests that call the router directly).
    Unsigned(Option<IpAddr>),
}

#[derive(Debug, Default)]
struct InFlight {
    total: usize,
    unsigned: usize,
    per_address: HashMap<IpAddr, usize>,
    per_agent: HashMap<String, usize>,
    bytes: u64,
}

/// What an upload declaring `declared` bytes holds of the budget: a length
/// over the limit is refused when the body is read, so it never needs more.
fn reserved(declared: Option<u64>) -> u64 {
    let most = crate::ingest::MAX_WIRE_BYTES as u64;
    declared.map_or(most, |n| n.min(most))
}

/// A token bucket: `tokens` as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RateKey {
    Agent(String),
    Address(IpAddr),
}

impl RateKey {
    /// Tokens a second, and the most a bucket holds.
    fn rate(&self) -> (f64, f64) {
        match self {
            RateKey::Agent(_) => (AGENT_BATCHES_PER_SEC, AGENT_BURST),
            RateKey::Address(_) => (ADDRESS_BATCHES_PER_SEC, ADDRESS_BURST),
        }
    }
}

/// The counts in flight and the rate buckets.
#[derive(Debug, Default)]
pub struct Admission {
    in_flight: Mutex<InFlight>,
    rates: Mutex<HashMap<RateKey, Bucket>>,
}

impl Admission {
    /// Admit one more upload from `who`, of the largest allowed size, or
    /// say why not.
    pub fn admit(self: &Arc<Self>, who: Uploader) -> Result<Admitted, ApiError> {
        self.admit_at(who, Instant::now())
    }

    /// [`Admission::admit`] for a body that declares its length: only that
    /// much (at most the largest allowed) is counted against
    /// [`MAX_BYTES_IN_FLIGHT`].
    pub fn admit_sized(self: &Arc<Self>, who: Uploader, declared: Option<u64>) -> Result<Admitted, ApiError> {
        self.admit_bytes_at(who, reserved(declared), Instant::now())
    }

    /// Uploads in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).total
    }

    fn admit_at(self: &Arc<Self>, who: Uploader, now: Instant) -> Result<Admitted, ApiError> {
        self.admit_bytes_at(who, reserved(None), now)
    }

    fn admit_bytes_at(self: &Arc<Self>, who: Uploader, bytes: u64, now: Instant) -> Result<Admitted, ApiError> {
        // Unsigned uploads are bounded by their own small count, so that
        // strangers can never use up the signed agents' bytes.
        let bytes = if matches!(who, Uploader::Agent(_)) { bytes } else { 0 };
        let mut f = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let full = f.total >= MAX_INGESTS_IN_FLIGHT
            || f.bytes + bytes > MAX_BYTES_IN_FLIGHT
            || match &who {
                Uploader::Agent(id) => f.per_agent.get(id).copied().unwrap_or(0) >= MAX_INGESTS_PER_AGENT,
                Uploader::Unsigned(addr) => {
                    f.unsigned >= MAX_UNSIGNED_IN_FLIGHT
                        || addr.is_some_and(|a| f.per_address.get(&a).copied().unwrap_or(0) >= MAX_INGESTS_PER_ADDRESS)
                }
            };
        if full {
            return Err(refused("busy", "too many uploads in flight", BUSY_RETRY_AFTER_SECS));
        }
        let rate = match &who {
            Uploader::Agent(id) => Some(RateKey::Agent(id.clone())),
            Uploader::Unsigned(Some(a)) => Some(RateKey::Address(*a)),
            Uploader::Unsigned(None) => None,
        };
        if let Some(key) = rate {
            self.take_token(key, now)?;
        }
        f.total += 1;
        f.bytes += bytes;
        match &who {
            Uploader::Agent(id) => *f.per_agent.entry(id.clone()).or_insert(0) += 1,
            Uploader::Unsigned(addr) => {
                f.unsigned += 1;
                if let Some(a) = addr {
                    *f.per_address.entry(*a).or_insert(0) += 1;
                }
            }
        }
        Ok(Admitted { admission: self.clone(), who, record: None, bytes })
    }

    /// One token from `key`'s bucket, or a 429 saying when the next is due.
    fn take_token(&self, key: RateKey, now: Instant) -> Result<(), ApiError> {
        let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        if rates.len() >= MAX_RATE_BUCKETS && !rates.contains_key(&key) {
            // A full bucket is no different from none: forget those.
            rates.retain(|k, b| {
                let (per_sec, burst) = k.rate();
                refilled(*b, per_sec, burst, now) < burst
            });
        }
        let (per_sec, burst) = key.rate();
        let bucket = rates.entry(key).or_insert(Bucket { tokens: burst, at: now });
        let tokens = refilled(*bucket, per_sec, burst, now);
        if tokens < 1.0 {
            *bucket = Bucket { tokens, at: now };
            let wait = ((1.0 - tokens) / per_sec).ceil().max(1.0) as u64;
            return Err(refused("rate_limited", &format!("more than {per_sec} uploads a second"), wait));
        }
        *bucket = Bucket { tokens: tokens - 1.0, at: now };
        Ok(())
    }
}

fn refilled(b: Bucket, per_sec: f64, burst: f64, now: Instant) -> f64 {
    (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec).min(burst)
}

/// One admitted ingest, and who sent it; its slot is given back when dropped.
#[derive(Debug)]
pub struct Admitted {
    admission: Arc<Admission>,
    /// Who, as far as the request's signature says.
    pub who: Uploader,
    /// That agent's record, as its signature was checked against it: the
    /// ingest uses it rather than reading it again.
    record: Option<AgentRecord>,
    /// What it holds of [`MAX_BYTES_IN_FLIGHT`].
    bytes: u64,
}

impl Admitted {
    /// The agent whose signature the request carried, if it carried one:
    /// the envelope must be signed by the same agent.
    pub fn agent(&self) -> Option<&AgentRecord> {
        self.record.as_ref()
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut f = self.admission.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        f.total = f.total.saturating_sub(1);
        f.bytes = f.bytes.saturating_sub(self.bytes);
        fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
            if let Some(n) = map.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
        match &self.who {
            Uploader::Agent(id) => release(&mut f.per_agent, id),
            Uploader::Unsigned(addr) => {
                f.unsigned = f.unsigned.saturating_sub(1);
                if let Some(a) = addr {
                    release(&mut f.per_address, a);
                }
            }
        }
    }
}

fn refused(code: &'static str, why: &str, retry_after_secs: u64) -> ApiError {
    let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, format!("{why}; retry in {retry_after_secs} s"));
    e.retry_after_secs = Some(retry_after_secs);
    e
}

impl FromRequestParts<AppState> for Admitted {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let addr = parts.extensions.get::<ConnectInfo<PeerAddr>>().map(|ConnectInfo(PeerAddr(a))| a.ip().to_canonical());
        let (who, record) = match parts.headers.contains_key(AUTHORIZATION) {
            false => (Uploader::Unsigned(addr), None),
            true => match agent_auth::caller(parts, state).await {
                Ok(agent) => (Uploader::Agent(agent.id.clone()), Some(agent)),
                // The body is signed on its own, and a clock that is off
                // never stopped a batch: such an upload is only not known
                // early, and waits in the unsigned pool.
                Err(CallerError::Auth(plumbline_protocol::agent_auth::AuthError::Skew(_))) => (Uploader::Unsigned(addr), None),
                Err(e) => {
                    let e = e.for_ingest();
                    state.metrics.ingest(e.code, std::time::Duration::ZERO);
                    return Err(e);
                }
            },
        };
        let declared = parts
            .headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut admitted = state
            .admission
            .admit_sized(who, declared)
            .inspect_err(|e| state.metrics.ingest(e.code, std::time::Duration::ZERO))?;
        admitted.record = record;
        Ok(admitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn agent(n: u8) -> Uploader {
        Uploader::Agent(format!("agt_{n:032x}"))
    }

    #[test]
    fn unsigned_slots_are_counted_per_address_and_in_all_and_given_back() {
        let a = Arc::new(Admission::default());
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..MAX_INGESTS_PER_ADDRESS).map(|_| a.admit(Uploader::Unsigned(Some(one))).unwrap()).collect();
        let e = a.admit(Uploader::Unsigned(Some(one))).unwrap_err();
        assert_eq!((e.status, e.code, e.retry_after_secs), (StatusCode::TOO_MANY_REQUESTS, "busy", Some(5)));
        assert!(a.admit(Uploader::Unsigned(Some("192.0.2.2".parse().unwrap()))).is_ok(), "another address still gets in");
        drop(held);
        assert!(a.admit(Uploader::Unsigned(Some(one))).is_ok(), "slots come back");
        let unsigned: Vec<_> = (0..MAX_UNSIGNED_IN_FLIGHT).map(|_| a.admit(Uploader::Unsigned(None)).unwrap()).collect();
        assert_eq!(a.admit(Uploader::Unsigned(None)).unwrap_err().code, "busy", "the unsigned pool is bounded");
        assert!(a.admit(agent(1)).is_ok(), "a signed agent is not held up by unsigned uploads");
        drop(unsigned);
    }

    #[test]
    fn signed_agents_get_their_own_slots_under_the_total() {
        let a = Arc::new(Admission::default());
        let mine: Vec<_> = (0..MAX_INGESTS_PER_AGENT).map(|_| a.admit(agent(1)).unwrap()).collect();
        assert_eq!(a.admit(agent(1)).unwrap_err().code, "busy", "one agent holds at most its slots");
        let others: Vec<_> = (0..MAX_INGESTS_IN_FLIGHT - MAX_INGESTS_PER_AGENT)
            .map(|n| a.admit_sized(Uploader::Agent(format!("agt_other_{n}")), Some(50_000)).unwrap())
            .collect();
        let e = a.admit_sized(Uploader::Agent("agt_other".into()), Some(1)).unwrap_err();
        assert_eq!(e.code, "busy", "the total bounds everyone");
        drop(mine);
        assert!(a.admit(agent(1)).is_ok(), "slots come back");
        drop(others);
    }

    #[test]
    fn the_bytes_signed_uploads_declare_are_bounded_together() {
        let a = Arc::new(Admission::default());
        let most = crate::ingest::MAX_WIRE_BYTES as u64;
        let n = (MAX_BYTES_IN_FLIGHT / most) as u8;
        let unknown: Vec<_> = (0..n).map(|i| a.admit_sized(agent(i), None).unwrap()).collect();
        assert_eq!(a.admit_sized(agent(n), Some(10_000)).unwrap_err().code, "busy", "no length counts as the most");
        assert!(a.admit(Uploader::Unsigned(None)).is_ok(), "unsigned uploads have their own bound");
        drop(unknown);
        let huge = a.admit_sized(agent(0), Some(u64::MAX)).unwrap();
        let small: Vec<_> = (1..=100).map(|i| a.admit_sized(agent(i), Some(100_000)).unwrap()).collect();
        assert_eq!(small.len(), 100, "a declared length over the limit holds only the limit");
        drop((huge, small));
        assert_eq!(a.in_flight(), 0);
    }

    #[test]
    fn each_agent_and_address_has_a_rate_with_a_burst() {
        let a = Arc::new(Admission::default());
        let start = Instant::now();
        for _ in 0..AGENT_BURST as usize {
            drop(a.admit_at(agent(1), start).unwrap());
        }
        let e = a.admit_at(agent(1), start).unwrap_err();
        assert_eq!((e.status, e.code, e.retry_after_secs), (StatusCode::TOO_MANY_REQUESTS, "rate_limited", Some(1)));
        assert!(a.admit_at(agent(2), start).is_ok(), "another agent has its own bucket");
        let later = start + Duration::from_secs_f64(1.0 / AGENT_BATCHES_PER_SEC);
        assert!(a.admit_at(agent(1), later).is_ok(), "the bucket refills at the rate");
        let addr = Uploader::Unsigned(Some("198.51.100.7".parse().unwrap()));
        for _ in 0..ADDRESS_BURST as usize {
            drop(a.admit_at(addr.clone(), start).unwrap());
        }
        assert_eq!(a.admit_at(addr, start).unwrap_err().code, "rate_limited");
        assert!(a.admit_at(Uploader::Unsigned(None), start).is_ok(), "no address, no bucket");
    }

    #[test]
    fn idle_buckets_are_forgotten_past_the_cap() {
        let a = Arc::new(Admission::default());
        let start = Instant::now();
        {
            let mut rates = a.rates.lock().unwrap();
            for n in 0..MAX_RATE_BUCKETS as u32 {
                let key = RateKey::Address(IpAddr::from(n.to_be_bytes()));
                rates.insert(key, Bucket { tokens: ADDRESS_BURST, at: start });
            }
            rates.insert(RateKey::Agent("agt_busy".into()), Bucket { tokens: 0.0, at: start });
        }
        drop(a.admit_at(agent(9), start).unwrap());
        let rates = a.rates.lock().unwrap();
        assert!(rates.len() < 10, "full buckets went: {} left", rates.len());
        assert!(rates.contains_key(&RateKey::Agent("agt_busy".into())), "a bucket in use stays");
    }
}
