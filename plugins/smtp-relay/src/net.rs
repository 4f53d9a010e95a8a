//! The network as the checks see it: connect, read, write, STARTTLS and a
//! clock. [`HostNet`] is the host's `tcp` capability; native tests put a
//! scripted server behind the same traits. The only module that calls the
//! host.

use plumbline_plugin_sdk::host;
use std::net::{IpAddr, SocketAddr};
use plumbline_plugin_sdk::tcp::{self, TcpError, TlsInfo};

/// Milliseconds since the epoch.
pub trait Clock {
    /// Now.
    fn now_ms(&self) -> u64;
}

/// One open connection.
pub trait Transport {
    /// Up to `max_bytes`; empty when the peer closed the connection.
    fn read(&mut self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, TcpError>;
    /// All of `data`.
    fn write(&mut self, data: &[u8], timeout_ms: u32) -> Result<(), TcpError>;
    /// Upgrade to TLS, accepting any certificate, and describe it.
    fn start_tls(&mut self, server_name: &str, timeout_ms: u32) -> Result<TlsInfo, TcpError>;
    /// The IP address the connection reached (for a target named by host
    /// name, what the name resolved to); `None` when not known.
    fn peer_ip(&self) -> Option<IpAddr>;
}

/// Opens connections.
pub trait Net: Clock {
    /// The connection type.
    type Conn: Transport;
    /// Connect to `host` (a name or an IP) on `port`.
    fn connect(&mut self, host: &str, port: u16, timeout_ms: u32) -> Result<Self::Conn, TcpError>;
    /// Connect to each of `targets` at once (a sweep's addresses), the
    /// results in order: a /24 whose dead addresses each wait out the
    /// connect timeout then costs a few timeouts, not 254 of them.
    fn connect_all(&mut self, targets: &[(String, u16)], timeout_ms: u32) -> Vec<Result<Self::Conn, TcpError>>;
    /// Most targets in one [`Net::connect_all`], as the host takes them.
    /// Past the host's limit on open connections, those that answer come
    /// back as `limit`, and are dialled again in their turn.
    fn dial_batch(&self) -> usize;
}

/// The host's `tcp` capability and clock.
pub struct HostNet;

impl Clock for HostNet {
    fn now_ms(&self) -> u64 {
        host::now_ms()
    }
}

impl Net for HostNet {
    type Conn = tcp::Connection;

    fn connect(&mut self, host: &str, port: u16, timeout_ms: u32) -> Result<tcp::Connection, TcpError> {
        tcp::connect(host, port, timeout_ms)
    }

    fn connect_all(&mut self, targets: &[(String, u16)], timeout_ms: u32) -> Vec<Result<tcp::Connection, TcpError>> {
        tcp::connect_all(targets, timeout_ms)
    }

    fn dial_batch(&self) -> usize {
        usize::try_from(host::limits().max_batch).unwrap_or(usize::MAX).max(1)
    }
}

impl Transport for tcp::Connection {
    fn read(&mut self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, TcpError> {
        tcp::Connection::read(self, max_bytes, timeout_ms)
    }

    fn write(&mut self, data: &[u8], timeout_ms: u32) -> Result<(), TcpError> {
        tcp::Connection::write(self, data, timeout_ms)
    }

    fn start_tls(&mut self, server_name: &str, timeout_ms: u32) -> Result<TlsInfo, TcpError> {
        tcp::Connection::start_tls(self, server_name, timeout_ms)
    }

    fn peer_ip(&self) -> Option<IpAddr> {
        self.peer_address().parse::<SocketAddr>().ok().map(|a| a.ip())
    }
}

/// A TCP error in words.
pub fn describe(e: &TcpError) -> String {
    match e {
        TcpError::Denied(m) => format!("denied by the host: {m}"),
        TcpError::Timeout(m) => format!("timed out ({m})"),
        TcpError::Closed => "the connection is closed".to_string(),
        TcpError::Io(m) => m.clone(),
        TcpError::Tls(m) => format!("TLS failed: {m}"),
        TcpError::Limit(m) => format!("host limit reached: {m}"),
    }
}
