//! The one integration test binary. Every test gets a fresh temp dir (a
//! [`support::Site`]); plugins are the real components built by the test
//! kit's build script, run in the real wasmtime host.

mod cli;
mod delivery;
mod exchange_live;
mod exchange_offline;
mod runtime_cache;
mod sandbox;
mod support;
mod webhook_finder;
