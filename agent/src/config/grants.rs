//! Grants parsed into typed values. Every parse error says what was wrong
//! and shows a value that would work.

use ipnet::IpNet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A grant that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("{input:?}: {reason}")]
pub struct GrantError {
    input: String,
    reason: String,
}

fn err(input: &str, reason: impl Into<String>) -> GrantError {
    GrantError {
        input: input.to_string(),
        reason: reason.into(),
    }
}

/// A host name, or `*.domain` for any subdomain of `domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Exactly this host (lower-case).
    Exact(String),
    /// Any host ending in `.suffix` (not `suffix` itself).
    Subdomains(String),
    /// Any host at all (only meaningful in a plugin's declaration).
    Any,
}

impl HostPattern {
    /// Parse `graph.microsoft.com`, `*.webhook.office.com` or `*`.
    pub fn parse(input: &str) -> Result<Self, GrantError> {
        let s = input.trim().to_ascii_lowercase();
        if s == "*" {
            return Ok(HostPattern::Any);
        }
        if s.contains("://") || s.contains('/') || s.contains(':') {
            return Err(err(
                input,
                "give a bare host name without scheme, port or path, e.g. \"graph.microsoft.com\"",
            ));
        }
        let (sub, name) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest.to_string()),
            None => (false, s.clone()),
        };
        if name.is_empty()
            || name.contains('*')
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(err(
                input,
                "not a host name; use letters, digits, dots and dashes, with an optional leading \"*.\" (e.g. \"*.webhook.office.com\")",
            ));
        }
        Ok(if sub {
            HostPattern::Subdomains(name)
        } else {
            HostPattern::Exact(name)
        })
    }

    /// Parse an operator's pattern: like [`HostPattern::parse`], but `*`
    /// is refused, since it means "whatever is granted" and only a plugin's
    /// declaration may say that.
    pub fn parse_grant(input: &str) -> Result<Self, GrantError> {
        match Self::parse(input)? {
            HostPattern::Any => Err(err(
                input,
                "`*` would grant every host; name the hosts, e.g. \"graph.microsoft.com\" or \"*.webhook.office.com\"",
            )),
            p => Ok(p),
        }
    }

    /// Does `host` match?
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match self {
            HostPattern::Any => true,
            HostPattern::Exact(h) => host == *h,
            HostPattern::Subdomains(suffix) => host
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.ends_with('.') && head.len() > 1),
        }
    }
}

/// An HTTPS target: a host pattern and one port, 443 unless the text names
/// another (`fixture.local:8443`), so that a grant of a host does not open
/// every service on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    /// Which hosts.
    pub host: HostPattern,
    /// Which port.
    pub port: u16,
}

impl HttpTarget {
    /// The port an `https://` URL without one uses.
    pub const DEFAULT_PORT: u16 = 443;

    /// Parse a plugin's declaration: `HOST[:PORT]`, `*.domain[:PORT]` or `*`
    /// (any host on any port: the operator's grant, intersected with it,
    /// names both).
    pub fn parse_declared(input: &str) -> Result<Self, GrantError> {
        Self::parse_with(input, HostPattern::parse)
    }

    /// Parse an operator's grant: `HOST[:PORT]` or `*.domain[:PORT]`; `*`
    /// is refused.
    pub fn parse_grant(input: &str) -> Result<Self, GrantError> {
        Self::parse_with(input, HostPattern::parse_grant)
    }

    fn parse_with(input: &str, host: fn(&str) -> Result<HostPattern, GrantError>) -> Result<Self, GrantError> {
        let s = input.trim();
        let (name, port) = match s.rsplit_once(':') {
            Some((name, port)) if !name.contains("://") && !port.contains('/') => {
                let port = port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                    err(input, format!("{port:?} is not a port between 1 and 65535; e.g. \"fixture.local:8443\""))
                })?;
                (name, port)
            }
            _ => (s, Self::DEFAULT_PORT),
        };
        Ok(HttpTarget { host: host(name).map_err(|e| err(input, e.reason))?, port })
    }

    /// Does this cover `host` (normalised) on `port`? `*` declared by a
    /// plugin covers any port: the operator's grant names the port.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        (self.port == port || self.host == HostPattern::Any) && self.host.matches(host)
    }
}

