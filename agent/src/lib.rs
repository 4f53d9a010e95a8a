//! The Plumbline site agent: loads sandboxed WebAssembly component plugins
//! through the versioned WIT contract and builds the connector register from
//! what they report; then signs it and delivers it to the MSP's collector.

pub mod capabilities;
pub mod config;
pub mod credentials;
pub mod delivery;
pub mod doctor;
pub mod endpoints;
pub mod output;
pub mod platform;
pub mod plugin_docs;
pub mod policy;
pub mod runtime;
pub mod scan;
pub mod service;
pub mod update;

/// The register types, shared with the collector.
pub use plumbline_protocol::register;
