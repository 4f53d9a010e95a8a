//! Every target and port, one endpoint after another, within the budgets.
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
    let scan_start = net.now_ms();
    let scan_deadline = scan_start.saturating_add(cfg.scan_budget_ms);
    let mut out = Sweep::default();
    let mut seen: HashSet<(String, u16)> = HashSet::new();
    for target in &cfg.targets {
        let ports = cfg.ports_for(target);
        let hosts: Box<dyn Iterator<Item = (String, Option<IpAddr>, bool)>> = match &target.place {
            Place::Name(n) => Box::new(std::iter::once((n.clone(), None, false))),
            Place::Ip(ip) => Box::new(std::iter::once((ip.to_string(), Some(*ip), false))),
            Place::Net(c) => Box::new(c.hosts().map(|ip| (ip.to_string(), Some(ip), true))),
        };
        for (host, ip, swept) in hosts {
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
                let p = probe(net, &ep, &settings, deadline);
                let silent = swept && matches!(p.reach, Reach::Unreachable { timed_out: true, .. });
                found.push(p);
                if silent {
                    out.silent_skipped += ports.len() - i - 1;
                    break;
                }
            }
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
    }
    out
}