/// Where a TCP grant or declaration points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpHost {
    /// A host name, matched literally (case-insensitive).
    Name(String),
    /// An address or a block of addresses.
    Net(IpNet),
    /// Anything (only meaningful in a plugin's declaration).
    Any,
}

/// A TCP target: host and allowed ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpGrant {
    /// Where.
    pub host: TcpHost,
    /// Which ports.
    pub ports: Vec<u16>,
}

impl TcpGrant {
    /// Parse an operator's grant, `HOST:PORTS`: `10.0.0.0/24:25,587`,
    /// `relay.contoso.local:25`, `[fd00::1]:25`. `*` is refused: it means
    /// something only in a plugin's declaration.
    pub fn parse(input: &str) -> Result<Self, GrantError> {
        let grant = Self::parse_any(input)?;
        if grant.host == TcpHost::Any {
            return Err(err(
                input,
                "`*` would grant every address; name a host, an IP or a CIDR block, e.g. \"10.0.0.0/24:25\"",
            ));
        }
        Ok(grant)
    }

    fn parse_any(input: &str) -> Result<Self, GrantError> {
        let s = input.trim();
        let example = "write it as HOST:PORTS, e.g. \"10.0.0.0/24:25,587,465\" or \"relay.contoso.local:25\"";
        let (host, ports) = if let Some(rest) = s.strip_prefix('[') {
            let (h, p) = rest.split_once("]:").ok_or_else(|| err(input, example))?;
            (h, p)
        } else {
            s.rsplit_once(':').ok_or_else(|| err(input, format!("no port list; {example}")))?
        };
        let ports = ports
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| err(input, format!("{p:?} is not a port between 1 and 65535; {example}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TcpGrant {
            host: Self::parse_host(input, host)?,
            ports,
        })
    }

    /// A declaration from a plugin: host text plus ports.
    pub fn declared(host: &str, ports: &[u16]) -> Result<Self, GrantError> {
        Ok(TcpGrant {
            host: Self::parse_host(host, host)?,
            ports: ports.to_vec(),
        })
    }

    fn parse_host(input: &str, host: &str) -> Result<TcpHost, GrantError> {
        let host = host.trim();
        if host == "*" {
            return Ok(TcpHost::Any);
        }
        if host.contains('/') {
            let net: IpNet = host.parse().map_err(|e| {
                err(input, format!("{host:?} is not a CIDR block ({e}); e.g. \"192.168.1.0/24\""))
            })?;
            return Ok(TcpHost::Net(canonical_net(net.trunc())));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(TcpHost::Net(IpNet::from(ip.to_canonical())));
        }
        match HostPattern::parse(host)? {
            HostPattern::Exact(name) => Ok(TcpHost::Name(name)),
            _ => Err(err(input, "TCP grants take one host name, an IP or a CIDR block, not a wildcard")),
        }
    }

    /// Does this cover the host name `host` on `port`? Only a name grant
    /// (or a declaration of `*`) does: a CIDR grant covers IP literals, so
    /// that no name is resolved on the strength of an address block.
    pub fn covers_name(&self, host: &str, port: u16) -> bool {
        self.ports.contains(&port)
            && match &self.host {
                TcpHost::Any => true,
                TcpHost::Name(n) => n.eq_ignore_ascii_case(host.trim_end_matches('.')),
                TcpHost::Net(_) => false,
            }
    }

    /// Does this cover the address `ip` (IPv4-mapped IPv6 compared as IPv4,
    /// so `::/0` is not IPv4 loopback) on `port`?
    pub fn covers_ip(&self, ip: IpAddr, port: u16) -> bool {
        self.ports.contains(&port)
            && match &self.host {
                TcpHost::Any => true,
                TcpHost::Name(_) => false,
                TcpHost::Net(net) => net.contains(&ip.to_canonical()),
            }
    }
}

/// `::ffff:a.b.c.d/N` (N >= 96) as the IPv4 block it is; anything else unchanged.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).map(|n| n.trunc()).unwrap_or(net),
            None => net,
        },
        other => other,
    }
}

