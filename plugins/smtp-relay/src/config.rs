//! The plugin's settings, and the targets they name.
//!
//! | setting              | default             | meaning |
//! |----------------------|---------------------|---------|
//! | `targets`            | (required)          | comma list (or TOML array) of host names, IPs or CIDR blocks, each with an optional `:port` (`[v6]:port` for IPv6) |
//! | `ports`              | `25,587,465`        | ports for targets without their own `:port`; only these three are allowed (the plugin declares no others to the host) |
//! | `tls_ports`          | `465`               | ports that speak TLS from the first byte (implicit TLS, "smtps"); every other port starts in cleartext and is offered STARTTLS |
//! | `helo_domain`        | `plumbline.invalid` | the name sent with EHLO/HELO |
//! | `test_domain`        | `example.com`       | the outside domain D of the relay test; never the client's own domain |
//! | `relay_test`         | `true`              | run the 16-combination open-relay test (never sends DATA) |
//! | `connect_timeout_ms` | `3000`              | per TCP connect to a target named by host name or IP |
//! | `sweep_connect_timeout_ms` | `1000`        | per TCP connect to an address of a CIDR block: the site's own LAN, where a live host answers in milliseconds |
//! | `read_timeout_ms`    | `10000`             | for one whole reply to arrive (a server dripping bytes does not reset it) and for each write and TLS handshake |
//! | `host_budget_ms`     | `60000`             | everything done with one endpoint (host and port), reconnects included |
//! | `scan_budget_ms`     | `480000`            | the whole scan; keep it below the plugin's `timeout_secs` (default 600 s) so that the report comes back |
//! | `max_hosts`          | `1024`              | most addresses all targets may name together (CIDR blocks expanded) |
//!
//! A plugin runs single-threaded and every host call blocks it, so
//! endpoints are checked one after another: there is no `concurrency`
//! setting. A sweep is bounded instead by `max_hosts` (checked before
//! anything is sent), by `host_budget_ms` per endpoint and by
//! `scan_budget_ms` overall; in a CIDR sweep an address whose first connect
//! times out is taken as absent and its other ports are not tried.

use crate::text::is_host_name;
use plumbline_plugin_sdk::settings::Settings;
use plumbline_plugin_sdk::SettingSpec;
use plumbline_plugin_sdk::ScanError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Default `ports`: SMTP, submission, and submission over implicit TLS.
pub const DEFAULT_PORTS: [u16; 3] = [25, 587, 465];
/// The ports the plugin declares to the host (see `capabilities()`): the
/// host refuses any other, whatever the grant says.
pub const DECLARED_PORTS: [u16; 3] = DEFAULT_PORTS;
/// Default `tls_ports`.
pub const DEFAULT_TLS_PORTS: [u16; 1] = [465];
/// Default `helo_domain`: `.invalid` can never be anyone's real domain.
pub const DEFAULT_HELO_DOMAIN: &str = "plumbline.invalid";
/// Default `test_domain`, reserved for documentation (RFC 2606).
pub const DEFAULT_TEST_DOMAIN: &str = "example.com";
/// Default `connect_timeout_ms`: enough for a LAN or VPN, short for a sweep.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 3_000;
/// Default `sweep_connect_timeout_ms`. A swept block is the site's own
/// network, where a SYN-ACK takes well under 10 ms, and most of its
/// addresses are silent, so a sweep lasts about one of these. nmap starts
/// its probes at a 1 s round-trip timeout too (`--initial-rtt-timeout`).
pub const DEFAULT_SWEEP_CONNECT_TIMEOUT_MS: u64 = 1_000;
/// Default `read_timeout_ms` (nmap's smtp library uses 10 s too).
pub const DEFAULT_READ_TIMEOUT_MS: u64 = 10_000;
/// Default `host_budget_ms`: the relay test against a server that slows
/// down after errors (Postfix sleeps 1 s per error past 10) fits.
pub const DEFAULT_HOST_BUDGET_MS: u64 = 60_000;
/// Default `scan_budget_ms`: below the host's default plugin time limit of
/// 600 s, so that a long sweep still returns what it found.
pub const DEFAULT_SCAN_BUDGET_MS: u64 = 480_000;
/// Every setting, as `describe()` declares it.
pub fn declared() -> Vec<SettingSpec> {
    let ports = |p: &[u16]| p.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
    vec![
        SettingSpec::list("targets", "host names, IPs or CIDR blocks to check, each with an optional :port").required(),
        SettingSpec::list("ports", "ports for targets without their own; only 25, 587 and 465")
            .default(ports(&DEFAULT_PORTS)),
        SettingSpec::list("tls_ports", "ports that speak TLS from the first byte").default(ports(&DEFAULT_TLS_PORTS)),
        SettingSpec::text("helo_domain", "the name sent with EHLO/HELO").default(DEFAULT_HELO_DOMAIN),
        SettingSpec::text("test_domain", "the outside domain of the relay test; never the client's own")
            .default(DEFAULT_TEST_DOMAIN),
        SettingSpec::boolean("relay_test", "run the 16-combination open-relay test (never sends DATA)").default(true),
        SettingSpec::duration("connect_timeout_ms", "per TCP connect, in milliseconds")
            .default(DEFAULT_CONNECT_TIMEOUT_MS),
        SettingSpec::duration(
            "sweep_connect_timeout_ms",
            "per TCP connect to an address of a CIDR block (raise it for a block across a slow VPN), in milliseconds",
        )
        .default(DEFAULT_SWEEP_CONNECT_TIMEOUT_MS),
        SettingSpec::duration("read_timeout_ms", "for one whole reply, each write and TLS handshake, in milliseconds")
            .default(DEFAULT_READ_TIMEOUT_MS),
        SettingSpec::duration("host_budget_ms", "everything done with one endpoint, in milliseconds")
            .default(DEFAULT_HOST_BUDGET_MS),
        SettingSpec::duration(
            "scan_budget_ms",
            "the whole scan, in milliseconds; keep it below the plugin's timeout_secs",
        )
        .default(DEFAULT_SCAN_BUDGET_MS),
        SettingSpec::integer("max_hosts", "most addresses all targets may name together").default(DEFAULT_MAX_HOSTS),
        SettingSpec::integer("concurrency", "ignored: endpoints are checked one at a time"),
    ]
}

