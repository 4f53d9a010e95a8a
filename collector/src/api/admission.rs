//! Who may start an upload now: at most a few ingests in flight per client
//! address and a bounded number in all, decided before the body is read, so
//! that nobody, enrolled or not, can make the collector buffer 64 MiB
//! bodies without end. Over the limit is a 429 with `Retry-After`, which
//! the agent honours and retries.

use super::error::ApiError;
use super::AppState;
use crate::serve::PeerAddr;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Ingests in flight from one address: an agent sends one batch at a time,
/// a NAT of a few sites a handful.
pub const MAX_INGESTS_PER_ADDRESS: usize = 8;
/// Ingests in flight in all: with bodies of up to 64 MiB, a bound on memory.
pub const MAX_INGESTS_IN_FLIGHT: usize = 64;
/// What a refused client is told to wait, in seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 5;

/// The counts in flight.
#[derive(Debug, Default)]
pub struct Admission {
    in_flight: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl Admission {
    /// Admit one more from `addr` (`None`: the address is unknown, as in
    /// tests that call the router directly), or say why not.
    pub fn admit(self: &Arc<Self>, addr: Option<IpAddr>) -> Result<Admitted, ApiError> {
        let mut guard = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per) = &mut *guard;
        let mine = addr.map_or(0, |a| per.get(&a).copied().unwrap_or(0));
        if *total >= MAX_INGESTS_IN_FLIGHT || mine >= MAX_INGESTS_PER_ADDRESS {
            return Err(busy());
        }
        *total += 1;
        if let Some(a) = addr {
            *per.entry(a).or_insert(0) += 1;
        }
        Ok(Admitted { admission: self.clone(), addr })
    }
}

/// One admitted ingest; its slot is given back when dropped.
#[derive(Debug)]
pub struct Admitted {
    admission: Arc<Admission>,
    addr: Option<IpAddr>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut guard = self.admission.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per) = &mut *guard;
        *total = total.saturating_sub(1);
        if let Some(a) = self.addr {
            if let Some(n) = per.get_mut(&a) {
                *n -= 1;
                if *n == 0 {
                    per.remove(&a);
                }
            }
        }
    }
}

fn busy() -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "busy",
        format!("too many uploads in flight; retry in {BUSY_RETRY_AFTER_SECS} s"),
    );
    e.retry_after_secs = Some(BUSY_RETRY_AFTER_SECS);
    e
}

impl FromRequestParts<AppState> for Admitted {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let addr = parts.extensions.get::<ConnectInfo<PeerAddr>>().map(|ConnectInfo(PeerAddr(a))| a.ip().to_canonical());
        state.admission.admit(addr).inspect_err(|e| state.metrics.ingest(e.code, std::time::Duration::ZERO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_address_and_in_all_and_given_back() {
        let a = Arc::new(Admission::default());
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..MAX_INGESTS_PER_ADDRESS).map(|_| a.admit(Some(one)).unwrap()).collect();
        let e = a.admit(Some(one)).unwrap_err();
        assert_eq!((e.status, e.code, e.retry_after_secs), (StatusCode::TOO_MANY_REQUESTS, "busy", Some(5)));
        assert!(a.admit(Some("192.0.2.2".parse().unwrap())).is_ok(), "another address still gets in");
        drop(held);
        assert!(a.admit(Some(one)).is_ok(), "slots come back");
        let all: Vec<_> = (0..MAX_INGESTS_IN_FLIGHT).map(|_| a.admit(None).unwrap()).collect();
        assert!(a.admit(Some("192.0.2.3".parse().unwrap())).is_err(), "the total bounds everyone");
        drop(all);
    }
}
