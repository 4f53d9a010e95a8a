//! Plumbline's test kit: a local server that answers as Microsoft 365 does
//! (with paging, throttling and errors), and the plugin components, built
//! by this crate's build script; and a real PostgreSQL server for the
//! collector's tests ([`postgres`], and one that takes only TLS,
//! [`postgres_tls`]), and a private one a test may stop and start ([`postgres_private`]); and a stand-in collector for the agent's delivery tests ([`stub_collector`]); and a real headless
//! Chromium for the console's tests ([`browser`]); a stand-in for the
//! Teams Workflows and PSA endpoints alerts go to ([`workflows`]); and the
//! published schemas that outputs are validated against ([`schemas`]).

pub mod browser;
pub mod fixture;
pub mod plugins;
pub mod postfix;
pub mod ports;
pub mod postgres;
pub mod postgres_private;
pub mod postgres_tls;
pub mod schemas;
pub mod serve_process;
pub mod stub_collector;
pub mod workflows;
