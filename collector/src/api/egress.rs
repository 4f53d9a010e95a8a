//! [`Egress`]: where a request comes from, as the cross-check records it
//! (the TCP peer, or what a trusted proxy says; see [`crate::egress`]).

use super::AppState;
use crate::serve::PeerAddr;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::IpAddr;

/// The client's address; `None` when the router runs without a listener
/// (in-process tests), which records nothing.
pub struct Egress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for Egress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<PeerAddr>>().map(|ConnectInfo(PeerAddr(a))| a.ip());
        Ok(Egress(peer.map(|ip| state.proxies.client(ip, &parts.headers))))
    }
}