/// Default `max_hosts`: a /22, or four /24s.
pub const DEFAULT_MAX_HOSTS: u64 = 1024;
/// The host caps every TCP timeout at 60 s.
pub const MAX_TIMEOUT_MS: u64 = 60_000;
/// Upper bound for `max_hosts`, whatever is configured.
pub const MAX_HOSTS_CEILING: u64 = 65_536;

/// Where a target points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A host name; the host resolves it (and checks the grant against the
    /// name and every address it resolves to).
    Name(String),
    /// One address.
    Ip(IpAddr),
    /// A CIDR block, swept.
    Net(Cidr),
}

/// A CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address (host bits cleared).
    pub base: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    fn bits(&self) -> u8 {
        if self.base.is_ipv4() {
            32
        } else {
            128
        }
    }

    /// Addresses swept: all of them, less the network and broadcast
    /// addresses of IPv4 blocks larger than /31. Saturates.
    pub fn host_count(&self) -> u64 {
        let host_bits = u32::from(self.bits() - self.prefix);
        let all = 1u128.checked_shl(host_bits).unwrap_or(u128::MAX);
        let usable = if self.base.is_ipv4() && host_bits >= 2 { all - 2 } else { all };
        u64::try_from(usable).unwrap_or(u64::MAX)
    }

    /// The swept addresses, in order.
    pub fn hosts(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let host_bits = u32::from(self.bits() - self.prefix);
        let skip_ends = self.base.is_ipv4() && host_bits >= 2;
        let first = u128::from(skip_ends);
        let count = u128::from(self.host_count());
        let base = match self.base {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6),
        };
        let v4 = self.base.is_ipv4();
        (0..count).map(move |i| {
            let n = base + first + i;
            if v4 {
                IpAddr::V4(Ipv4Addr::from(n as u32))
            } else {
                IpAddr::V6(Ipv6Addr::from(n))
            }
        })
    }
}

/// One entry of `targets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As the operator wrote it.
    pub text: String,
    /// Where.
    pub place: Place,
    /// Its own port, overriding `ports`.
    pub port: Option<u16>,
}

/// The parsed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// What to check.
    pub targets: Vec<Target>,
    /// Ports for targets without their own.
    pub ports: Vec<u16>,
    /// Implicit-TLS ports.
    pub tls_ports: Vec<u16>,
    /// EHLO name.
    pub helo_domain: String,
    /// The relay test's outside domain.
    pub test_domain: String,
    /// Run the relay test.
    pub relay_test: bool,
    /// Per connect to a named target.
    pub connect_timeout_ms: u64,
    /// Per connect to a swept address.
    pub sweep_connect_timeout_ms: u64,
    /// Per reply, write and handshake.
    pub read_timeout_ms: u64,
    /// Per endpoint.
    pub host_budget_ms: u64,
    /// Per scan.
    pub scan_budget_ms: u64,
    /// Most addresses in all targets together.
    pub max_hosts: u64,
}

