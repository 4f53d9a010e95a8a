//! Checking one endpoint (host and port): greeting, EHLO, STARTTLS, the
//! relay test, QUIT.

use crate::esmtp::{self, Capabilities};
use crate::net::{describe, Net};
use crate::relay::{self, Combination, Step, Verdict};
use crate::reply::Reply;
use crate::session::{Failure, FailureKind, Session};
use crate::text::{is_host_name, sanitize};
use plumbline_plugin_sdk::tcp::{TcpError, TlsInfo};
use std::net::IpAddr;

/// One host and port to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The `targets` entry it came from.
    pub target: String,
    /// What to connect to: a host name or an IP.
    pub host: String,
    /// The IP, when the target named one (or a block holding it).
    pub ip: Option<IpAddr>,
    /// Port.
    pub port: u16,
    /// TLS from the first byte.
    pub implicit_tls: bool,
    /// Found by sweeping a CIDR block rather than named.
    pub swept: bool,
}

impl Endpoint {
    /// `10.0.0.25:25`, `[fd00::1]:25`, `relay.local:587`.
    pub fn address(&self) -> String {
        match self.ip {
            Some(IpAddr::V6(v6)) => format!("[{v6}]:{}", self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }

    /// The register key, `smtp:{address}`.
    pub fn key(&self) -> String {
        format!("smtp:{}", self.address())
    }
}

/// What the probe needs from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSettings {
    /// EHLO name.
    pub helo_domain: String,
    /// The relay test's outside domain.
    pub test_domain: String,
    /// Run the relay test.
    pub relay_test: bool,
    /// Per connect.
    pub connect_timeout_ms: u64,
    /// Per reply.
    pub read_timeout_ms: u64,
}

/// Could the endpoint be reached at all?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Connected; see the rest of the [`Probe`].
    Connected,
    /// The connect failed (refused, timed out, no route).
    Unreachable {
        /// Why.
        error: String,
        /// It was a timeout (nothing answered at all).
        timed_out: bool,
    },
    /// The host refused the connect: not granted.
    Denied(String),
    /// Not tried: the scan's time budget was used up.
    Skipped(String),
}

impl Reach {
    /// `ok`, `unreachable`, `denied` or `skipped`.
    pub fn label(&self) -> &'static str {
        match self {
            Reach::Connected => "connected",
            Reach::Unreachable { .. } => "unreachable",
            Reach::Denied(_) => "denied",
            Reach::Skipped(_) => "skipped",
        }
    }

    /// In words.
    pub fn describe(&self) -> String {
        match self {
            Reach::Connected => "connected".into(),
            Reach::Unreachable { error, .. } => format!("unreachable: {error}"),
            Reach::Denied(m) => format!("denied by the host: {m}"),
            Reach::Skipped(m) => format!("not checked: {m}"),
        }
    }
}

/// What became of STARTTLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartTls {
    /// Not known (the session ended before EHLO).
    Unknown,
    /// An implicit-TLS port: no STARTTLS needed.
    Implicit,
    /// Not in the EHLO answer.
    NotOffered,
    /// Offered, but the STARTTLS command was refused.
    Refused(String),
    /// Offered and accepted, but the handshake (or the EHLO after it) failed.
    Failed(String),
    /// Works.
    Working,
}

/// Everything learnt about one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Which.
    pub endpoint: Endpoint,
    /// Connected or not.
    pub reach: Reach,
    /// The greeting.
    pub banner: Option<Reply>,
    /// The host name it announced (banner, else EHLO).
    pub server_name: Option<String>,
    /// The EHLO answer before TLS (inside TLS on an implicit-TLS port).
    pub caps: Option<Capabilities>,
    /// The EHLO answer after STARTTLS.
    pub caps_tls: Option<Capabilities>,
    /// STARTTLS.
    pub starttls: StartTls,
    /// The TLS session's and certificate's facts.
    pub tls: Option<TlsInfo>,
    /// The name the certificate was checked against.
    pub tls_name: Option<String>,
    /// The relay test.
    pub relay: Verdict,
    /// `tls` or `cleartext`: how the relay test talked.
    pub relay_channel: Option<&'static str>,
    /// Why combinations were left out.
    pub relay_note: Option<String>,
    /// The address a target named by host name was reached at (the host's
    /// `peer-address`): the relay test's address literals use it.
    pub peer_ip: Option<IpAddr>,
    /// The error that ended the conversation early.
    pub error: Option<String>,
    /// Other things worth knowing.
    pub notes: Vec<String>,
    /// Wall-clock time spent.
    pub duration_ms: u64,
}