/// May a name grant connect to `ip`, which DNS returned? Not to addresses
/// that no real relay has and that reach the machine itself or its cloud
/// metadata service: unspecified (0.0.0.0, which connects to this host),
/// link-local (169.254.169.254, fe80::), multicast and broadcast. The
/// operator can still grant one of those by its literal address.
pub fn resolved_address_usable(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_link_local() || v4.is_multicast() || v4.is_broadcast()),
        IpAddr::V6(v6) => {
            !(v6.is_unspecified() || v6.is_multicast() || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// A directory a plugin may read below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileGrant {
    /// The directory as configured (absolute).
    pub dir: PathBuf,
}

impl FileGrant {
    /// Grant `dir`.
    pub fn new(dir: &Path) -> Self {
        FileGrant {
            dir: dir.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns() {
        let p = HostPattern::parse("*.webhook.office.com").unwrap();
        assert!(p.matches("contoso.webhook.office.com"));
        assert!(p.matches("Contoso.Webhook.Office.com."));
        assert!(!p.matches("webhook.office.com"));
        assert!(!p.matches("evilwebhook.office.com"));
        let e = HostPattern::parse("https://graph.microsoft.com/").unwrap_err().to_string();
        assert!(e.contains("bare host name"), "{e}");
        assert!(HostPattern::parse("a*b.com").is_err());
        assert!(HostPattern::parse("graph.microsoft.com").unwrap().matches("GRAPH.microsoft.com"));
    }

    #[test]
    fn tcp_grants() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let g = TcpGrant::parse("10.0.0.0/24:25,587").unwrap();
        assert!(g.covers_ip(ip("10.0.0.7"), 25));
        assert!(!g.covers_ip(ip("10.0.1.7"), 25));
        assert!(!g.covers_ip(ip("10.0.0.7"), 22));
        assert!(!g.covers_name("relay.in.the.block", 25), "a CIDR grant must not cover names");
        let g = TcpGrant::parse("relay.contoso.local:25").unwrap();
        assert!(g.covers_name("RELAY.contoso.local.", 25));
        assert!(!g.covers_name("other.local", 25));
        assert!(!g.covers_ip(ip("10.9.9.9"), 25));
        let g = TcpGrant::parse("[::1]:2525").unwrap();
        assert!(g.covers_ip(ip("::1"), 2525));
        for bad in ["10.0.0.0/33:25", "relay:0", "relay", "relay:smtp", "*.x.com:25", "*:25"] {
            let e = TcpGrant::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let all_v6 = TcpGrant::parse("[::/0]:25").unwrap();
        assert!(!all_v6.covers_ip(ip("::ffff:127.0.0.1"), 25), "::/0 must not cover IPv4 loopback");
        assert!(all_v6.covers_ip(ip("fd00::1"), 25));
        let mapped_grant = TcpGrant::parse("[::ffff:10.0.0.0/120]:25").unwrap();
        assert!(mapped_grant.covers_ip(ip("10.0.0.9"), 25));
        let loopback = TcpGrant::parse("127.0.0.1:25").unwrap();
        assert!(loopback.covers_ip(ip("::ffff:127.0.0.1"), 25));
        for bad in ["0.0.0.0", "169.254.169.254", "::ffff:169.254.169.254", "fe80::1", "::", "224.0.0.1"] {
            assert!(!resolved_address_usable(ip(bad)), "{bad}");
        }
        for good in ["10.0.0.5", "127.0.0.1", "::1", "2001:db8::1"] {
            assert!(resolved_address_usable(ip(good)), "{good}");
        }
    }

    #[test]
    fn operator_wildcards_are_config_errors() {
        assert!(HostPattern::parse("*").is_ok(), "a declaration may say any host");
        let e = HostPattern::parse_grant("*").unwrap_err().to_string();
        assert!(e.contains("every host") && e.contains("graph.microsoft.com"), "{e}");
        assert!(HostPattern::parse_grant("*.webhook.office.com").is_ok());
        assert!(TcpGrant::declared("*", &[25]).is_ok());
    }

    #[test]
    fn http_targets_default_to_443() {
        let t = HttpTarget::parse_grant("graph.microsoft.com").unwrap();
        assert!(t.matches("graph.microsoft.com", 443));
        assert!(!t.matches("graph.microsoft.com", 8443));
        let t = HttpTarget::parse_grant("fixture.local:8443").unwrap();
        assert!(t.matches("fixture.local", 8443) && !t.matches("fixture.local", 443));
        assert!(HttpTarget::parse_declared("*").unwrap().matches("any.host", 9999));
        for bad in ["*", "graph.microsoft.com:0", "graph.microsoft.com:https", "https://graph.microsoft.com"] {
            assert!(HttpTarget::parse_grant(bad).is_err(), "{bad}");
        }
    }
}
