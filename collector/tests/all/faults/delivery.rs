//! Agents delivering to a real `plumbline-collector serve` process over HTTP,
//! retrying as the agent does, while a fault is injected; and that process.

use crate::support::{connector, finding, ok, TestAgent};
use plumbline_protocol::agent_auth::authorization;
use plumbline_protocol::messages::IngestResponse;
use plumbline_tests::serve_process::ServeProcess;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// A seeded RNG (splitmix64): a failing run is repeated with its seed.
pub struct Rng(u64);

impl Rng {
    /// Seeded by `PLUMBLINE_FAULT_SEED`, else by the clock; the seed is printed.
    pub fn seeded(test: &str) -> Rng {
        let seed = std::env::var("PLUMBLINE_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("{test}: seed {seed} (PLUMBLINE_FAULT_SEED={seed} repeats it)");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// In `range`.
    pub fn below(&mut self, range: std::ops::Range<u64>) -> u64 {
        range.start + self.next() % (range.end - range.start)
    }

    /// `n` points in `range`, in order: when (by deliveries made) to strike.
    pub fn points(&mut self, n: usize, range: std::ops::Range<u64>) -> Vec<usize> {
        let mut points: Vec<usize> = (0..n).map(|_| self.below(range.clone()) as usize).collect();
        points.sort();
        points
    }
}

/// A `serve` process on `database`; killed on drop.
pub struct Collector {
    process: ServeProcess,
    /// `http://127.0.0.1:PORT` of the process now running.
    pub base: Arc<RwLock<String>>,
    database: String,
    data_dir: tempfile::TempDir,
}

impl Collector {
    pub fn start(database: &str) -> Collector {
        let data_dir = tempfile::tempdir().unwrap();
        let process = spawn(database, data_dir.path());
        let base = Arc::new(RwLock::new(process.base.clone()));
        Collector { process, base, database: database.into(), data_dir }
    }

    /// SIGKILL, then a new process on the same database.
    pub fn kill_and_restart(&mut self) {
        self.process.child.kill().unwrap();
        self.process.child.wait().unwrap();
        self.process = spawn(&self.database, self.data_dir.path());
        *self.base.write().unwrap() = self.process.base.clone();
    }
}

fn spawn(database: &str, data_dir: &Path) -> ServeProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plumbline-collector"));
    command
        .args(["serve", "--insecure-http", "--listen", "127.0.0.1:0", "--database", database])
        .env("PLUMBLINE_COLLECTOR_DATA_DIR", data_dir)
        .env("PLUMBLINE_LOG", "warn");
    ServeProcess::start(command)
}

/// One acknowledged delivery.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub sequence: u64,
    /// The signed envelope, the same bytes on every attempt.
    pub body: Vec<u8>,
    pub response: IngestResponse,
    pub attempts: u32,
}

/// Batch `sequence` of `agent`: its connectors come and go, are renamed and
/// gain and lose findings, so that the register has history to compare.
pub fn varied_batch(agent: &TestAgent, sequence: u64) -> plumbline_protocol::batch::ScanBatch {
    let n = 1 + (sequence % 4) as usize;
    let connectors: Vec<_> = (0..n)
        .map(|i| {
            let mut c = connector(&format!("exchange:outbound:{i}"), "exchange-connector", "exo");
            c.name = format!("Outbound {i} rev {}", sequence / 5);
            c
        })
        .collect();
    let findings = connectors
        .iter()
        .filter(|c| (sequence + c.name.len() as u64) % 3 != 0)
        .map(|c| finding(&agent.tenant, "exo.tls", &c.key, "exo"))
        .collect();
    agent.batch(sequence, vec![ok("exo")], connectors, findings)
}

/// Every agent delivers batches 1..=`each` in order, one at a time, counting
/// acknowledged deliveries in `done`. A delivery is retried, with the same
/// bytes, on a connection error, a cut-off answer, a 5xx or a 429, as the
/// agent does; any other answer fails the test.
pub async fn deliver_all(
    agents: &[TestAgent],
    each: u64,
    base: Arc<RwLock<String>>,
    done: Arc<AtomicUsize>,
) -> Vec<Vec<Delivered>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let runs = agents.iter().map(|agent| {
        let (client, base, done) = (client.clone(), base.clone(), done.clone());
        async move {
            let mut delivered = Vec::new();
            for sequence in 1..=each {
                let body = agent.sign(&varied_batch(agent, sequence));
                let (response, attempts) = deliver(&client, &base, agent, &body).await;
                assert_eq!(response.sequence, sequence);
                delivered.push(Delivered { sequence, body, response, attempts });
                done.fetch_add(1, Ordering::SeqCst);
            }
            delivered
        }
    });
    futures::future::join_all(runs).await
}

async fn deliver(
    client: &reqwest::Client,
    base: &RwLock<String>,
    agent: &TestAgent,
    body: &[u8],
) -> (IngestResponse, u32) {
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(attempts < 2_000, "agent {} gave up after {attempts} attempts", agent.id());
        let url = format!("{}/v1/ingest", base.read().unwrap());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let sent = client
            .post(url)
            .header("authorization", authorization(&agent.key, "POST", "/v1/ingest", now))
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => {
                if let Ok(answer) = res.json::<IngestResponse>().await {
                    return (answer, attempts);
                }
            }
            Ok(res) if res.status().is_server_error() || res.status().as_u16() == 429 => {}
            Ok(res) => panic!("agent {}: {} {}", agent.id(), res.status(), res.text().await.unwrap_or_default()),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
