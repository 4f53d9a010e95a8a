//! `tcp`: outbound TCP with STARTTLS, for protocol checks (SMTP relays).
//!
//! Every connect is checked before anything is resolved: an IP literal
//! against the address grants, a host name against the name grants. Only a
//! granted name is looked up, so a plugin cannot leak data through DNS
//! queries for names it makes up. What a granted name resolves to is told
//! only through `peer-address` of the connection made to it, never in an
//! error. Reads, writes and handshakes are bounded by timeouts the host
//! caps, and traced. `connect-all` dials each target through the same
//! [`Dialer::dial`] as `connect`, many at once.
//!
//! Under `plumbline plugin test` a recording keeps each connect past the
//! grant check and every call on the connection ([`tape::tcp`]); a replay
//! answers them from it after the same grant check, with no socket.

use super::tape::{self, Tape};
use super::HostState;
use crate::runtime::limits;
use crate::runtime::wit::latest::plumbline::plugin::tcp::{Host, HostConnection, TcpError, TlsInfo};
use crate::config::resolved_address_usable;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wasmtime::component::Resource;

/// A plugin's open connection and the address it reached.
pub struct Connection {
    /// The address connected to, after the grant check (and the lookup of
    /// a granted name): what `peer-address` tells the plugin.
    peer: String,
    stream: Stream,
    /// A recording's side of it.
    recorder: Option<tape::tcp::Recorder>,
}

/// The stream under a [`Connection`].
enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// After STARTTLS.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// A failed STARTTLS consumed the stream.
    Broken,
    /// A replay: the recorded dialogue instead of a socket.
    Replay(Box<tape::tcp::Cursor>),
}

fn timeout(ms: u32) -> Duration {
    Duration::from_millis(ms as u64).min(limits::MAX_TCP_TIMEOUT).max(Duration::from_millis(1))
}

/// What a connect needs from the host state, owned so that many can run at
/// once (`connect-all`).
#[derive(Clone)]
struct Dialer {
    plugin: Arc<str>,
    perms: Arc<super::Permissions>,
    log_budget: Arc<super::log::LogBudget>,
    blocking_slots: Arc<tokio::sync::Semaphore>,
    /// `plumbline plugin test`: a replay answers here, past the grant check.
    tape: Option<Arc<Tape>>,
}

/// What a dial came to.
enum Dialed {
    /// The grants refused it before anything was done: not recorded, as a
    /// replay refuses it again.
    Refused(TcpError),
    /// Past the grant check: the connection, or why there is none.
    Reached(Result<Connection, TcpError>),
}

impl Dialer {
    /// Check, resolve (a granted name only) and connect: the one path of
    /// `connect` and of each `connect-all` target.
    async fn dial(&self, host: &str, port: u16, wait: Duration) -> Dialed {
        match self.check(host, port) {
            Err(e) => Dialed::Refused(e),
            Ok(literal) => Dialed::Reached(self.reach(host, port, literal, wait).await),
        }
    }

    /// The grant check: an IP literal against the address grants, a name
    /// against the name grants. The literal, if it is one.
    fn check(&self, host: &str, port: u16) -> Result<Option<IpAddr>, TcpError> {
        let plugin: &str = &self.plugin;
        let target = format!("{host}:{port}");
        let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
        let checked = match literal {
            Some(ip) => self.perms.check_tcp_ip(ip, port),
            None => self.perms.check_tcp_name(host, port),
        };
        if let Err(d) = checked {
            super::trace_decision(&self.log_budget, plugin, "tcp", &target, false, &d.0);
            return Err(TcpError::Denied(d.0));
        }
        Ok(literal)
    }

