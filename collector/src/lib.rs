//! The Plumbline collector: takes signed scan batches from enrolled agents,
//! verifies them before reading them, and keeps each tenant's connector
//! register.
//!
//! Data moves one way: [`api`] (HTTP) -> [`ingest`] (verify first) ->
//! [`register`] (what a batch changes) -> [`store`] (SQLite or PostgreSQL).
//! Storage never knows HTTP; the register never knows storage.
//!
//! - [`api`]: the axum router: enrollment, ingest, the read API.
//! - [`ingest`]: the verify-first pipeline and its typed refusals.
//! - [`register`]: applying a batch: latest state, history, finding lifecycle,
//!   annotations, and the merged register view.
//! - [`crosscheck`]: the site ↔ tenant cross-check, derived at ingest from a
//!   site's relays and egress ([`egress`]) and the tenant's Exchange connectors.
//! - [`store`]: the [`store::Store`] trait and its two backends.
//! - [`serve`] and [`tls`]: HTTPS (rustls, ring) or, when asked, plain HTTP.
//! - [`tokens`]: enrollment and API tokens (random, stored only as sha256).
//! - [`releases`]: agent releases published for self-update (files).
//! - [`admin`]: what the admin commands do.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod alerts;
pub mod api;
pub mod config;
pub mod crosscheck;
pub mod data_dir;
pub mod egress;
pub mod console;
pub mod ingest;
pub mod metrics;
pub mod policy;
pub mod reads;
pub mod reports;
pub mod register;
pub mod releases;
pub mod retention;
pub mod serve;
pub mod store;
pub mod timestamp;
pub mod tls;
pub mod tokens;
