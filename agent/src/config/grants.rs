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
    /// Parse `HOST:PORTS`: `10.0.0.0/24:25,587`, `relay.contoso.local:25`,
    /// `[fd00::1]:25`.
    pub fn parse(input: &str) -> Result<Self, GrantError> {
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
            return Ok(TcpHost::Net(net.trunc()));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(TcpHost::Net(IpNet::from(ip)));
        }
        match HostPattern::parse(host)? {
            HostPattern::Exact(name) => Ok(TcpHost::Name(name)),
            _ => Err(err(input, "TCP grants take one host name, an IP or a CIDR block, not a wildcard")),
        }
    }

    /// Does this grant cover `host` (as the plugin named it), resolved to
    /// `ip`, on `port`?
    pub fn covers(&self, host: &str, ip: IpAddr, port: u16) -> bool {
        if !self.ports.contains(&port) {
            return false;
        }
        match &self.host {
            TcpHost::Any => true,
            TcpHost::Name(n) => n.eq_ignore_ascii_case(host.trim_end_matches('.')),
            TcpHost::Net(net) => net.contains(&ip),
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
        let g = TcpGrant::parse("10.0.0.0/24:25,587").unwrap();
        assert!(g.covers("10.0.0.7", "10.0.0.7".parse().unwrap(), 25));
        assert!(!g.covers("10.0.1.7", "10.0.1.7".parse().unwrap(), 25));
        assert!(!g.covers("10.0.0.7", "10.0.0.7".parse().unwrap(), 22));
        let g = TcpGrant::parse("relay.contoso.local:25").unwrap();
        assert!(g.covers("RELAY.contoso.local", "10.9.9.9".parse().unwrap(), 25));
        assert!(!g.covers("other.local", "10.9.9.9".parse().unwrap(), 25));
        let g = TcpGrant::parse("[::1]:2525").unwrap();
        assert!(g.covers("::1", "::1".parse().unwrap(), 2525));
        for bad in ["10.0.0.0/33:25", "relay:0", "relay", "relay:smtp", "*.x.com:25"] {
            let e = TcpGrant::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