    /// Past the grant check: the recorded connection in a replay, else
    /// resolve a granted name and connect.
    async fn reach(
        &self,
        host: &str,
        port: u16,
        literal: Option<IpAddr>,
        wait: Duration,
    ) -> Result<Connection, TcpError> {
        let plugin: &str = &self.plugin;
        let target = format!("{host}:{port}");
        if let Some(replayed) = self.tape.as_ref().and_then(|t| t.replay_tcp_connect(&target)) {
            super::trace_decision(&self.log_budget, plugin, "tcp", &target, true, "connect from the recording");
            let (peer, cursor) = replayed?;
            return Ok(Connection { peer, stream: Stream::Replay(Box::new(cursor)), recorder: None });
        }
        let addr = match literal {
            Some(ip) => SocketAddr::new(ip.to_canonical(), port),
            None => match resolve_usable(host, port, wait, &self.blocking_slots).await {
                Ok(a) => a,
                Err(e) => {
                    super::trace_decision(&self.log_budget, plugin, "tcp", &target, false, &error_text(&e));
                    return Err(e);
                }
            },
        };
        super::trace_decision(&self.log_budget, plugin, "tcp", &target, true, &format!("connect {addr}"));
        match tokio::time::timeout(wait, TcpStream::connect(addr)).await {
            Err(_) => Err(TcpError::Timeout(format!("connecting to {target}"))),
            Ok(Err(e)) => Err(TcpError::Io(format!("connecting to {target}: {}", e.kind()))),
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(Connection { peer: addr.to_string(), stream: Stream::Plain(stream), recorder: None })
            }
        }
    }
}

impl HostState {
    fn dialer(&self) -> Dialer {
        Dialer {
            plugin: self.plugin.clone(),
            perms: self.perms.clone(),
            log_budget: self.log_budget.clone(),
            blocking_slots: self.blocking_slots.clone(),
            tape: self.net.tape.clone(),
        }
    }

    /// What the plugin gets from a dial; one past the grant check is kept
    /// in a recording, with a recorder for the calls on the connection.
    fn dialed(&self, target: &str, dialed: Dialed) -> Result<Connection, TcpError> {
        let mut reached = match dialed {
            Dialed::Refused(e) => return Err(e),
            Dialed::Reached(r) => r,
        };
        if let Some(tape) = &self.net.tape {
            let recorder = tape.record_tcp_connect(target, reached.as_ref().map(|c| c.peer.as_str()));
            if let Ok(conn) = &mut reached {
                conn.recorder = recorder;
            }
        }
        reached
    }

    /// Put an open connection in the table, within the open-connection limit.
    fn keep(&mut self, conn: Connection) -> wasmtime::Result<Result<Resource<Connection>, TcpError>> {
        if self.open_connections >= limits::MAX_TCP_CONNECTIONS {
            return Ok(Err(too_many()));
        }
        self.open_connections += 1;
        Ok(Ok(self.table.push(conn)?))
    }
}

fn too_many() -> TcpError {
    TcpError::Limit(format!("more than {} open connections; close some first", limits::MAX_TCP_CONNECTIONS))
}

