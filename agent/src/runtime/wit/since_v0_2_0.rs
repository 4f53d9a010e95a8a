//! Bindings for `plumbline:plugin@0.2.0` (frozen), the newest contract: the
//! capabilities implement its host traits directly.

wasmtime::component::bindgen!({
    path: "../wit/since_v0.2.0",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "plumbline:plugin/tcp.connection": crate::capabilities::tcp::Connection,
    },
});

pub use plumbline::plugin::types::{
    Attribute, Category, Permission, ScanLimits, SettingKind, SettingSpec, Severity,
};
