//! A private PostgreSQL crashed (`pg_ctl stop -m immediate`) and started
//! again several times while 6 agents deliver 300 batches to one collector.

use super::delivery::{deliver_all, Collector, Rng};
use super::verify::{exactly_once_and_as_replayed, summary};
use crate::support::{Backend, TestStore};
use plumbline_tests::postgres_private::PrivatePg;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const AGENTS: usize = 6;
const BATCHES_EACH: u64 = 50;
const CRASHES: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crashing_during_ingest_loses_and_doubles_nothing() {
    let started = Instant::now();
    let mut rng = Rng::seeded("pg_restart");
    let pg = Arc::new(tokio::task::spawn_blocking(PrivatePg::start).await.unwrap().unwrap_or_else(|e| panic!("{e}")));
    let t = TestStore::at(pg.fresh_database().await).await;
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        agents.push(t.agent(&format!("tenant{i}"), "hq").await);
    }
    let collector = Collector::start(&t.url);
    let base = collector.base.clone();
    let done = Arc::new(AtomicUsize::new(0));
    let total = AGENTS * BATCHES_EACH as usize;
    let points = rng.points(CRASHES, 10..total as u64 - 10);
    let downtimes: Vec<u64> = (0..CRASHES).map(|_| rng.below(200..800)).collect();
    let crasher = {
        let (done, pg, health) = (done.clone(), pg.clone(), format!("{}/v1/health", base.read().unwrap()));
        tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
            let mut unhealthy = Vec::new();
            for (point, downtime) in points.iter().zip(downtimes) {
                while done.load(Ordering::SeqCst) < *point {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                let stopping = pg.clone();
                tokio::task::spawn_blocking(move || stopping.stop_immediate()).await.unwrap().unwrap();
                let answered = client.get(&health).send().await.map(|r| r.status().as_u16());
                unhealthy.push(answered.unwrap_or_else(|e| panic!("/v1/health while PostgreSQL is down: {e}")));
                tokio::time::sleep(Duration::from_millis(downtime)).await;
                let starting = pg.clone();
                tokio::task::spawn_blocking(move || starting.restart()).await.unwrap().unwrap();
            }
            unhealthy
        })
    };
    let delivered = deliver_all(&agents, BATCHES_EACH, base.clone(), done.clone()).await;
    let unhealthy = crasher.await.unwrap();
    assert_eq!(unhealthy, vec![503; CRASHES], "/v1/health while PostgreSQL was down");
    let healthy = reqwest::get(format!("{}/v1/health", base.read().unwrap())).await.unwrap();
    assert_eq!(healthy.status().as_u16(), 200, "healthy again once PostgreSQL is back");
    drop(collector);
    eprintln!("pg_restart: {CRASHES} crashes; {}; delivered in {:?}", summary(&delivered), started.elapsed());
    exactly_once_and_as_replayed(&t, &agents, &delivered, Backend::Postgres).await;
    eprintln!("pg_restart: {:?} in all", started.elapsed());
}
