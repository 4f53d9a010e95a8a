//! Foundation benchmarks (run: `cargo bench -p plumbline-agent --bench foundation`).
//!
//! 1. Plugin cold load: compile with Cranelift vs. load from the compiled
//!    cache (each followed by one `describe`, so the plugin is usable).
//! 2. Exchange check throughput: the exchange-connectors component scanning
//!    an offline export in the real sandbox vs. the same parse + check code
//!    compiled natively, runs interleaved so both see the same machine load.
//!
//! Medians of several runs; ratios matter more than absolute numbers on a
//! noisy machine. `PLUMBLINE_BENCH_CONNECTORS` scales the export (default 5000).

use plumbline_agent::capabilities::Network;
use plumbline_agent::config::{Config, FileGrant, Grants};
use plumbline_agent::runtime::{Runtime, ScanInput};
use plumbline_tests::fixture::ExchangeData;
use plumbline_tests::plugins;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn runtime(cache: Option<&std::path::Path>) -> Runtime {
    let cfg: Config = toml::from_str("tenant_id = 't'\nsite_id = 's'").unwrap();
    Runtime::new(cache, Arc::new(Network::from_config(&cfg).unwrap())).unwrap()
}

/// Load what the build signed, as a config trusting its key does: the
/// signature check is part of every cold load measured here.
fn signed_by_the_build() -> plumbline_agent::runtime::trust::TrustPolicy {
    let key = plumbline_agent::runtime::trust::PublisherKey::parse(plugins::publisher()).unwrap();
    plumbline_agent::runtime::trust::TrustPolicy::new("exchange-connectors", vec![key], None, false)
}

/// A cold load's time, split into the load (read, hash, verify, compile or
/// take from the cache, link) and the first `describe` (instantiate, call).
struct ColdLoad {
    load: Duration,
    describe: Duration,
    from_cache: bool,
}

async fn load_and_describe(rt: &Runtime, path: &std::path::Path) -> ColdLoad {
    let t = Instant::now();
    let p = rt.load(path, &signed_by_the_build()).unwrap();
    let load = t.elapsed();
    rt.describe(&p).await.unwrap();
    ColdLoad { load, describe: t.elapsed() - load, from_cache: p.from_cache }
}

/// What every load does before it asks the cache: read the file, hash it
/// and verify its publisher signature.
fn read_hash_verify(path: &std::path::Path) -> Duration {
    let t = Instant::now();
    let bytes = std::fs::read(path).unwrap();
    let parsed = plumbline_protocol::plugin_signature::parse(&bytes).unwrap();
    assert!(parsed.verifies(), "the build signs every component");
    t.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let component = plugins::plugin("exchange-connectors");
    let tmp = tempfile::tempdir().unwrap();

    // --- 1. cold load
    // Compiles are slow and few; cached loads are quick, so more of them.
    const COMPILE_RUNS: usize = 5;
    const CACHED_RUNS: usize = 25;
    let mut compile = Vec::new();
    let (mut cached, mut cached_load, mut cached_describe, mut verify) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let cache_dir = tmp.path().join("cache");
    for i in 0..CACHED_RUNS + 1 {
        if i < COMPILE_RUNS {
            let cold = load_and_describe(&runtime(None), &component).await;
            assert!(!cold.from_cache);
            compile.push(cold.load + cold.describe);
        }
        let warm = runtime(Some(&cache_dir));
        let cold = load_and_describe(&warm, &component).await;
        assert_eq!(cold.from_cache, i > 0, "first load fills the cache, the rest hit it");
        if i > 0 {
            cached.push(cold.load + cold.describe);
            cached_load.push(cold.load);
            cached_describe.push(cold.describe);
            verify.push(read_hash_verify(&component));
        }
    }
    let (c, h) = (median(compile), median(cached));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (load, describe, verify) = (median(cached_load), median(cached_describe), median(verify));
    println!("plugin cold load (exchange-connectors, {} KiB component)", std::fs::metadata(&component).unwrap().len() / 1024);
    println!("  compile (no cache):   {:>9.1} ms", ms(c));
    println!("  from compiled cache:  {:>9.2} ms", ms(h));
    println!("    of which read+sha256+verify {:.2} ms, cache+link {:.2} ms, first describe {:.2} ms",
        ms(verify), ms(load.saturating_sub(verify)), ms(describe));
    println!("  speed-up:             {:>9.1}x", c.as_secs_f64() / h.as_secs_f64());

    // --- 2. check throughput, wasm vs native
    let n: usize = std::env::var("PLUMBLINE_BENCH_CONNECTORS").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    let data = ExchangeData::with_many_inbound(n);
    let export_dir = tmp.path().join("exports");
    std::fs::create_dir_all(&export_dir).unwrap();
    let inbound_text = serde_json::to_string_pretty(&data.inbound).unwrap();
    std::fs::write(export_dir.join("Get-InboundConnector.json"), &inbound_text).unwrap();

    let rt = runtime(Some(&cache_dir));
    let loaded = rt.load(&component, &signed_by_the_build()).unwrap();
    let desc = rt.describe(&loaded).await.unwrap();
    let now_ms = 1_795_597_200_000i64;
    let input = || ScanInput {
        tenant_id: "t".into(),
        site_id: "s".into(),
        settings: vec![
            ("mode".into(), "offline".into()),
            ("export_dir".into(), export_dir.to_string_lossy().into()),
            ("as_of".into(), "2026-11-25T09:00:00Z".into()),
        ],
        grants: Grants { files: vec![FileGrant::new(&export_dir)], ..Grants::default() },
        base_dir: tmp.path().to_path_buf(),
        timeout: Duration::from_secs(600),
        started_at_ms: now_ms as u64,
        progress: None,
    };

    const RUNS: usize = 5;
    let (mut wasm, mut native) = (Vec::new(), Vec::new());
    let (mut wasm_findings, mut native_findings) = (0, 0);
    for _ in 0..RUNS {
        let t = Instant::now();
        let report = rt.scan(&loaded, &desc, input()).await.unwrap();
        wasm.push(t.elapsed());
        wasm_findings = report.findings.len();

        let t = Instant::now();
        let text = std::fs::read_to_string(export_dir.join("Get-InboundConnector.json")).unwrap();
        let values = exchange_connectors::parse_export(&text, "Get-InboundConnector.json").unwrap();
        let state = exchange_connectors::ExchangeState::from_values(Some(values), None, None, None);
        let report = exchange_connectors::assess(&state, "t", now_ms, 30);
        native.push(t.elapsed());
        native_findings = report.findings.len();
    }
    assert_eq!(wasm_findings, native_findings, "the same checks must find the same things");
    let (w, nat) = (median(wasm), median(native));
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!("exchange checks over {n} inbound connectors ({wasm_findings} findings, {} KiB export)", inbound_text.len() / 1024);
    println!("  wasm (sandboxed scan): {:>9.1} ms  {:>10.0} connectors/s", w.as_secs_f64() * 1e3, rate(w));
    println!("  native (same code):    {:>9.1} ms  {:>10.0} connectors/s", nat.as_secs_f64() * 1e3, rate(nat));
    println!("  wasm / native time:    {:>9.2}x", w.as_secs_f64() / nat.as_secs_f64());
}
