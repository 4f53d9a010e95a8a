//! Every limit a plugin runs under, with the reason for its value.

use std::time::Duration;

/// Memory per plugin, counted across all its linear memories and tables
/// together: generous for parsing a large tenant's exports, small enough that
/// a dozen plugins fit on a modest site server. Counted per memory, four
/// memories of 200 MiB each once passed.
pub const MAX_MEMORY_BYTES: usize = 256 * 1024 * 1024;
/// Table elements per plugin, all tables together: far above what Rust or
/// Python guests need.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;
/// What one table element costs the host, counted against
/// [`MAX_MEMORY_BYTES`] (a function reference is a few pointers wide).
pub const TABLE_ELEMENT_BYTES: usize = 16;
/// Core instances per store: a component is a handful (main module, shims,
/// fix-ups); a Python one a few more.
pub const MAX_INSTANCES: usize = 64;
/// Linear memories per store: Rust and Python components have one; a few
/// more leave room, and with few the total cap is easy to reason about.
pub const MAX_MEMORIES: usize = 4;
/// Tables per store: one per core module at most.
pub const MAX_TABLES: usize = 16;
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
/// Longest scan budget an operator may set: a day is far beyond the largest
/// tenant, and keeps deadline arithmetic far from overflowing.
pub const MAX_SCAN_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Longest a component may take to load and compile, apart from its scan
/// budget (which is the operator's, for the plugin's own work): a cold
/// debug build compiles a first-party plugin in a few seconds, a Python
/// component in tens; one that takes minutes is hostile or broken.
pub const COMPILE_TIMEOUT: Duration = Duration::from_secs(180);
/// Budget for `describe`, which only returns constants.
pub const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest report accepted from a plugin, as serialized JSON: a 20,000-flow
/// tenant (about 14 MiB) fits with room to spare; a runaway plugin does not.
pub const MAX_REPORT_BYTES: usize = 32 * 1024 * 1024;
/// Most connector records plus findings in one report.
pub const MAX_REPORT_ITEMS: usize = 100_000;
/// Longest error message a plugin's `scan` may return: the register keeps
/// it, so it is capped like any other guest text (once 64 MiB got through).
pub const MAX_GUEST_ERROR_CHARS: usize = 4096;
/// Longest plugin description kept from `describe()`: one line.
pub const MAX_DESCRIPTION_CHARS: usize = 512;
/// Longest version string: `1.2.3-beta.4+build.5` with room to spare.
pub const MAX_VERSION_CHARS: usize = 64;
/// Warnings kept from converting one report (duplicate keys and the like);
/// the rest are counted in one last warning.
pub const MAX_REPORT_WARNINGS: usize = 50;
/// Largest component file loaded: first-party plugins are well under 5 MB,
/// Python ones about 20 MB.
pub const MAX_COMPONENT_BYTES: u64 = 64 * 1024 * 1024;
/// Settings one plugin may declare: the largest first-party plugin reads
/// about twenty.
pub const MAX_DECLARED_SETTINGS: usize = 200;
/// Longest setting name declared (and so the longest config key checked).
pub const MAX_SETTING_NAME_CHARS: usize = 64;
/// Words in one `choice` setting.
pub const MAX_SETTING_CHOICES: usize = 64;
/// Microsoft 365 permissions and roles one plugin may declare: a handful
/// is normal; a plugin that needs hundreds is not least privilege.
pub const MAX_DECLARED_PERMISSIONS: usize = 100;
/// Longest permission or role name kept (Graph's are under 60 characters).
pub const MAX_PERMISSION_NAME_CHARS: usize = 128;
/// Folders one plugin may ask to be watched.
pub const MAX_DECLARED_WATCH_DIRS: usize = 64;
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
/// Requests in one `http.send-all` and targets in one `tcp.connect-all`:
/// a page of 250 flows needs 250 permission requests, a /24 sweep 254
/// connects; the host holds every answer of a list until the list is done,
/// so the list is bounded before its bytes are.
pub const MAX_BATCH: usize = 1000;
/// Requests of one plugin in flight at once, over all its `send-all` lists:
/// enough to hide round trips of 100-200 ms to Microsoft 365 (20,000 flows
/// in minutes instead of an hour), few enough that one plugin cannot open
/// hundreds of connections from a client's site.
pub const MAX_HTTP_IN_FLIGHT_PER_PLUGIN: usize = 16;
/// Requests in flight to one destination host at once, over every plugin:
/// Microsoft 365 throttles per app and tenant (Graph answers 429 well before
/// 16 concurrent requests to one resource), and a throttled service is
/// slower than a patient client. A throttled request keeps its slot while
/// it waits out Retry-After, so the service sees fewer requests, not more.
pub const MAX_HTTP_IN_FLIGHT_PER_HOST: usize = 8;
/// Bytes of all answers of one `send-all` list together: the list is copied
/// into the plugin's memory in one piece, which must fit in
/// [`MAX_MEMORY_BYTES`] beside the plugin's own data. Entries past it fail
/// as too large, the others stand.
pub const MAX_BATCH_RESPONSE_BYTES: usize = 96 * 1024 * 1024;
/// Connects of one `connect-all` list in flight at once: a /24 sweep, whose
/// dead addresses each wait out the connect timeout, takes one timeout, not
/// 254 of them. A dial that fails holds no connection, so this is bounded by
/// sockets being opened (file descriptors), not by [`MAX_TCP_CONNECTIONS`],
/// which still caps those that answer; nmap's default parallelism is of the
/// same order.
pub const MAX_TCP_CONNECTS_IN_FLIGHT: usize = 256;
/// Longest `what` of a progress report kept: a few words.
pub const MAX_PROGRESS_TEXT_CHARS: usize = 80;
/// Largest single TCP read returned to a plugin.
pub const MAX_TCP_READ_BYTES: u32 = 64 * 1024;
/// Longest TCP connect, read or write timeout a plugin may ask for.
pub const MAX_TCP_TIMEOUT: Duration = Duration::from_secs(60);
/// Open TCP connections per plugin at once (CIDR sweeps are bounded by this).
pub const MAX_TCP_CONNECTIONS: usize = 64;
/// Largest file a plugin may read in one call.
pub const MAX_FILE_READ_BYTES: u64 = 64 * 1024 * 1024;
/// Longest a file system call may take before the plugin gets an error: a
/// healthy disk or share answers in milliseconds; a hung mount never does.
pub const FILE_OP_TIMEOUT: Duration = Duration::from_secs(30);
/// A plugin's file operations and name lookups outstanding on blocking
/// threads at once. One that hangs keeps its slot until the system lets it
/// go, so a plugin stuck on a dead mount cannot fill tokio's blocking pool.
pub const MAX_BLOCKING_OPS_PER_PLUGIN: usize = 8;
/// Most entries one `list-dir` returns.
pub const MAX_DIR_ENTRIES: usize = 100_000;
/// Longest log line kept from a plugin.
pub const MAX_LOG_LINE_CHARS: usize = 4096;
/// Log lines (its own, and the host's traces of its denied calls) one
/// plugin may put into the operator's log per scan: plenty to diagnose a
/// scan, too few to bury the other plugins' lines or fill an RMM's log.
pub const MAX_LOG_LINES_PER_SCAN: usize = 1000;
/// The same budget in bytes.
pub const MAX_LOG_BYTES_PER_SCAN: usize = 256 * 1024;
