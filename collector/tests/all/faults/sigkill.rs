//! The collector process killed with SIGKILL at random points during 1,000
//! deliveries from 10 agents, and restarted each time.

use super::delivery::{deliver_all, Collector, Rng};
use super::verify::{exactly_once_and_as_replayed, summary};
use crate::both_backends;
use crate::support::Backend;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const AGENTS: usize = 10;
const BATCHES_EACH: u64 = 100;
const KILLS: usize = 8;

async fn sigkill_during_ingest_loses_and_doubles_nothing(backend: Backend) {
    let started = Instant::now();
    let mut rng = Rng::seeded(&format!("sigkill ({backend:?})"));
    let t = backend.store().await;
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        agents.push(t.agent(&format!("tenant{i}"), "hq").await);
    }
    let mut collector = Collector::start(&t.url);
    let done = Arc::new(AtomicUsize::new(0));
    let total = AGENTS * BATCHES_EACH as usize;
    let points = rng.points(KILLS, 20..total as u64 - 20);
    let delays: Vec<u64> = (0..KILLS).map(|_| rng.below(0..40)).collect();
    let base = collector.base.clone();
    let killer = {
        let done = done.clone();
        std::thread::spawn(move || {
            for (point, delay) in points.iter().zip(delays) {
                while done.load(Ordering::SeqCst) < *point {
                    std::thread::sleep(Duration::from_millis(2));
                }
                // Somewhere inside the next few requests, not between them.
                std::thread::sleep(Duration::from_millis(delay));
                collector.kill_and_restart();
            }
            collector
        })
    };
    let delivered = deliver_all(&agents, BATCHES_EACH, base, done.clone()).await;
    drop(killer.join().unwrap());
    eprintln!("sigkill ({backend:?}): {KILLS} kills; {}; delivered in {:?}", summary(&delivered), started.elapsed());
    exactly_once_and_as_replayed(&t, &agents, &delivered, backend).await;
    eprintln!("sigkill ({backend:?}): {:?} in all", started.elapsed());
}

both_backends!(sigkill_during_ingest_loses_and_doubles_nothing);
