//! Write Plumbline connector plugins in Rust.
//!
//! A plugin is a type that implements [`Plugin`], registered once with
//! [`register_plugin!`]. It is compiled to a WebAssembly component and runs
//! in the Plumbline agent's sandbox; everything it needs from outside comes
//! through the host capabilities in [`http`], [`tcp`], [`files`], [`log`] and
//! [`host`], each of which the operator must grant.
//!
//! ```
//! use plumbline_plugin_sdk::prelude::*;
//!
//! struct Mine;
//!
//! impl Plugin for Mine {
//!     const NAME: &'static str = "mine";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     fn categories() -> Vec<Category> { vec![Category::ExchangeConnector] }
//!     fn scan(ctx: &ScanContext) -> Result<Report, ScanError> { Ok(Report::empty()) }
//! }
//!
//! register_plugin!(Mine);
//! ```
//!
//! Keep the logic in plain functions over parsed data: then it is unit
//! testable natively with `cargo test`, and only `scan` touches the host.
#![deny(missing_docs)]

extern crate self as plumbline_plugin_sdk;

// A plugin runs single-threaded in its own instance, which is what this
// allocator is for; see the `talc` feature in Cargo.toml for why it is here.
#[cfg(all(feature = "talc", target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/since_v0.2.0",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_plugin",
        default_bindings_module: "plumbline_plugin_sdk::bindings",
        runtime_path: "plumbline_plugin_sdk::__wit_bindgen::rt",
        additional_derives: [PartialEq],
    });
}

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

pub mod files;
pub mod host;
pub mod http;
pub mod log;
mod records;
pub mod redact;
pub use records::UniqueKeys;
mod declare;
pub mod settings;
pub mod tcp;
pub mod time;

pub use bindings::plumbline::plugin::types::{
    Attribute, Capabilities, Category, ConnectorRecord, Finding, Permission, PluginInfo, Report,
    ScanContext, ScanError, ScanLimits, SettingKind, SettingSpec, Severity, TcpTarget,
};

/// Everything a plugin usually needs, in one import.
pub mod prelude {
    pub use crate::settings::Settings;
    pub use crate::{
        register_plugin, Attribute, Capabilities, Category, ConnectorRecord, Finding, Permission,
        Plugin, Report, ScanContext, ScanError, SettingSpec, Severity, TcpTarget,
    };
}

/// A Plumbline plugin. Implement it once and register it with
/// [`register_plugin!`].
pub trait Plugin {
    /// Plugin name, unique among plugins, lower-case with dashes.
    const NAME: &'static str;
    /// Plugin version; usually `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;
    /// One line for `plumbline plugins list`.
    const DESCRIPTION: &'static str = "";

    /// The connector categories this plugin reports.
    fn categories() -> Vec<Category>;

    /// The capabilities this plugin asks for. The default asks for nothing;
    /// the operator's grant is intersected with this.
    fn capabilities() -> Capabilities {
        Capabilities::none()
    }

    /// Every setting this plugin reads, with its kind, default and one line
    /// of doc. Once any is declared, the agent refuses keys that are not
    /// (with "did you mean") and values of the wrong kind before the scan.
    fn settings() -> Vec<SettingSpec> {
        Vec::new()
    }

    /// The Microsoft 365 permissions and roles its requests need, for least
    /// privilege: `plumbline plugins inspect` shows them.
    fn required_permissions() -> Vec<Permission> {
        Vec::new()
    }

    /// Granted directories whose changes should trigger a rescan (`*`: all
    /// of its file grants).
    fn watch() -> Vec<String> {
        Vec::new()
    }

    /// Run one scan.
    fn scan(ctx: &ScanContext) -> Result<Report, ScanError>;

    /// The identity the host sees; built from the items above.
    fn describe() -> PluginInfo {
        PluginInfo {
            name: Self::NAME.to_string(),
            version: Self::VERSION.to_string(),
            description: Self::DESCRIPTION.to_string(),
            categories: Self::categories(),
            capabilities: Self::capabilities(),
            settings: Self::settings(),
            required_permissions: Self::required_permissions(),
            watch: Self::watch(),
        }
    }
}

/// Register a [`Plugin`] implementation as this component's exports.
#[macro_export]
macro_rules! register_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __PlumblineExports;

        impl $crate::bindings::Guest for __PlumblineExports {
            fn describe() -> $crate::PluginInfo {
                <$plugin as $crate::Plugin>::describe()
            }

            fn scan(ctx: $crate::ScanContext) -> ::core::result::Result<$crate::Report, $crate::ScanError> {
                <$plugin as $crate::Plugin>::scan(&ctx)
            }
        }

        $crate::bindings::__export_plugin!(__PlumblineExports with_types_in $crate::bindings);
    };
}

impl Capabilities {
    /// Ask for nothing.
    pub fn none() -> Self {
        Capabilities {
            http_hosts: Vec::new(),
            tcp_targets: Vec::new(),
            file_dirs: Vec::new(),
        }
    }

    /// Also ask for HTTP(S) to `host` (a leading `*.` matches subdomains).
    pub fn http(mut self, host: &str) -> Self {
        self.http_hosts.push(host.to_string());
        self
    }

    /// Also ask for TCP to `host` (name, IP, CIDR or `*`) on `ports`.
    pub fn tcp(mut self, host: &str, ports: &[u16]) -> Self {
        self.tcp_targets.push(TcpTarget {
            host: host.to_string(),
            ports: ports.to_vec(),
        });
        self
    }

    /// Also ask to read files under `dir` (`*`: whatever the operator grants).
    pub fn files(mut self, dir: &str) -> Self {
        self.file_dirs.push(dir.to_string());
        self
    }
}

impl Report {
    /// A report with nothing in it.
    pub fn empty() -> Self {
        Report {
            connectors: Vec::new(),
            findings: Vec::new(),
        }
    }
}

impl Severity {
    /// Lower-case name, as in the register.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl ScanError {
    /// The same error with `context` in front of its message, keeping its
    /// kind: `e.context("Get-InboundConnector")`.
    pub fn context(self, context: impl std::fmt::Display) -> ScanError {
        match self {
            ScanError::Config(m) => ScanError::Config(format!("{context}: {m}")),
            ScanError::Denied(m) => ScanError::Denied(format!("{context}: {m}")),
            ScanError::Malformed(m) => ScanError::Malformed(format!("{context}: {m}")),
            ScanError::Upstream(m) => ScanError::Upstream(format!("{context}: {m}")),
            ScanError::Other(m) => ScanError::Other(format!("{context}: {m}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_the_kind() {
        let e = ScanError::Malformed("bad JSON".into()).context("Get-InboundConnector");
        assert_eq!(e, ScanError::Malformed("Get-InboundConnector: bad JSON".into()));
    }
}