impl Probe {
    /// A probe that has not learnt anything yet.
    pub fn new(endpoint: Endpoint, reach: Reach) -> Self {
        Probe {
            endpoint,
            reach,
            banner: None,
            server_name: None,
            caps: None,
            caps_tls: None,
            starttls: StartTls::Unknown,
            tls: None,
            tls_name: None,
            relay: Verdict::NotTested("the session ended before it".into()),
            relay_channel: None,
            relay_note: None,
            peer_ip: None,
            error: None,
            notes: Vec::new(),
            duration_ms: 0,
        }
    }

    /// The capabilities that count for a client: after STARTTLS when it
    /// worked, else before.
    pub fn effective_caps(&self) -> Option<&Capabilities> {
        self.caps_tls.as_ref().or(self.caps.as_ref())
    }
}

/// Check `ep` with everything done before `deadline_ms` (clock time).
///
/// `dialed` is the connect already made for it by a sweep's
/// [`Net::connect_all`], if one was, and how long that one could wait.
pub fn probe<N: Net>(
    net: &mut N,
    ep: &Endpoint,
    s: &ProbeSettings,
    deadline_ms: u64,
    dialed: Option<(Result<N::Conn, TcpError>, u64)>,
) -> Probe {
    let started = net.now_ms();
    let mut p = Probe::new(ep.clone(), Reach::Connected);
    let connected = match dialed {
        Some((result, wait)) => result.map_err(|e| unreachable(e, wait)),
        None => connect(net, ep, s, started, deadline_ms),
    };
    match connected {
        Err(reach) => p.reach = reach,
        Ok(conn) => {
            if ep.ip.is_none() {
                p.peer_ip = crate::net::Transport::peer_ip(&conn);
            }
            if let Err(f) = converse(net, conn, ep, s, started, deadline_ms, &mut p) {
                if !s.relay_test || matches!(p.relay, Verdict::NotTested(_)) {
                    p.relay = Verdict::NotTested(format!("the session failed first ({})", f.during));
                }
                p.error = Some(f.to_string());
            }
        }
    }
    if !s.relay_test {
        p.relay = Verdict::NotTested("disabled by the `relay_test` setting".into());
    }
    p.duration_ms = net.now_ms().saturating_sub(started);
    p
}

fn connect<N: Net>(net: &mut N, ep: &Endpoint, s: &ProbeSettings, started: u64, deadline_ms: u64) -> Result<N::Conn, Reach> {
    let left = deadline_ms.saturating_sub(net.now_ms());
    if left == 0 {
        return Err(Reach::Skipped(format!(
            "the time budget ({} ms) was used up before the connect",
            deadline_ms.saturating_sub(started)
        )));
    }
    let wait = u32::try_from(left.min(s.connect_timeout_ms)).unwrap_or(u32::MAX).max(1);
    net.connect(&ep.host, ep.port, wait).map_err(|e| unreachable(e, u64::from(wait)))
}

/// A failed connect (that waited at most `wait` ms) as a reach.
fn unreachable(e: TcpError, wait: u64) -> Reach {
    match e {
        TcpError::Denied(m) => Reach::Denied(m),
        TcpError::Timeout(_) => Reach::Unreachable {
            error: format!("no answer to the TCP connect within {wait} ms"),
            timed_out: true,
        },
        e => Reach::Unreachable { error: describe(&e), timed_out: false },
    }
}

