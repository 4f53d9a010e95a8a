//! Every limit a plugin runs under, with the reason for its value.

use std::time::Duration;

/// Linear memory per plugin instance: generous for parsing a large tenant's
/// exports, small enough that a dozen plugins fit on a modest site server.
pub const MAX_MEMORY_BYTES: usize = 256 * 1024 * 1024;
/// Table elements per instance: far above what Rust or Python guests need.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;
/// Instances, tables and memories per store: one component is a handful.
pub const MAX_INSTANCES: usize = 64;
/// Native stack a plugin's wasm frames may use before wasmtime traps it with
/// "call stack exhausted": deep enough for recursive JSON parsing of real
/// tenant exports, small beside [`ASYNC_STACK_BYTES`].
pub const MAX_WASM_STACK_BYTES: usize = 1024 * 1024;
/// The fiber stack each plugin call runs on. It must hold the wasm frames
/// ([`MAX_WASM_STACK_BYTES`]) AND the host functions the guest calls (HTTP,
/// TLS, JSON), with room to spare: when both were 2 MiB, a guest's scalar
/// recursion reached the fiber's guard page before wasmtime's own check and
/// aborted the whole agent.
pub const ASYNC_STACK_BYTES: usize = 4 * 1024 * 1024;
/// How often the engine's epoch advances; the granularity of time limits.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Default wall-clock budget for one plugin's scan, including its host
/// calls; big tenants with throttling can take minutes.
pub const DEFAULT_SCAN_TIMEOUT: Duration = Duration::from_secs(600);
/// Budget for `describe`, which only returns constants.
pub const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest report accepted from a plugin, as serialized JSON: a 20,000-flow
/// tenant (about 14 MiB) fits with room to spare; a runaway plugin does not.
pub const MAX_REPORT_BYTES: usize = 32 * 1024 * 1024;
/// Most connector records plus findings in one report.
pub const MAX_REPORT_ITEMS: usize = 100_000;
/// Largest component file loaded: first-party plugins are well under 5 MB,
/// Python ones about 20 MB.
pub const MAX_COMPONENT_BYTES: u64 = 64 * 1024 * 1024;
/// Largest HTTP response body handed to a plugin.
pub const MAX_HTTP_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// Largest HTTP request body a plugin may send.
pub const MAX_HTTP_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// Timeout for one HTTP exchange.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// Retries of a throttled (429/503) HTTP answer before giving up.
pub const HTTP_MAX_RETRIES: u32 = 4;
/// Longest Retry-After the host honours; longer waits fail the request.
pub const HTTP_MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// Largest single TCP read returned to a plugin.
pub const MAX_TCP_READ_BYTES: u32 = 64 * 1024;
/// Longest TCP connect, read or write timeout a plugin may ask for.
pub const MAX_TCP_TIMEOUT: Duration = Duration::from_secs(60);
/// Open TCP connections per plugin at once (CIDR sweeps are bounded by this).
pub const MAX_TCP_CONNECTIONS: usize = 64;
/// Largest file a plugin may read in one call.
pub const MAX_FILE_READ_BYTES: u64 = 64 * 1024 * 1024;
/// Most entries one `list-dir` returns.
pub const MAX_DIR_ENTRIES: usize = 100_000;
/// Longest log line kept from a plugin.
pub const MAX_LOG_LINE_CHARS: usize = 4096;