fn config_err(msg: impl Into<String>) -> ScanError {
    ScanError::Config(msg.into())
}

impl Config {
    /// Read and check the settings.
    pub fn from_settings(s: &Settings) -> Result<Config, ScanError> {
        let texts = s.list("targets");
        if texts.is_empty() {
            return Err(config_err(
                "setting `targets` is missing or empty; list the relay hosts, IPs or CIDR blocks to \
                 check, e.g. targets = [\"10.0.0.25\", \"relay.contoso.local:587\", \"10.0.1.0/24\"] \
                 (and grant them in [plugins.smtp-relay.grants] tcp)",
            ));
        }
        let targets = texts.iter().map(|t| parse_target(t)).collect::<Result<Vec<_>, _>>()?;
        let ports = port_list(s, "ports", &DEFAULT_PORTS)?;
        if ports.is_empty() {
            return Err(config_err("setting `ports` is empty; e.g. ports = \"25,587,465\""));
        }
        let tls_ports = port_list(s, "tls_ports", &DEFAULT_TLS_PORTS)?;
        let helo_domain = domain(s, "helo_domain", DEFAULT_HELO_DOMAIN)?;
        let test_domain = domain(s, "test_domain", DEFAULT_TEST_DOMAIN)?;
        let relay_test = match s.get("relay_test").map(|v| v.trim().to_ascii_lowercase()) {
            None => true,
            Some(v) if v == "true" || v == "yes" => true,
            Some(v) if v == "false" || v == "no" => false,
            Some(v) => {
                return Err(config_err(format!("setting `relay_test` must be true or false, got {v:?}")))
            }
        };
        let connect_timeout_ms = millis(s, "connect_timeout_ms", DEFAULT_CONNECT_TIMEOUT_MS, MAX_TIMEOUT_MS)?;
        let sweep_connect_timeout_ms =
            millis(s, "sweep_connect_timeout_ms", DEFAULT_SWEEP_CONNECT_TIMEOUT_MS, MAX_TIMEOUT_MS)?;
        let read_timeout_ms = millis(s, "read_timeout_ms", DEFAULT_READ_TIMEOUT_MS, MAX_TIMEOUT_MS)?;
        let host_budget_ms = millis(s, "host_budget_ms", DEFAULT_HOST_BUDGET_MS, u64::MAX)?;
        let scan_budget_ms = millis(s, "scan_budget_ms", DEFAULT_SCAN_BUDGET_MS, u64::MAX)?;
        let max_hosts = s.u64_or("max_hosts", DEFAULT_MAX_HOSTS)?;
        if max_hosts == 0 || max_hosts > MAX_HOSTS_CEILING {
            return Err(config_err(format!(
                "setting `max_hosts` must be from 1 to {MAX_HOSTS_CEILING}, got {max_hosts}"
            )));
        }
        let undeclared: Vec<u16> = ports
            .iter()
            .copied()
            .chain(targets.iter().filter_map(|t| t.port))
            .filter(|p| !DECLARED_PORTS.contains(p))
            .collect();
        if let Some(p) = undeclared.first() {
            return Err(config_err(format!(
                "port {p} in `ports` or `targets`: this plugin may only connect to ports {} (what it declares \
                 to the host), so the host would refuse it",
                DECLARED_PORTS.map(|p| p.to_string()).join(", ")
            )));
        }
        let config = Config {
            targets,
            ports,
            tls_ports,
            helo_domain,
            test_domain,
            relay_test,
            connect_timeout_ms,
            sweep_connect_timeout_ms,
            read_timeout_ms,
            host_budget_ms,
            scan_budget_ms,
            max_hosts,
        };
        let total = config.address_count();
        if total > max_hosts {
            return Err(config_err(format!(
                "`targets` name {total} addresses, more than max_hosts ({max_hosts}); narrow the CIDR \
                 blocks or raise `max_hosts` (each address costs up to {} connects)",
                config.ports.len()
            )));
        }
        Ok(config)
    }

    /// Addresses named by all targets together (a host name counts as one).
    pub fn address_count(&self) -> u64 {
        self.targets
            .iter()
            .map(|t| match &t.place {
                Place::Net(c) => c.host_count(),
                _ => 1,
            })
            .fold(0u64, u64::saturating_add)
    }

    /// The ports to try for `target`.
    pub fn ports_for(&self, target: &Target) -> Vec<u16> {
        match target.port {
            Some(p) => vec![p],
            None => self.ports.clone(),
        }
    }

