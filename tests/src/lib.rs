//! Plumbline's test kit: a local server that answers as Microsoft 365 does
//! (with paging, throttling and errors), and the plugin components, built
//! by this crate's build script; and a real PostgreSQL server for the
//! collector's tests ([`postgres`]).

pub mod fixture;
pub mod plugins;
pub mod postgres;
