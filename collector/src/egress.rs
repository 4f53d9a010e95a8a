//! The address an agent's delivery comes from: its site's egress, for the
//! cross-check ([`crate::crosscheck`]). That is the TCP peer, unless the
//! peer is a proxy the config's `trusted_proxies` names; then it is the
//! right-most `X-Forwarded-For` hop that is not itself a trusted proxy
//! (every hop left of a trusted one was written by whoever connected, and
//! may be forged).

use crate::crosscheck::addr::Range;
use axum::http::HeaderMap;
use std::net::IpAddr;

/// Most `X-Forwarded-For` hops read: a longer chain is not from a proxy
/// set-up anyone runs, and reading it costs the request's time.
pub const MAX_FORWARDED_HOPS: usize = 32;

/// The proxies whose `X-Forwarded-For` counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Range>);

impl TrustedProxies {
    /// From the config's entries (`10.0.0.5`, `10.1.0.0/16`); each must parse.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|e| {
                Range::parse(e).ok_or_else(|| {
                    format!("trusted_proxies: {e:?} is not an address or a CIDR block; write e.g. \"10.0.0.5\" or \"10.1.0.0/16\"")
                })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|r| r.contains(ip))
    }

    /// The client's address: `peer`, or behind a trusted proxy the
    /// right-most untrusted `X-Forwarded-For` hop (several headers read as
    /// one list, in order). A chain that does not parse, or is all trusted
    /// proxies, names nobody better than the peer.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let mut hops: Vec<&str> = Vec::new();
        for value in headers.get_all("x-forwarded-for") {
            let Ok(text) = value.to_str() else { return peer };
            hops.extend(text.split(','));
            if hops.len() > MAX_FORWARDED_HOPS {
                return peer;
            }
        }
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else { return peer };
            if !self.trusts(ip) {
                return ip;
            }
        }
        peer
    }
}

/// One hop: an address, maybe with a port (`192.0.2.7:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let proxies = TrustedProxies::parse(&["10.0.0.5".into(), "10.1.0.0/16".into()]).unwrap();
        let h = headers(&["198.51.100.1, 203.0.113.9"]);
        assert_eq!(proxies.client(ip("192.0.2.50"), &h), ip("192.0.2.50"), "an untrusted peer's header is ignored");
        assert_eq!(proxies.client(ip("10.0.0.5"), &h), ip("203.0.113.9"), "the right-most hop the proxy saw");
        // A second trusted proxy in the chain is skipped; what is left of the first untrusted hop is anyone's.
        let chained = headers(&["6.6.6.6, 203.0.113.9", "10.1.2.3"]);
        assert_eq!(proxies.client(ip("10.0.0.5"), &chained), ip("203.0.113.9"));
        assert_eq!(proxies.client(ip("::ffff:10.0.0.5"), &headers(&["[2001:db8::7]:4711"])), ip("2001:db8::7"));
        assert_eq!(proxies.client(ip("10.0.0.5"), &headers(&["203.0.113.9:4711"])), ip("203.0.113.9"));
    }

    #[test]
    fn a_bad_chain_names_the_peer() {
        let proxies = TrustedProxies::parse(&["10.0.0.5".into()]).unwrap();
        assert_eq!(proxies.client(ip("10.0.0.5"), &HeaderMap::new()), ip("10.0.0.5"), "no header");
        assert_eq!(proxies.client(ip("10.0.0.5"), &headers(&["203.0.113.9, garbage"])), ip("10.0.0.5"));
        assert_eq!(proxies.client(ip("10.0.0.5"), &headers(&["10.0.0.5"])), ip("10.0.0.5"), "only proxies");
        let long = vec!["203.0.113.9"; MAX_FORWARDED_HOPS + 1].join(",");
        assert_eq!(proxies.client(ip("10.0.0.5"), &headers(&[&long])), ip("10.0.0.5"));
        assert_eq!(TrustedProxies::default().client(ip("10.0.0.5"), &headers(&["203.0.113.9"])), ip("10.0.0.5"));
    }

    #[test]
    fn bad_entries_are_refused() {
        let e = TrustedProxies::parse(&["10.0.0.5".into(), "proxy.internal".into()]).unwrap_err();
        assert!(e.contains("\"proxy.internal\"") && e.contains("CIDR"), "{e}");
    }
}