impl Host for HostState {
    async fn connect(
        &mut self,
        host: String,
        port: u16,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Resource<Connection>, TcpError>> {
        if self.open_connections >= limits::MAX_TCP_CONNECTIONS {
            return Ok(Err(too_many()));
        }
        let dialed = self.dialer().dial(&host, port, timeout(timeout_ms)).await;
        match self.dialed(&format!("{host}:{port}"), dialed) {
            Ok(conn) => self.keep(conn),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn connect_all(
        &mut self,
        targets: Vec<(String, u16)>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Vec<Result<Resource<Connection>, TcpError>>> {
        if targets.len() > limits::MAX_BATCH {
            let why = format!("connect-all takes at most {} targets, got {}; split the list", limits::MAX_BATCH, targets.len());
            return Ok(targets.iter().map(|_| Err(TcpError::Limit(why.clone()))).collect());
        }
        let (dialer, wait) = (self.dialer(), timeout(timeout_ms));
        let deadline = self.deadline;
        let names: Vec<String> = targets.iter().map(|(host, port)| format!("{host}:{port}")).collect();
        // The check runs before the first await, so a dial the deadline cut was past it.
        let dials = targets.into_iter().map(|(host, port)| {
            let dialer = dialer.clone();
            async move {
                match tokio::time::timeout_at(deadline.into(), dialer.dial(&host, port, wait)).await {
                    Ok(d) => d,
                    Err(_) => Dialed::Reached(Err(TcpError::Timeout(format!(
                        "connecting to {host}:{port}: the scan's time ran out"
                    )))),
                }
            }
        });
        use futures::StreamExt;
        let dialed: Vec<_> = futures::stream::iter(dials).buffered(limits::MAX_TCP_CONNECTS_IN_FLIGHT).collect().await;
        let mut out = Vec::with_capacity(dialed.len());
        // Kept in the order of the targets, so a recording does not depend on which answered first.
        for (name, d) in names.iter().zip(dialed) {
            out.push(match self.dialed(name, d) {
                Ok(conn) => self.keep(conn)?,
                Err(e) => Err(e),
            });
        }
        Ok(out)
    }
}

/// The first address `host` resolves to that a name grant may reach (see
/// [`resolved_address_usable`]). Errors name the host, not what DNS said.
/// The lookup runs in one of the plugin's blocking slots: an abandoned one
/// (the resolver hangs past `wait`) keeps its slot until it returns.
async fn resolve_usable(
    host: &str,
    port: u16,
    wait: Duration,
    slots: &Arc<tokio::sync::Semaphore>,
) -> Result<SocketAddr, TcpError> {
    let permit = slots.clone().try_acquire_owned().map_err(|_| {
        TcpError::Limit(format!(
            "{} lookups and file operations of this plugin are still pending; not resolving {host}",
            limits::MAX_BLOCKING_OPS_PER_PLUGIN
        ))
    })?;
    let name = host.to_string();
    let lookup = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), port)).map(|a| a.collect::<Vec<_>>())
    });
    let addrs = match tokio::time::timeout(wait, lookup).await {
        Err(_) => return Err(TcpError::Timeout(format!("resolving {host}"))),
        Ok(Err(_)) | Ok(Ok(Err(_))) => return Err(TcpError::Io(format!("{host} could not be resolved"))),
        Ok(Ok(Ok(a))) => a,
    };
    if addrs.is_empty() {
        return Err(TcpError::Io(format!("{host} resolved to no address")));
    }
    addrs.into_iter().find(|a| resolved_address_usable(a.ip())).map(|a| SocketAddr::new(a.ip().to_canonical(), port)).ok_or_else(|| {
        TcpError::Denied(format!(
            "{host} resolves only to unspecified, link-local or multicast addresses, which a name grant does not reach; grant the address itself if it is really meant"
        ))
    })
}

fn error_text(e: &TcpError) -> String {
    match e {
        TcpError::Denied(m) | TcpError::Timeout(m) | TcpError::Io(m) | TcpError::Tls(m) | TcpError::Limit(m) => m.clone(),
        TcpError::Closed => "closed".into(),
    }
}

