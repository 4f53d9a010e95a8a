//! Outbound TCP through the host, with STARTTLS, for protocol checks.
//!
//! The host checks every connect against the plugin's declared and granted
//! targets, caps each read, and reports the peer certificate's facts on
//! `start_tls`.

pub use crate::bindings::plumbline::plugin::tcp::{connect, Connection, TcpError, TlsInfo};
