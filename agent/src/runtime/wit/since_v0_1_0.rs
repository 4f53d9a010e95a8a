//! Bindings for `plumbline:plugin@0.1.0` (frozen).

wasmtime::component::bindgen!({
    path: "../wit/since_v0.1.0",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "plumbline:plugin/tcp.connection": crate::capabilities::tcp::Connection,
    },
});

pub use plumbline::plugin::types::{Attribute, Category, Severity};
