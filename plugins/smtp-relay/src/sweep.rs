//! Every target and port, one endpoint after another, within the budgets.
//! A CIDR block's addresses are first dialled on their first port together
//! (`connect-all`, as many as the host takes in one list), since most
//! addresses of a swept block are silent and each would otherwise wait out
//! the connect timeout in turn; the SMTP sessions then run one at a time,
//! each on the connection dialled for it. One the host could not keep open
//! (past its limit on open connections) is dialled again in its turn.
//!
//! What is reported: every endpoint that answered; for a target named by
//! host name or IP, also its unreachable, denied or skipped ports, except
//! that unreachable ports are left out when another port of the same host
//! answered (a relay listening on 25 only is normal). Swept addresses (from
//! CIDR blocks) that did not answer are only counted, and one whose first
//! connect timed out is taken as absent: its other ports are not tried.

use crate::config::{Config, Place};
use crate::net::Net;
use crate::probe::{probe, Endpoint, Probe, ProbeSettings, Reach};
use plumbline_plugin_sdk::tcp::TcpError;
use std::collections::HashSet;
use std::net::IpAddr;

/// What a sweep found, and what it counted without reporting.
#[derive(Debug, Default)]
pub struct Sweep {
    /// The endpoints to report, in target order.
    pub probes: Vec<Probe>,
    /// Endpoints tried (connect attempted, or skipped for lack of time).
    pub attempted: usize,
    /// Endpoints that accepted a connection.
    pub connected: usize,
    /// Endpoints that did not answer (reported or not).
    pub unreachable: usize,
    /// Ports of swept addresses not tried because the address was silent.
    pub silent_skipped: usize,
    /// The host's message for each denied endpoint.
    pub denied: Vec<String>,
    /// Endpoints not tried because the scan budget ran out.
    pub skipped: usize,
    /// Endpoints named twice (e.g. by an IP and a block holding it), tried once.
    pub duplicates: usize,
}

impl Sweep {
    /// One line for the log.
    pub fn summary(&self) -> String {
        format!(
            "{} endpoints: {} answered, {} did not, {} denied by the host, {} not tried (scan budget used up), \
             {} ports of silent swept addresses not tried, {} duplicates",
            self.attempted,
            self.connected,
            self.unreachable,
            self.denied.len(),
            self.skipped,
            self.silent_skipped,
            self.duplicates
        )
    }
}

/// Check everything `cfg` names.
pub fn sweep<N: Net>(net: &mut N, cfg: &Config) -> Sweep {
    let settings = ProbeSettings {
        helo_domain: cfg.helo_domain.clone(),
        test_domain: cfg.test_domain.clone(),
        relay_test: cfg.relay_test,
        connect_timeout_ms: cfg.connect_timeout_ms,
        read_timeout_ms: cfg.read_timeout_ms,
    };
    // A swept address is on the site's LAN: its connects get the shorter timeout.
    let swept_settings = ProbeSettings { connect_timeout_ms: cfg.sweep_connect_timeout_ms, ..settings.clone() };
    let scan_start = net.now_ms();
    let scan_deadline = scan_start.saturating_add(cfg.scan_budget_ms);
    let mut out = Sweep::default();
    let mut seen: HashSet<(String, u16)> = HashSet::new();
    for target in &cfg.targets {
        let ports = cfg.ports_for(target);
        let hosts: Vec<(String, Option<IpAddr>, bool)> = match &target.place {
            Place::Name(n) => vec![(n.clone(), None, false)],
            Place::Ip(ip) => vec![(ip.to_string(), Some(*ip), false)],
            Place::Net(c) => c.hosts().map(|ip| (ip.to_string(), Some(ip), true)).collect(),
        };
        let chunk = if matches!(target.place, Place::Net(_)) { net.dial_batch().max(1) } else { 1 };
        for group in hosts.chunks(chunk) {
            let mut dialed = match (chunk > 1, ports.first()) {
                (true, Some(&first)) => predial(net, group, first, &seen, cfg.sweep_connect_timeout_ms, scan_deadline),
                _ => Vec::new(),
            };
            dialed.resize_with(group.len(), || None);
            for ((host, ip, swept), mut pre) in group.iter().cloned().zip(dialed) {
                let mut found: Vec<Probe> = Vec::new();
                for (i, &port) in ports.iter().enumerate() {
                    if !seen.insert((host.clone(), port)) {
                        out.duplicates += 1;
                        continue;
                    }
                    let ep = Endpoint {
                        target: target.text.clone(),
                        host: host.clone(),
                        ip,
                        port,
                        implicit_tls: cfg.implicit_tls(port),
                        swept,
                    };
                    out.attempted += 1;
                    let now = net.now_ms();
                    if now >= scan_deadline {
                        out.skipped += 1;
                        if !swept {
                            found.push(Probe::new(
                                ep,
                                Reach::Skipped(format!(
                                    "the scan budget of {} ms (setting `scan_budget_ms`) was used up first",
                                    cfg.scan_budget_ms
                                )),
                            ));
                        }
                        continue;
                    }
                    let deadline = now.saturating_add(cfg.host_budget_ms).min(scan_deadline);
                    let s = if swept { &swept_settings } else { &settings };
                    let p = probe(net, &ep, s, deadline, if i == 0 { pre.take() } else { None });
                    let silent = swept && matches!(p.reach, Reach::Unreachable { timed_out: true, .. });
                    found.push(p);
                    if silent {
                        out.silent_skipped += ports.len() - i - 1;
                        break;
                    }
                }
                tally(&mut out, found);
            }
        }
    }
    out
}

/// Count each probe of one host, and keep those to report.
fn tally(out: &mut Sweep, found: Vec<Probe>) {
    let host_answered = found.iter().any(|p| p.reach == Reach::Connected);
    for p in found {
        match &p.reach {
            Reach::Connected => {
                out.connected += 1;
                out.probes.push(p);
            }
            Reach::Unreachable { .. } => {
                out.unreachable += 1;
                if !p.endpoint.swept && !host_answered {
                    out.probes.push(p);
                }
            }
            Reach::Denied(m) => {
                out.denied.push(m.clone());
                if !p.endpoint.swept {
                    out.probes.push(p);
                }
            }
            Reach::Skipped(_) => out.probes.push(p),
        }
    }
}

/// Dial `port` of every host of `group` not checked yet, at once, within
/// the connect timeout and the scan's time left; `None` for the rest.
fn predial<N: Net>(
    net: &mut N,
    group: &[(String, Option<IpAddr>, bool)],
    port: u16,
    seen: &HashSet<(String, u16)>,
    connect_timeout_ms: u64,
    scan_deadline: u64,
) -> Vec<Option<(Result<N::Conn, TcpError>, u64)>> {
    let left = scan_deadline.saturating_sub(net.now_ms());
    if left == 0 {
        return Vec::new();
    }
    let wait = left.min(connect_timeout_ms).max(1);
    let wanted: Vec<usize> = (0..group.len()).filter(|&i| !seen.contains(&(group[i].0.clone(), port))).collect();
    let targets: Vec<(String, u16)> = wanted.iter().map(|&i| (group[i].0.clone(), port)).collect();
    let mut results = net.connect_all(&targets, u32::try_from(wait).unwrap_or(u32::MAX)).into_iter();
    let mut out: Vec<Option<(Result<N::Conn, TcpError>, u64)>> = (0..group.len()).map(|_| None).collect();
    for i in wanted {
        out[i] = results.next().filter(|r| !matches!(r, Err(TcpError::Limit(_)))).map(|r| (r, wait));
    }
    out
}
