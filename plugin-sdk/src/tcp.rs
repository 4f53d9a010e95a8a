//! Outbound TCP through the host, with STARTTLS, for protocol checks.
//!
//! The host checks every connect against the plugin's declared and granted
//! targets, caps each read, and reports the peer certificate's facts on
//! `start_tls`. `connect_all` dials many targets at once; a connection's
//! `peer_address` is the address it reached.

pub use crate::bindings::plumbline::plugin::tcp::{connect, connect_all, Connection, TcpError, TlsInfo};
