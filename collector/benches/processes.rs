//! Two collector processes on one PostgreSQL database against one (not a
//! timed test): real `plumbline-collector serve` OS processes, not two
//! routers in one process, so that what they share is only the database.
//!
//! N signed agents (default 100), each in its own tenant, deliver pre-signed
//! batches of 10 connectors and 100 findings one after another; agent `i`
//! talks to process `i % P`. Each run has a fresh database.
//!
//! Pinned runs put each process on a core of its own (`taskset -c i`): one
//! process on one core, then two on two, which is what "a second process
//! adds throughput" means on any machine. Unpinned runs let the processes
//! and everything else share all cores. The client (this bench) and
//! PostgreSQL run on the same machine in every run.
//!
//! `PLUMBLINE_BENCH_AGENTS` (default 100) and `PLUMBLINE_BENCH_BATCHES`
//! (default 20 per agent). PostgreSQL is the test server (fsync off) unless
//! `PLUMBLINE_TEST_PG_URL` names another.
//!
//! `cargo bench -p plumbline-collector --bench processes`

mod kit;

use kit::{deliver, enroll, exchange_batch, percentile, signed, FINDINGS};
use plumbline_collector::store;
use plumbline_protocol::identity::AgentKey;
use plumbline_tests::serve_process::ServeProcess;
use std::process::Command;
use std::time::Duration;

struct Run {
    processes: usize,
    pinned: bool,
    batches: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.batches as f64 / self.elapsed.as_secs_f64()
    }
}

fn main() {
    let agents: usize = std::env::var("PLUMBLINE_BENCH_AGENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let per_agent: usize = std::env::var("PLUMBLINE_BENCH_BATCHES").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let can_pin = cores >= 2 && Command::new("taskset").arg("--version").output().is_ok_and(|o| o.status.success());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pg = rt.block_on(plumbline_tests::postgres::server());

    let mut runs = Vec::new();
    let modes: Vec<bool> = if can_pin { vec![true, false] } else { vec![false] };
    for pinned in modes {
        for processes in [1, 2] {
            let url = rt.block_on(pg.fresh_database());
            runs.push(rt.block_on(run(&url, processes, pinned, agents, per_agent.max(2))));
        }
    }

    println!();
    println!("{agents} signed agents over loopback HTTP, {FINDINGS} findings per batch, PostgreSQL (fsync off); {cores} cores");
    println!("{:<10} {:>7} {:>8} {:>10} {:>11} {:>8} {:>8}", "processes", "pinned", "batches", "batches/s", "findings/s", "p50 ms", "p99 ms");
    for r in &runs {
        let mut l = r.latencies.clone();
        l.sort();
        println!(
            "{:<10} {:>7} {:>8} {:>10.0} {:>11.0} {:>8.2} {:>8.2}",
            r.processes,
            if r.pinned { "yes" } else { "no" },
            r.batches,
            r.rate(),
            r.rate() * FINDINGS as f64,
            percentile(&l, 0.50).as_secs_f64() * 1e3,
            percentile(&l, 0.99).as_secs_f64() * 1e3,
        );
    }
    for pair in runs.chunks(2) {
        println!(
            "two processes / one ({}): {:.2}x",
            if pair[0].pinned { "one core each" } else { "sharing all cores" },
            pair[1].rate() / pair[0].rate()
        );
    }
}

/// `serve` on `url`, on core `core` when pinned.
fn start(url: &str, core: Option<usize>, data_dir: &std::path::Path) -> ServeProcess {
    let bin = env!("CARGO_BIN_EXE_plumbline-collector");
    let mut command = match core {
        Some(core) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &core.to_string(), bin]);
            c
        }
        None => Command::new(bin),
    };
    command
        .args(["serve", "--insecure-http", "--listen", "127.0.0.1:0", "--database", url])
        .env("PLUMBLINE_COLLECTOR_DATA_DIR", data_dir)
        .env("PLUMBLINE_LOG", "warn");
    ServeProcess::start(command)
}

async fn run(url: &str, processes: usize, pinned: bool, agents: usize, per_agent: usize) -> Run {
    // Migrated and enrolled here, before any process starts.
    let store = store::open(url).await.unwrap();
    let mut work: Vec<(AgentKey, Vec<Vec<u8>>)> = Vec::new();
    for i in 0..agents {
        let tenant = format!("bench-{i}");
        let key = enroll(store.as_ref(), &tenant).await;
        let bodies = (1..=per_agent as u64).map(|seq| signed(&key, &exchange_batch(&key, &tenant, seq))).collect();
        work.push((key, bodies));
    }
    let dirs: Vec<_> = (0..processes).map(|_| tempfile::tempdir().unwrap()).collect();
    let served: Vec<ServeProcess> =
        dirs.iter().enumerate().map(|(i, d)| start(url, pinned.then_some(i), d.path())).collect();
    let bases: Vec<String> = served.iter().map(|s| s.base.clone()).collect();

    let (elapsed, latencies) = deliver(work, &bases, None).await;
    assert_eq!(store.counts().await.unwrap().batches as usize, agents * per_agent, "every batch stored once");
    drop(served);
    Run { processes, pinned, batches: latencies.len(), elapsed, latencies }
}