/// The name to check the certificate against: the target's host name, else
/// the name the server announced when it looks like one, else the IP.
fn tls_name(ep: &Endpoint, announced: Option<&str>) -> String {
    if ep.ip.is_none() {
        return ep.host.clone();
    }
    match announced {
        Some(n) if n.contains('.') && is_host_name(n) => n.to_string(),
        _ => ep.host.clone(),
    }
}

/// Greeting and EHLO (HELO when EHLO is refused) on a fresh session.
fn greet<T: crate::net::Transport>(sess: &mut Session<'_, T>, s: &ProbeSettings) -> Result<(Reply, Capabilities), Failure> {
    let banner = sess.read_reply("waiting for the greeting")?;
    if banner.code != 220 {
        return Err(Failure {
            during: "greeting".into(),
            kind: FailureKind::Refused(format!("the server refused the session: {}", banner.shown())),
        });
    }
    let caps = ehlo(sess, s)?;
    Ok((banner, caps))
}

fn ehlo<T: crate::net::Transport>(sess: &mut Session<'_, T>, s: &ProbeSettings) -> Result<Capabilities, Failure> {
    let r = sess.command(&format!("EHLO {}", s.helo_domain), "EHLO")?;
    if r.code == 250 {
        return Ok(Capabilities::from_ehlo(&r));
    }
    let h = sess.command(&format!("HELO {}", s.helo_domain), "HELO")?;
    if h.code == 250 {
        return Ok(Capabilities::helo(&h));
    }
    Err(Failure {
        during: "EHLO".into(),
        kind: FailureKind::Refused(format!(
            "the server refused EHLO ({}) and HELO ({})",
            r.shown(),
            h.shown()
        )),
    })
}

fn converse<N: Net>(
    net: &mut N,
    conn: N::Conn,
    ep: &Endpoint,
    s: &ProbeSettings,
    started: u64,
    deadline_ms: u64,
    p: &mut Probe,
) -> Result<(), Failure> {
    // The session borrows the clock; `net` is needed again for a reconnect,
    // so the first session lives in its own scope.
    let reconnect_for_relay;
    {
        let mut sess = Session::new(conn, net as &dyn crate::net::Clock, started, deadline_ms, s.read_timeout_ms);
        if ep.implicit_tls {
            let name = tls_name(ep, None);
            let (info, _) = sess.start_tls(&name)?;
            p.tls = Some(info);
            p.tls_name = Some(name);
            p.starttls = StartTls::Implicit;
        }
        let (banner, caps) = greet(&mut sess, s)?;
        p.server_name = esmtp::server_name(&banner, Some(&caps));
        p.banner = Some(banner);
        let offered = caps.starttls;
        p.caps = Some(caps);
        let mut tls_broken = false;
        if !ep.implicit_tls {
            if !offered {
                p.starttls = StartTls::NotOffered;
            } else {
                let r = sess.command("STARTTLS", "STARTTLS").inspect_err(|f| {
                    p.starttls = StartTls::Failed(f.to_string());
                })?;
                if r.code != 220 {
                    p.starttls = StartTls::Refused(r.shown());
                } else {
                    let name = tls_name(ep, p.server_name.as_deref());
                    p.tls_name = Some(name.clone());
                    match sess.start_tls(&name) {
                        Ok((info, injected)) => {
                            p.tls = Some(info);
                            if injected > 0 {
                                p.notes.push(format!(
                                    "{injected} bytes arrived after the STARTTLS go-ahead and before the handshake; \
                                     they were discarded (a STARTTLS command-injection weakness, or a broken server)"
                                ));
                            }
                            match ehlo(&mut sess, s) {
                                Ok(c) => {
                                    p.caps_tls = Some(c);
                                    p.starttls = StartTls::Working;
                                }
                                Err(f) => {
                                    p.starttls = StartTls::Failed(format!("EHLO after the handshake failed: {f}"));
                                    return Err(f);
                                }
                            }
                        }
                        Err(f) => {
                            p.starttls = StartTls::Failed(f.to_string());
                            tls_broken = true;
                        }
                    }
                }
            }
        }
        if !tls_broken {
            if s.relay_test {
                p.relay_channel = Some(if p.tls.is_some() { "tls" } else { "cleartext" });
                relay_and_quit(sess, ep, s, p);
            } else {
                sess.quit();
            }
            return Ok(());
        }
        reconnect_for_relay = s.relay_test;
    }
    // The handshake failed and took the connection with it: the relay test
    // needs a new one, in cleartext.
    if reconnect_for_relay {
        p.notes.push("STARTTLS failed, so the relay test ran on a second connection in cleartext".into());
        let conn = match connect(net, ep, s, started, deadline_ms) {
            Ok(c) => c,
            Err(reach) => {
                p.relay = Verdict::NotTested(format!("reconnecting after the failed STARTTLS failed: {}", reach.describe()));
                return Ok(());
            }
        };
        let mut sess = Session::new(conn, net as &dyn crate::net::Clock, started, deadline_ms, s.read_timeout_ms);
        greet(&mut sess, s)?;
        p.relay_channel = Some("cleartext");
        relay_and_quit(sess, ep, s, p);
    }
    Ok(())
}