    /// Does `port` speak TLS from the first byte?
    pub fn implicit_tls(&self, port: u16) -> bool {
        self.tls_ports.contains(&port)
    }
}

/// Parse one `targets` entry.
pub fn parse_target(text: &str) -> Result<Target, ScanError> {
    let t = text.trim();
    let bad = |why: &str| {
        config_err(format!(
            "target {t:?} in `targets`: {why}; write a host name, an IP or a CIDR block with an optional \
             :port, e.g. relay.contoso.local, 10.0.0.25:587, 10.0.1.0/24, [fd00::25]:25"
        ))
    };
    if t == "*" {
        return Err(bad("`*` is what the plugin asks the host for, not a target"));
    }
    let (host, port) = if let Some(rest) = t.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(|| bad("missing `]`"))?;
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':').ok_or_else(|| bad("expected `:port` after `]`"))?)),
        }
    } else if t.matches(':').count() >= 2 {
        (t, None) // a bare IPv6 address or block
    } else {
        match t.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (t, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(
            p.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad(&format!("{p:?} is not a port from 1 to 65535")))?,
        ),
    };
    let place = if let Some((addr, prefix)) = host.split_once('/') {
        let base: IpAddr = addr.parse().map_err(|_| bad(&format!("{addr:?} is not an IP address")))?;
        let bits = if base.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= bits)
            .ok_or_else(|| bad(&format!("/{prefix} is not a prefix length from 0 to {bits}")))?;
        Place::Net(Cidr { base: mask(base, prefix), prefix })
    } else if let Ok(ip) = host.parse::<IpAddr>() {
        Place::Ip(ip)
    } else if is_host_name(host) {
        Place::Name(host.trim_end_matches('.').to_ascii_lowercase())
    } else {
        return Err(bad("not a host name, IP or CIDR block"));
    };
    Ok(Target { text: t.to_string(), place, port })
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & m))
        }
        IpAddr::V6(v6) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & m))
        }
    }
}

fn port_list(s: &Settings, name: &str, default: &[u16]) -> Result<Vec<u16>, ScanError> {
    if s.get(name).is_none() {
        return Ok(default.to_vec());
    }
    let mut out = Vec::new();
    for p in s.list(name) {
        let port = p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
            config_err(format!("setting `{name}`: {p:?} is not a port from 1 to 65535"))
        })?;
        if !out.contains(&port) {
            out.push(port);
        }
    }
    Ok(out)
}

fn domain(s: &Settings, name: &str, default: &str) -> Result<String, ScanError> {
    let v = s.get(name).map(str::trim).unwrap_or(default);
    if !is_host_name(v) || !v.contains('.') {
        return Err(config_err(format!(
            "setting `{name}` must be a domain name such as {default}, got {v:?}"
        )));
    }
    Ok(v.to_ascii_lowercase())
}

