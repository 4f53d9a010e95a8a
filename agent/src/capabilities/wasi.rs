//! WASI 0.2 for components that import it, linked deny-all: a Python plugin
//! built with componentize-py carries CPython, which imports wasi:cli,
//! wasi:io, wasi:clocks, wasi:random and wasi:filesystem (and may try
//! wasi:sockets), and cannot be instantiated without them. Linking them with
//! nothing behind keeps the contract's own imports, each checked against the
//! plugin's grants, the only way out.
//!
//! What a plugin gets from WASI here: no preopened directory (every path is
//! "not found"), no environment variables, no arguments, no working
//! directory, an empty stdin, stdout and stderr that discard what is written
//! (the `log` import is the way to the operator's log, and it is budgeted),
//! no TCP, no UDP, no name lookups, and every socket address refused. Clocks
//! and random numbers work: CPython needs them (hash seeds), and they reveal
//! nothing `host-info.now-ms` does not.
//!
//! Rust plugins built by the SDK import none of this; linking it changes
//! nothing for them.

use super::HostState;
use wasmtime::component::Linker;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// The WASI context every plugin store gets: nothing granted.
pub fn deny_all() -> WasiCtx {
    let mut b = WasiCtxBuilder::new();
    // Each of these is the builder's default today; said here so that a
    // default that changes in a wasmtime upgrade cannot open a way out.
    b.allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }))
        .stdin(tokio::io::empty())
        .stdout(tokio::io::empty())
        .stderr(tokio::io::empty());
    b.build()
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Add WASI 0.2's interfaces, backed by [`deny_all`], to `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)
}