/// The relay test, then QUIT unless the test ended in a broken session
/// (whose error becomes the probe's).
fn relay_and_quit<T: crate::net::Transport>(mut sess: Session<'_, T>, ep: &Endpoint, s: &ProbeSettings, p: &mut Probe) {
    run_relay(&mut sess, ep, s, p);
    match &p.relay {
        Verdict::Inconclusive { error, .. } | Verdict::Open { cut_short: Some(error), .. } => {
            p.error = Some(error.clone());
        }
        _ => sess.quit(),
    }
}

/// nmap's loop: RSET, MAIL FROM, RCPT TO for each combination; a 530
/// stops everything; accepted recipients are collected.
fn run_relay<T: crate::net::Transport>(sess: &mut Session<'_, T>, ep: &Endpoint, s: &ProbeSettings, p: &mut Probe) {
    let (plan, note) = relay::plan(&s.test_domain, p.server_name.as_deref(), ep.ip.or(p.peer_ip));
    p.relay_note = note;
    let mut accepted: Vec<Combination> = Vec::new();
    let mut tried = 0;
    let stop = |accepted: Vec<Combination>, tried: usize, error: String| {
        if accepted.is_empty() {
            Verdict::Inconclusive { error, tried }
        } else {
            Verdict::Open { accepted, tried, cut_short: Some(error) }
        }
    };
    for c in &plan {
        let step = sess.command("RSET", "RSET").map(|r| relay::after_rset(&r));
        match step {
            Err(f) => return p.relay = stop(accepted, tried, f.to_string()),
            Ok(Step::AuthRequired(reply)) => return p.relay = Verdict::AuthRequired { reply },
            Ok(Step::Fail(m)) => return p.relay = stop(accepted, tried, m),
            Ok(_) => {}
        }
        tried += 1;
        let mail = format!("MAIL FROM:<{}>", c.from);
        match sess.command(&mail, "MAIL FROM").map(|r| relay::after_mail(&r)) {
            Err(f) => return p.relay = stop(accepted, tried, f.to_string()),
            Ok(Step::AuthRequired(reply)) => return p.relay = Verdict::AuthRequired { reply },
            Ok(Step::SkipRcpt) => continue,
            Ok(_) => {}
        }
        let rcpt = format!("RCPT TO:<{}>", c.to);
        match sess.command(&rcpt, "RCPT TO") {
            Err(f) => return p.relay = stop(accepted, tried, f.to_string()),
            Ok(r) => match relay::after_rcpt(&r) {
                Err(reply) => return p.relay = Verdict::AuthRequired { reply },
                Ok(true) => accepted.push(c.clone()),
                Ok(false) => {}
            },
        }
    }
    p.relay = if accepted.is_empty() {
        Verdict::Closed { tried }
    } else {
        Verdict::Open { accepted, tried, cut_short: None }
    };
}

/// The banner for the register: sanitised and short.
pub fn shown_banner(p: &Probe) -> Option<String> {
    p.banner.as_ref().map(|b| sanitize(&b.lines.join(" / "), crate::reply::MAX_SHOWN_CHARS))
}