fn millis(s: &Settings, name: &str, default: u64, max: u64) -> Result<u64, ScanError> {
    let v = s.u64_or(name, default)?;
    if v == 0 || v > max {
        return Err(config_err(format!(
            "setting `{name}` must be from 1 to {max} milliseconds{}, got {v}",
            if max == MAX_TIMEOUT_MS { " (the host caps TCP timeouts at 60 s)" } else { "" }
        )));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ScanError> {
        Config::from_settings(&Settings::from_pairs(pairs))
    }

    fn err(r: Result<Config, ScanError>) -> String {
        match r {
            Err(ScanError::Config(m)) => m,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = cfg(&[("targets", "10.0.0.25")]).unwrap();
        assert_eq!(c.ports, [25, 587, 465]);
        assert_eq!(c.tls_ports, [465]);
        assert_eq!(c.helo_domain, "plumbline.invalid");
        assert_eq!(c.test_domain, "example.com");
        assert!(c.relay_test);
        assert_eq!(
            (c.connect_timeout_ms, c.read_timeout_ms, c.host_budget_ms, c.scan_budget_ms, c.max_hosts),
            (3_000, 10_000, 60_000, 480_000, 1024)
        );
        assert!(c.implicit_tls(465) && !c.implicit_tls(587));
    }

    #[test]
    fn target_forms() {
        let t = parse_target("relay.Contoso.local.").unwrap();
        assert_eq!((t.place, t.port), (Place::Name("relay.contoso.local".into()), None));
        let t = parse_target("10.0.0.25:587").unwrap();
        assert_eq!((t.place, t.port), (Place::Ip("10.0.0.25".parse().unwrap()), Some(587)));
        let t = parse_target("[fd00::25]:25").unwrap();
        assert_eq!((t.place, t.port), (Place::Ip("fd00::25".parse().unwrap()), Some(25)));
        let t = parse_target("fd00::25").unwrap();
        assert_eq!((t.place, t.port), (Place::Ip("fd00::25".parse().unwrap()), None));
        let t = parse_target("10.0.1.77/24:25").unwrap();
        let Place::Net(c) = t.place else { panic!() };
        assert_eq!((c.base, c.prefix, t.port), ("10.0.1.0".parse().unwrap(), 24, Some(25)));
        for bad in ["*", "10.0.0.0/33", "relay:0", "relay:smtp", "re lay", "[fd00::1", "[fd00::1]x", "a_b.local", "1.2.3.4/x"] {
            let e = err(Err(parse_target(bad).unwrap_err()));
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn cidr_sweeps_skip_network_and_broadcast() {
        let c = |s: &str| match parse_target(s).unwrap().place {
            Place::Net(c) => c,
            _ => panic!(),
        };
        let net = c("192.168.5.0/30");
        assert_eq!(net.host_count(), 2);
        assert_eq!(net.hosts().map(|h| h.to_string()).collect::<Vec<_>>(), ["192.168.5.1", "192.168.5.2"]);
        assert_eq!(c("10.0.0.8/31").hosts().count(), 2);
        assert_eq!(c("10.0.0.8/32").hosts().collect::<Vec<_>>(), ["10.0.0.8".parse::<IpAddr>().unwrap()]);
        assert_eq!(c("10.0.0.0/24").host_count(), 254);
        assert_eq!(c("0.0.0.0/0").host_count(), (1u64 << 32) - 2);
        assert_eq!(c("::/0").host_count(), u64::MAX);
        assert_eq!(c("fd00::/126").hosts().count(), 4);
    }

    #[test]
    fn max_hosts_is_checked_before_anything_is_sent() {
        let e = err(cfg(&[("targets", "10.0.0.0/16")]));
        assert!(e.contains("65534 addresses") && e.contains("max_hosts (1024)"), "{e}");
        let e = err(cfg(&[("targets", "10.0.0.0/24, 10.0.1.0/24"), ("max_hosts", "300")]));
        assert!(e.contains("508 addresses"), "{e}");
        assert!(cfg(&[("targets", "10.0.0.0/24, 10.0.1.0/24"), ("max_hosts", "508")]).is_ok());
        assert!(err(cfg(&[("targets", "::/64")])).contains("addresses"));
        assert!(err(cfg(&[("targets", "10.0.0.1"), ("max_hosts", "0")])).contains("max_hosts"));
    }

    #[test]
    fn settings_are_checked_with_clear_messages() {
        assert!(err(cfg(&[])).contains("`targets` is missing"));
        assert!(err(cfg(&[("targets", " , ")])).contains("`targets` is missing"));
        let c = cfg(&[("targets", "h.local"), ("ports", "587, 25,587"), ("tls_ports", "")]).unwrap();
        assert_eq!(c.ports, [587, 25]);
        assert!(c.tls_ports.is_empty());
        let e = err(cfg(&[("targets", "h.local"), ("ports", "25,2525")]));
        assert!(e.contains("port 2525") && e.contains("25, 587, 465"), "{e}");
        assert!(err(cfg(&[("targets", "h.local:2525")])).contains("port 2525"));
        assert!(err(cfg(&[("targets", "h"), ("ports", "")])).contains("`ports` is empty"));
        assert!(err(cfg(&[("targets", "h"), ("ports", "25,x")])).contains("\"x\""));
        assert!(err(cfg(&[("targets", "h"), ("test_domain", "localhost")])).contains("`test_domain`"));
        assert!(err(cfg(&[("targets", "h"), ("helo_domain", "a b.c")])).contains("`helo_domain`"));
        assert!(err(cfg(&[("targets", "h"), ("read_timeout_ms", "120000")])).contains("60 s"));
        assert!(err(cfg(&[("targets", "h"), ("connect_timeout_ms", "0")])).contains("connect_timeout_ms"));
        assert!(err(cfg(&[("targets", "h"), ("relay_test", "maybe")])).contains("relay_test"));
        assert!(!cfg(&[("targets", "h"), ("relay_test", "false")]).unwrap().relay_test);
        let c = cfg(&[("targets", "h"), ("test_domain", "Relay-Check.Example.NET")]).unwrap();
        assert_eq!(c.test_domain, "relay-check.example.net");
    }
}