impl HostConnection for HostState {
    async fn read(
        &mut self,
        conn: Resource<Connection>,
        max_bytes: u32,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, TcpError>> {
        let n = max_bytes.clamp(1, limits::MAX_TCP_READ_BYTES) as usize;
        self.trace(&self.plugin, "tcp", &format!("connection {}", conn.rep()), true, &format!("read up to {n} bytes"));
        let c = self.table.get_mut(&conn)?;
        let got = read(&mut c.stream, n, timeout(timeout_ms)).await;
        if let (Some(r), Some(tape)) = (&mut c.recorder, &self.net.tape) {
            r.read(tape, &got);
        }
        Ok(got)
    }

    async fn write(
        &mut self,
        conn: Resource<Connection>,
        data: Vec<u8>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<(), TcpError>> {
        self.trace(&self.plugin, "tcp", &format!("connection {}", conn.rep()), true, &format!("write {} bytes", data.len()));
        let c = self.table.get_mut(&conn)?;
        let done = write(&mut c.stream, &data, timeout(timeout_ms)).await;
        if let (Some(r), Some(tape)) = (&mut c.recorder, &self.net.tape) {
            r.write(tape, &data, &done);
        }
        Ok(done)
    }

    async fn start_tls(
        &mut self,
        conn: Resource<Connection>,
        server_name: String,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<TlsInfo, TcpError>> {
        self.trace(&self.plugin, "tcp", &format!("connection {}", conn.rep()), true, &format!("start-tls as {server_name}"));
        let c = self.table.get_mut(&conn)?;
        let done = start_tls(&mut c.stream, &server_name, timeout(timeout_ms)).await;
        if let (Some(r), Some(tape)) = (&mut c.recorder, &self.net.tape) {
            r.start_tls(tape, &server_name, &done);
        }
        Ok(done)
    }

    async fn peer_address(&mut self, conn: Resource<Connection>) -> wasmtime::Result<String> {
        Ok(self.table.get(&conn)?.peer.clone())
    }

    async fn drop(&mut self, conn: Resource<Connection>) -> wasmtime::Result<()> {
        let c = self.table.delete(conn)?;
        if let (Some(r), Some(tape)) = (&c.recorder, &self.net.tape) {
            r.close(tape);
        }
        self.open_connections = self.open_connections.saturating_sub(1);
        Ok(())
    }
}

/// Up to `n` bytes from `stream`.
async fn read(stream: &mut Stream, n: usize, wait: Duration) -> Result<Vec<u8>, TcpError> {
    let mut buf = vec![0u8; n];
    let got = match stream {
        Stream::Plain(s) => tokio::time::timeout(wait, s.read(&mut buf)).await,
        Stream::Tls(s) => tokio::time::timeout(wait, s.read(&mut buf)).await,
        Stream::Broken => return Err(TcpError::Closed),
        Stream::Replay(cursor) => return cursor.read(n),
    };
    match got {
        Err(_) => Err(TcpError::Timeout(format!("no data within {} ms", wait.as_millis()))),
        Ok(Err(e)) => Err(TcpError::Io(e.to_string())),
        Ok(Ok(k)) => {
            buf.truncate(k);
            Ok(buf)
        }
    }
}

/// All of `data` onto `stream`.
async fn write(stream: &mut Stream, data: &[u8], wait: Duration) -> Result<(), TcpError> {
    let done = match stream {
        Stream::Plain(s) => tokio::time::timeout(wait, s.write_all(data)).await,
        Stream::Tls(s) => tokio::time::timeout(wait, async {
            s.write_all(data).await?;
            s.flush().await
        })
        .await,
        Stream::Broken => return Err(TcpError::Closed),
        Stream::Replay(cursor) => return cursor.write(data),
    };
    match done {
        Err(_) => Err(TcpError::Timeout(format!("write not done within {} ms", wait.as_millis()))),
        Ok(Err(e)) => Err(TcpError::Io(e.to_string())),
        Ok(Ok(())) => Ok(()),
    }
}

/// Upgrade a plain `stream` to TLS as `server_name`; a failed handshake
/// leaves it broken.
async fn start_tls(stream: &mut Stream, server_name: &str, wait: Duration) -> Result<TlsInfo, TcpError> {
    let plain = match std::mem::replace(stream, Stream::Broken) {
        Stream::Plain(s) => s,
        Stream::Replay(mut cursor) => {
            let done = cursor.start_tls(server_name);
            *stream = Stream::Replay(cursor);
            return done;
        }
        other => {
            *stream = other;
            return Err(TcpError::Tls("the connection is not plain TCP".into()));
        }
    };
    let name = rustls_pki_types::ServerName::try_from(server_name.to_string())
        .unwrap_or_else(|_| rustls_pki_types::ServerName::try_from("invalid.invalid").expect("static name"));
    let connector = tokio_rustls::TlsConnector::from(Arc::new(crate::capabilities::tcp_tls::inspecting_config()));
    let tls = match tokio::time::timeout(wait, connector.connect(name.to_owned(), plain)).await {
        Err(_) => return Err(TcpError::Timeout("TLS handshake".into())),
        Ok(Err(e)) => return Err(TcpError::Tls(e.to_string())),
        Ok(Ok(t)) => t,
    };
    let info = crate::capabilities::tcp_tls::describe(&tls, server_name);
    *stream = Stream::Tls(Box::new(tls));
    Ok(info)
}
