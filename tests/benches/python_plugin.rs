//! Python and JavaScript plugin cold start (run: `cargo bench -p plumbline-agent --bench python_plugin`).
//!
//! The azure-action-groups example (CPython inside, built by componentize-py)
//! and the azure-logic-apps example (SpiderMonkey inside, built by
//! componentize-js) beside the Rust exchange-connectors plugin, measured in
//! one run so the ratios hold on a noisy machine:
//! 1. load: compile with Cranelift vs. load from the compiled cache, each
//!    followed by one `describe`;
//! 2. one call: instantiate + `describe` of a loaded plugin, which is what
//!    every scan pays before the plugin's own work.
//!
//! Medians of several runs.

use plumbline_agent::capabilities::Network;
use plumbline_agent::config::Config;
use plumbline_agent::runtime::trust::{PublisherKey, TrustPolicy};
use plumbline_agent::runtime::Runtime;
use plumbline_tests::plugins;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn runtime(cache: Option<&Path>) -> Runtime {
    let cfg: Config = toml::from_str("tenant_id = 't'\nsite_id = 's'").unwrap();
    Runtime::new(cache, Arc::new(Network::from_config(&cfg).unwrap())).unwrap()
}

fn trust() -> TrustPolicy {
    TrustPolicy::new("bench", vec![PublisherKey::parse(plugins::publisher()).unwrap()], None, false)
}

struct Figures {
    compile: Duration,
    cached: Duration,
    call: Duration,
    kib: u64,
}

async fn measure(component: &Path, cache_dir: &Path) -> Figures {
    const RUNS: usize = 5;
    let (mut compile, mut cached, mut call) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..RUNS {
        let t = Instant::now();
        let rt = runtime(None);
        let p = rt.load(component, &trust()).unwrap();
        rt.describe(&p).await.unwrap();
        compile.push(t.elapsed());

        let t = Instant::now();
        let rt = runtime(Some(cache_dir));
        let p = rt.load(component, &trust()).unwrap();
        rt.describe(&p).await.unwrap();
        assert_eq!(p.from_cache, i > 0, "the first load fills the cache, the rest hit it");
        if i > 0 {
            cached.push(t.elapsed());
        }
        let t = Instant::now();
        rt.describe(&p).await.unwrap();
        call.push(t.elapsed());
    }
    Figures {
        compile: median(compile),
        cached: median(cached),
        call: median(call),
        kib: std::fs::metadata(component).unwrap().len() / 1024,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let python = measure(&plugins::python_plugin("azure-action-groups"), &tmp.path().join("py")).await;
    let js = measure(&plugins::js_plugin("azure-logic-apps"), &tmp.path().join("js")).await;
    let rust = measure(&plugins::plugin("exchange-connectors"), &tmp.path().join("rs")).await;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let x = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("plugin cold start: Python (azure-action-groups), JavaScript (azure-logic-apps), Rust (exchange-connectors)");
    println!("                        {:>10} {:>10} {:>10} {:>8} {:>8}", "python", "js", "rust", "py/rust", "js/rust");
    println!(
        "  component size (KiB): {:>10} {:>10} {:>10} {:>7.1}x {:>7.1}x",
        python.kib,
        js.kib,
        rust.kib,
        python.kib as f64 / rust.kib as f64,
        js.kib as f64 / rust.kib as f64
    );
    for (what, p, j, r) in [
        ("compile + describe", python.compile, js.compile, rust.compile),
        ("cache + describe", python.cached, js.cached, rust.cached),
        ("instantiate+describe", python.call, js.call, rust.call),
    ] {
        println!("  {what:<20} {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>7.1}x {:>7.1}x", ms(p), ms(j), ms(r), x(p, r), x(j, r));
    }
    println!("  compile / cache: python {:.1}x, js {:.1}x", x(python.compile, python.cached), x(js.compile, js.cached));
}
