//! A real headless Chromium for the console's tests, driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`; no browser is downloaded).
//!
//! [`session`] starts one `chromedriver` per test binary on a free loopback
//! port, the first time a test asks, in a process group of its own; an
//! `atexit` hook kills the group, so neither the driver nor a browser a
//! failed test left open outlives `cargo test`. Each session gets a fresh
//! profile directory and accepts the collector's self-signed certificate.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use fantoccini;

/// The message when the browser is missing.
pub const NOT_INSTALLED: &str = "Chromium is not installed: run `apt-get install -y chromium chromium-driver` \
                                 (scripts/install-deps does)";

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const START_TIMEOUT: Duration = Duration::from_secs(30);

static DRIVER: OnceLock<Result<(u16, libc::pid_t), String>> = OnceLock::new();

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn start() -> Result<(u16, libc::pid_t), String> {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        return Err(NOT_INSTALLED.into());
    }
    let port = free_port();
    let mut cmd = Command::new(CHROMEDRIVER);
    cmd.arg(format!("--port={port}")).arg("--allowed-ips=127.0.0.1").stdout(Stdio::null()).stderr(Stdio::null());
    {
        use std::os::unix::process::CommandExt;
        // Its own group: the exit hook kills the driver and every browser.
        cmd.process_group(0);
    }
    let pid = crate::postgres::spawn_tied_to_process(cmd, None)?;
    // SAFETY: registering a plain extern "C" function.
    unsafe { libc::atexit(stop_at_exit) };
    let deadline = Instant::now() + START_TIMEOUT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("chromedriver did not listen on port {port} within {START_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((port, pid))
}

extern "C" fn stop_at_exit() {
    if let Some(Ok((_, pid))) = DRIVER.get() {
        // SAFETY: signalling our own child's process group.
        unsafe {
            libc::kill(-*pid, libc::SIGKILL);
        }
    }
}

/// A new browser session: headless, a fresh profile, no network but what
/// the test serves.
pub async fn session(profile: &Path) -> fantoccini::Client {
    let started = tokio::task::spawn_blocking(|| DRIVER.get_or_init(start).clone()).await.expect("starting chromedriver");
    let (port, _) = match started {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--window-size=1400,1000".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert("acceptInsecureCerts".into(), true.into());
    caps.insert("goog:chromeOptions".into(), serde_json::json!({ "binary": CHROMIUM, "args": args }));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    fantoccini::ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("opening a Chromium session through chromedriver: {e}"))
}
