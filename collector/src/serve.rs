//! Serving the router: HTTPS (rustls) or, only when asked, plain HTTP, with
//! graceful shutdown, on hyper's HTTP/1 directly (not `axum::serve`) so that
//! the limits a stranger could otherwise hold a connection past are set:
//!
//! - TLS handshakes run in their own tasks, with [`HANDSHAKE_TIMEOUT`], so a
//!   slow or silent client never holds up accepting others;
//! - a request's headers must arrive within [`HEADER_READ_TIMEOUT`], and an
//!   idle keep-alive connection is closed after the same time (slowloris);
//! - at most [`MAX_CONNECTIONS`] are open; past that the listener waits and
//!   the kernel's backlog queues the rest;
//! - bodies are timed by the handlers that read them (see
//!   [`crate::api::ingest`]), since only they know how large one may be.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::ServerConfig;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// Longest a TLS handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a client may take to send a request's headers, and longest a
/// keep-alive connection may sit idle before its next request. Agents and
/// browsers send headers at once; only a slowloris needs longer.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Most connections open at once: file descriptors and per-connection
/// buffers are finite, and hundreds of agents with a console need far fewer.
pub const MAX_CONNECTIONS: usize = 4096;

/// Most TLS handshakes under way at once: each costs a key exchange, and a
/// flood of half-open ones must not spawn tasks without end.
pub const MAX_HANDSHAKES: usize = 256;

/// A bound listener, ready to serve.
pub struct Server {
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    header_timeout: Duration,
}

impl Server {
    /// Bind `addr`; with `tls`, serve HTTPS, without, plain HTTP.
    pub async fn bind(addr: SocketAddr, tls: Option<Arc<ServerConfig>>) -> io::Result<Server> {
        Ok(Server { listener: TcpListener::bind(addr).await?, tls, header_timeout: HEADER_READ_TIMEOUT })
    }

    /// The same with another header timeout (tests shorten it).
    pub fn with_header_timeout(mut self, timeout: Duration) -> Server {
        self.header_timeout = timeout;
        self
    }

    /// The address bound (for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve `app` until `shutdown` completes, then finish the requests in flight.
    pub async fn run(self, app: Router, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        let mut incoming = match self.tls {
            None => Incoming::Plain(self.listener),
            Some(config) => Incoming::Tls(TlsListener::new(self.listener, config)?),
        };
        // Each connection holds a receiver: `true` asks it to finish, and
        // `closed()` resolves once the last connection has let go.
        let (stop, stopping) = watch::channel(false);
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                _ = &mut shutdown => break,
            };
            let accepted = tokio::select! {
                conn = incoming.accept() => conn,
                _ = &mut shutdown => break,
            };
            let (app, stopping, header_timeout) = (app.clone(), stopping.clone(), self.header_timeout);
            let connection = move |peer| Connection { peer, app, stopping, slot, header_timeout };
            match accepted {
                Accepted::Plain(tcp, peer) => connection(peer).spawn(tcp),
                Accepted::Tls(tls, peer) => connection(peer).spawn(*tls),
            }
        }
        drop(incoming);
        drop(stopping);
        let _ = stop.send(true);
        stop.closed().await;
        Ok(())
    }
}

/// One accepted connection and what serving it takes.
struct Connection {
    peer: SocketAddr,
    app: Router,
    stopping: watch::Receiver<bool>,
    slot: OwnedSemaphorePermit,
    header_timeout: Duration,
}

impl Connection {
    /// Serve it: HTTP/1 with keep-alive, the header timeout, and the peer's
    /// address in every request (`ConnectInfo<PeerAddr>`, which the sign-in
    /// throttle and the upload admission count by).
    fn spawn<IO>(self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection { peer, app, mut stopping, slot, header_timeout } = self;
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut().insert(ConnectInfo(PeerAddr(peer)));
                app.clone().oneshot(req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            let mut asked = *stopping.borrow();
            loop {
                if asked {
                    conn.as_mut().graceful_shutdown();
                }
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(%peer, "connection: {e}");
                        }
                        break;
                    }
                    changed = stopping.changed(), if !asked => {
                        // A closed channel means the server is gone: finish too.
                        asked = changed.is_err() || *stopping.borrow();
                    }
                }
            }
        });
    }
}

/// Where connections come from.
enum Incoming {
    Plain(TcpListener),
    Tls(TlsListener),
}

/// One accepted connection, TLS done.
enum Accepted {
    Plain(TcpStream, SocketAddr),
    Tls(Box<TlsStream<TcpStream>>, SocketAddr),
}

impl Incoming {
    async fn accept(&mut self) -> Accepted {
        match self {
            Incoming::Plain(listener) => loop {
                match listener.accept().await {
                    Ok((tcp, peer)) => return Accepted::Plain(tcp, peer),
                    Err(e) => pause_after_accept_error(e).await,
                }
            },
            Incoming::Tls(listener) => match listener.ready.recv().await {
                Some((tls, peer)) => Accepted::Tls(Box::new(tls), peer),
                // The accept loop never ends on its own; if it did, accept nothing more.
                None => std::future::pending().await,
            },
        }
    }
}

/// Out of file descriptors and the like: wait, do not spin.
async fn pause_after_accept_error(e: io::Error) {
    tracing::warn!("accept: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The client's address, as handlers see it (`ConnectInfo<PeerAddr>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Resolves on ctrl-c or SIGTERM. The handlers are in place when this
/// returns, not when the future is first polled (in a task of axum's, some
/// time after "listening" is printed): a service manager's SIGTERM right
/// after start still stops the collector gracefully.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let (interrupt, terminate) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()));
    async move {
        let wait = |s: io::Result<tokio::signal::unix::Signal>| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = wait(interrupt) => {}
            _ = wait(terminate) => {}
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}

/// Accepted TLS connections, handshakes done in the background.
struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<TlsListener> {
        let (tx, ready) = mpsc::channel(64);
        let acceptor = tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), tx));
        Ok(TlsListener { ready, acceptor })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let slot = handshakes.clone().acquire_owned().await.expect("the semaphore is never closed");
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                pause_after_accept_error(e).await;
                continue;
            }
        };
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}
