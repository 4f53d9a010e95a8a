//! The service's memory between scans (run: `cargo bench -p plumbline-agent
//! --bench service_idle`; the release binary is what sites run, and
//! `PLUMBLINE_BIN=target/release/plumbline` measures one built apart).
//!
//! Starts the real `plumbline service run` loop on a weekly schedule against
//! the stand-in collector, with exchange-connectors scanning the demo
//! exports, so the first (caught-up) scan runs at once and the loop then
//! idles until next Monday. Prints the resident set (VmRSS) right after the
//! scan and after the runtime's idle worker threads have gone (tokio keeps
//! blocking threads 10 s). It does so twice: exchange-connectors alone,
//! then with webhook-finder over a copy of the demo site folder, which it
//! asks to have watched, so the second number is the service with its
//! watches on. The budget is 30 MB; nothing here asserts it, the
//! numbers are for the report and for regressions.
#[cfg(target_os = "linux")]
mod linux {
use plumbline_tests::plugins;
use plumbline_tests::stub_collector::StubCollector;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TENANT: &str = plumbline_tests::fixture::DEMO_TENANT_ID;

fn lit(p: &Path) -> String {
    format!("'{}'", p.display())
}

/// VmRSS, and its anonymous (heap, stacks) and file-backed (the binary's
/// pages, which the kernel may drop) parts, in MiB.
fn rss(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib = |name: &str| -> f64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
    };
    format!("{:.1} MiB (anonymous {:.1}, file {:.1})", kib("VmRSS:"), kib("RssAnon:"), kib("RssFile:"))
}

pub fn main() {
    measure(false);
    measure(true);
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn measure(watching: bool) {
    let stub = StubCollector::start();
    stub.add_token("bench-token", TENANT, "bench-site");
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exchange");
    std::fs::create_dir_all(&exports).unwrap();
    for e in std::fs::read_dir(plugins::root().join("demo/exchange")).unwrap().flatten() {
        std::fs::copy(e.path(), exports.join(e.file_name())).unwrap();
    }
    let finder = match watching {
        false => String::new(),
        true => {
            let webhooks = dir.path().join("webhooks");
            copy_tree(&plugins::root().join("demo/webhooks"), &webhooks);
            format!(
                "[plugins.webhook-finder]\npath = {}\n[plugins.webhook-finder.grants]\nfiles = [{}]\n\
                 [plugins.webhook-finder.settings]\npaths = {}\n",
                lit(&plugins::plugin("webhook-finder")),
                lit(&webhooks),
                lit(&webhooks)
            )
        }
    };
    let config = dir.path().join("plumbline.toml");
    std::fs::write(
        &config,
        format!(
            "tenant_id = '{TENANT}'\nsite_id = 'bench-site'\ncache_dir = {}\n\
             plugin_trust = {{ publishers = ['{}'] }}\n\
             [schedule]\nevery = '7d'\njitter = '0s'\n\
             [plugins.exchange-connectors]\npath = {}\n[plugins.exchange-connectors.grants]\nfiles = [{}]\n\
             [plugins.exchange-connectors.settings]\nmode = 'offline'\nexport_dir = {}\n\
             [delivery]\nkey_file = {}\nspool_dir = {}\n{finder}",
            lit(&dir.path().join("cache")),
            plugins::publisher(),
            lit(&plugins::plugin("exchange-connectors")),
            lit(&exports),
            lit(&exports),
            lit(&dir.path().join("keys/agent.key")),
            lit(&dir.path().join("spool"))
        ),
    )
    .unwrap();
    let config = config.to_string_lossy().into_owned();
    // PLUMBLINE_BIN measures another build (a release binary from a dev bench).
    let bin = std::env::var("PLUMBLINE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_plumbline").to_string());
    let bin = bin.as_str();
    let out = Command::new(bin).args(["enroll", "--collector", &stub.url(), "--token", "bench-token", "--config", &config]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let log = dir.path().join("service.log");
    let mut child = Command::new(bin)
        .args(["service", "run", "--config", &config])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    // "next scan at" once before the scan, once after it.
    while std::fs::read_to_string(&log).unwrap_or_default().matches("next scan at").count() < 2 {
        assert!(Instant::now() < deadline && child.try_wait().unwrap().is_none(), "{}", std::fs::read_to_string(&log).unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(stub.stored().len(), 1, "the scan was delivered");
    let after_scan = rss(child.id());
    std::thread::sleep(Duration::from_secs(15));
    let idle = rss(child.id());
    let connectors = stub.stored()[0].batch.connectors.len();
    let plugins = if watching { "exchange-connectors and webhook-finder, watching" } else { "exchange-connectors" };
    println!(
        "service idle RSS ({bin}, {plugins}, {connectors} connectors): {after_scan} right after the scan; {idle} 15 s later"
    );
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("service_idle reads /proc: Linux only");
}
