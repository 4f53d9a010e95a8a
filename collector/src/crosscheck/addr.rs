//! Address ranges as Exchange writes them in `SenderIPAddresses` (and as the
//! config's `trusted_proxies` takes them), and whether a certificate subject
//! is the name an inbound connector's `TlsSenderCertificateName` asks for.

use ipnet::IpNet;
use std::net::IpAddr;

/// One entry of an address list: `192.0.2.7`, `192.0.2.0/24`, `2001:db8::/48`
/// or a span `192.0.2.10-192.0.2.20` (Exchange accepts all three forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// An address or a CIDR block.
    Net(IpNet),
    /// From the first address to the last, both included.
    Span(IpAddr, IpAddr),
}

impl Range {
    /// Parse one entry; `None` when it is none of the forms above.
    pub fn parse(text: &str) -> Option<Range> {
        let text = text.trim();
        if let Some((from, to)) = text.split_once('-') {
            let parse = |s: &str| s.trim().parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
            let (from, to) = (parse(from)?, parse(to)?);
            return (from.is_ipv4() == to.is_ipv4() && from <= to).then_some(Range::Span(from, to));
        }
        if text.contains('/') {
            let net: IpNet = text.parse().ok()?;
            // An IPv4-mapped block (`::ffff:192.0.2.0/120`) compares with
            // IPv4 peers as IPv4.
            return Some(Range::Net(match net {
                IpNet::V6(v6) if v6.addr().to_ipv4_mapped().is_some() && v6.prefix_len() >= 96 => {
                    IpNet::new(IpAddr::from(v6.addr()).to_canonical(), v6.prefix_len() - 96).ok()?
                }
                other => other.trunc(),
            }));
        }
        // A dual-stack listener reports an IPv4 peer as `::ffff:192.0.2.7`.
        Some(Range::Net(IpNet::from(text.parse::<IpAddr>().ok()?.to_canonical())))
    }

    /// Does the range hold `ip`?
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match self {
            Range::Net(net) => net.contains(&ip),
            Range::Span(from, to) => *from <= ip && ip <= *to && from.is_ipv4() == ip.is_ipv4(),
        }
    }
}

/// The entries of a register list attribute (`a, b, c`; `none` and
/// `unknown` hold none), each as written beside its range. Entries that
/// parse as no range are left out: they admit nothing.
pub fn ranges(list: &str) -> Vec<(String, Range)> {
    if matches!(list.trim(), "" | "none" | "unknown") {
        return Vec::new();
    }
    list.split(',').filter_map(|e| Range::parse(e).map(|r| (e.trim().to_string(), r))).collect()
}

/// Does a certificate with `subject` (as the relay reported it,
/// `CN=mail.contoso.example, O=Contoso`) satisfy `wanted`, a connector's
/// `TlsSenderCertificateName`? That is a domain (`mail.contoso.example`,
/// or `*.contoso.example` for one label below it), compared with the
/// subject's common name, or a `<I>issuer<S>subject` pair, whose subject
/// part is compared with the whole subject. Names compare without case.
/// Only the subject is known here, not the alternative names, so a
/// certificate that carries the name only as an alternative name counts
/// as a mismatch; the finding says which subject was seen.
pub fn subject_matches(wanted: &str, subject: &str) -> bool {
    let wanted = wanted.trim();
    if let Some((_, dn)) = wanted.split_once("<S>") {
        return normal_dn(dn) == normal_dn(subject);
    }
    let Some(cn) = common_name(subject) else { return false };
    let (wanted, cn) = (wanted.to_ascii_lowercase(), cn.to_ascii_lowercase());
    if wanted == cn {
        return true;
    }
    match wanted.strip_prefix("*.") {
        Some(parent) => cn.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
        None => false,
    }
}

/// The `CN=` part of a subject.
fn common_name(subject: &str) -> Option<&str> {
    subject.split(',').map(str::trim).find_map(|part| {
        let (name, value) = part.split_once('=')?;
        name.trim().eq_ignore_ascii_case("CN").then_some(value.trim())
    })
}

/// A distinguished name without the spacing and case that vary between writers.
fn normal_dn(dn: &str) -> Vec<String> {
    dn.split(',')
        .map(|part| match part.split_once('=') {
            Some((k, v)) => format!("{}={}", k.trim().to_ascii_uppercase(), v.trim().to_ascii_lowercase()),
            None => part.trim().to_ascii_lowercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_blocks_and_spans() {
        let single = Range::parse("203.0.113.9").unwrap();
        assert!(single.contains(ip("203.0.113.9")) && !single.contains(ip("203.0.113.10")));
        let block = Range::parse(" 198.51.100.0/24 ").unwrap();
        assert!(block.contains(ip("198.51.100.255")) && !block.contains(ip("198.51.101.0")));
        // Host bits set in the entry do not narrow it.
        assert!(Range::parse("198.51.100.77/24").unwrap().contains(ip("198.51.100.1")));
        let span = Range::parse("192.0.2.10-192.0.2.20").unwrap();
        assert!(span.contains(ip("192.0.2.10")) && span.contains(ip("192.0.2.20")) && !span.contains(ip("192.0.2.21")));
        assert!(Range::parse("192.0.2.20-192.0.2.10").is_none(), "a backwards span");
        assert!(Range::parse("192.0.2.1-2001:db8::1").is_none(), "a span across families");
        for bad in ["", "mail.contoso.example", "192.0.2.0/33", "300.1.1.1"] {
            assert!(Range::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn ipv6_and_mapped_addresses() {
        let block = Range::parse("2001:db8:abcd::/48").unwrap();
        assert!(block.contains(ip("2001:db8:abcd:12::1")) && !block.contains(ip("2001:db8:abce::1")));
        assert!(!block.contains(ip("192.0.2.1")));
        let v4 = Range::parse("192.0.2.0/24").unwrap();
        assert!(v4.contains(ip("::ffff:192.0.2.5")), "a dual-stack listener's view of an IPv4 peer");
        assert!(!v4.contains(ip("2001:db8::1")));
        assert!(Range::parse("::ffff:192.0.2.0/120").unwrap().contains(ip("192.0.2.9")));
        assert!(Range::parse("2001:db8::5").unwrap().contains(ip("2001:db8:0:0::5")));
    }

    #[test]
    fn register_lists() {
        let r = ranges("203.0.113.9, 198.51.100.0/24, not-an-address");
        assert_eq!(r.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["203.0.113.9", "198.51.100.0/24"]);
        assert!(ranges("none").is_empty() && ranges("unknown").is_empty());
    }

    #[test]
    fn certificate_names() {
        let subject = "CN=Mail.Contoso.example, O=Contoso";
        assert!(subject_matches("mail.contoso.example", subject));
        assert!(subject_matches("*.contoso.example", subject));
        assert!(!subject_matches("*.example", subject), "a wildcard covers one label");
        assert!(!subject_matches("relay.contoso.example", subject));
        assert!(!subject_matches("mail.contoso.example", "O=Contoso"), "no common name");
        assert!(subject_matches("<I>CN=Contoso CA<S>CN=mail.contoso.example,O=contoso", subject));
        assert!(!subject_matches("<I>CN=Contoso CA<S>CN=relay.contoso.example", subject));
    }
}
