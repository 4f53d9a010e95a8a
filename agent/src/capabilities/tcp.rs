//! `tcp`: outbound TCP with STARTTLS, for protocol checks (SMTP relays).
//!
//! Every connect is checked against the plugin's effective targets after
//! name resolution, so a host name cannot smuggle in an ungranted address.
//! Reads, writes and handshakes are bounded by timeouts the host caps.

use super::{trace_decision, HostState};
use crate::runtime::limits;
use crate::runtime::wit::latest::plumbline::plugin::tcp::{Host, HostConnection, TcpError, TlsInfo};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wasmtime::component::Resource;

/// A plugin's open connection.
pub enum Connection {
    /// Plain TCP.
    Plain(TcpStream),
    /// After STARTTLS.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// A failed STARTTLS consumed the stream.
    Broken,
}

fn timeout(ms: u32) -> Duration {
    Duration::from_millis(ms as u64).min(limits::MAX_TCP_TIMEOUT).max(Duration::from_millis(1))
}

impl Host for HostState {
    async fn connect(
        &mut self,
        host: String,
        port: u16,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Resource<Connection>, TcpError>> {
        let plugin = self.plugin.clone();
        let target = format!("{host}:{port}");
        if self.open_connections >= limits::MAX_TCP_CONNECTIONS {
            return Ok(Err(TcpError::Limit(format!(
                "more than {} open connections; close some first",
                limits::MAX_TCP_CONNECTIONS
            ))));
        }
        let wait = timeout(timeout_ms);
        let addrs = match tokio::time::timeout(wait, tokio::net::lookup_host((host.as_str(), port))).await {
            Err(_) => return Ok(Err(TcpError::Timeout(format!("resolving {host}")))),
            Ok(Err(e)) => return Ok(Err(TcpError::Io(format!("resolving {host}: {e}")))),
            Ok(Ok(a)) => a.collect::<Vec<_>>(),
        };
        let mut last_denial = None;
        for addr in addrs {
            if let Err(d) = self.perms.check_tcp(&host, addr.ip(), port) {
                last_denial = Some(d.0);
                continue;
            }
            trace_decision(&plugin, "tcp", &target, true, &format!("connect {addr}"));
            return Ok(match tokio::time::timeout(wait, TcpStream::connect(addr)).await {
                Err(_) => Err(TcpError::Timeout(format!("connecting to {target}"))),
                Ok(Err(e)) => Err(TcpError::Io(format!("connecting to {target}: {e}"))),
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    self.open_connections += 1;
                    Ok(self.table.push(Connection::Plain(stream))?)
                }
            });
        }
        let why = last_denial.unwrap_or_else(|| format!("{host} resolved to no address"));
        trace_decision(&plugin, "tcp", &target, false, &why);
        Ok(Err(TcpError::Denied(why)))
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
        let mut buf = vec![0u8; n];
        let wait = timeout(timeout_ms);
        let got = match self.table.get_mut(&conn)? {
            Connection::Plain(s) => tokio::time::timeout(wait, s.read(&mut buf)).await,
            Connection::Tls(s) => tokio::time::timeout(wait, s.read(&mut buf)).await,
            Connection::Broken => return Ok(Err(TcpError::Closed)),
        };
        Ok(match got {
            Err(_) => Err(TcpError::Timeout(format!("no data within {} ms", wait.as_millis()))),
            Ok(Err(e)) => Err(TcpError::Io(e.to_string())),
            Ok(Ok(k)) => {
                buf.truncate(k);
                Ok(buf)
            }
        })
    }

    async fn write(
        &mut self,
        conn: Resource<Connection>,
        data: Vec<u8>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<(), TcpError>> {
        let wait = timeout(timeout_ms);
        let done = match self.table.get_mut(&conn)? {
            Connection::Plain(s) => tokio::time::timeout(wait, s.write_all(&data)).await,
            Connection::Tls(s) => tokio::time::timeout(wait, async {
                s.write_all(&data).await?;
                s.flush().await
            })
            .await,
            Connection::Broken => return Ok(Err(TcpError::Closed)),
        };
        Ok(match done {
            Err(_) => Err(TcpError::Timeout(format!("write not done within {} ms", wait.as_millis()))),
            Ok(Err(e)) => Err(TcpError::Io(e.to_string())),
            Ok(Ok(())) => Ok(()),
        })
    }

    async fn start_tls(
        &mut self,
        conn: Resource<Connection>,
        server_name: String,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<TlsInfo, TcpError>> {
        let slot = self.table.get_mut(&conn)?;
        let stream = match std::mem::replace(slot, Connection::Broken) {
            Connection::Plain(s) => s,
            other => {
                *slot = other;
                return Ok(Err(TcpError::Tls("the connection is not plain TCP".into())));
            }
        };
        let name = rustls_pki_types::ServerName::try_from(server_name.clone())
            .unwrap_or_else(|_| rustls_pki_types::ServerName::try_from("invalid.invalid").expect("static name"));
        let connector = tokio_rustls::TlsConnector::from(Arc::new(crate::capabilities::tcp_tls::inspecting_config()));
        let wait = timeout(timeout_ms);
        let tls = match tokio::time::timeout(wait, connector.connect(name.to_owned(), stream)).await {
            Err(_) => return Ok(Err(TcpError::Timeout("TLS handshake".into()))),
            Ok(Err(e)) => return Ok(Err(TcpError::Tls(e.to_string()))),
            Ok(Ok(t)) => t,
        };
        let info = crate::capabilities::tcp_tls::describe(&tls, &server_name);
        *self.table.get_mut(&conn)? = Connection::Tls(Box::new(tls));
        Ok(Ok(info))
    }

    async fn drop(&mut self, conn: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        self.open_connections = self.open_connections.saturating_sub(1);
        Ok(())
    }
}
