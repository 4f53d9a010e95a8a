//! Host bindings for each frozen contract version.
//!
//! `since_v0_1_0` binds `wit/since_v0.1.0`. When a new contract version is
//! added, it gets its own module here and becomes `latest`; the older
//! modules stay, and their host traits are implemented by mapping onto the
//! latest types, so old plugins keep working.

pub mod since_v0_1_0;

/// The newest contract version this host speaks.
pub use since_v0_1_0 as latest;

/// Contract versions this host can load, newest first.
pub const SUPPORTED_CONTRACTS: &[&str] = &["plumbline:plugin@0.1.0"];
