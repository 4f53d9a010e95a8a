//! End to end, with real parts only: the `plumbline` binary enrolls with
//! and delivers signed batches to the real collector over HTTPS on
//! loopback, on SQLite and on PostgreSQL; the collector's register then
//! holds what the agent scanned, and a new inbound connector at the next
//! scan is a change that needs review.

use crate::support::{lit, Site, TENANT};
use plumbline_collector::api::{app, AppState};
use plumbline_collector::serve::Server;
use plumbline_collector::{admin, tls};
use plumbline_protocol::read_api::{ChangesView, RegisterView};
use std::sync::Arc;

/// The real collector over HTTPS on loopback (also for `install.rs`).
pub struct Collector {
    pub base: String,
    port: u16,
    pub cert_file: std::path::PathBuf,
    cert: String,
    key: String,
    pub store: Arc<dyn plumbline_collector::store::Store>,
    /// Its data dir: policy files, plugins, the policy key.
    pub data_dir: std::path::PathBuf,
    /// The policy it serves; replaced (and served again) to change its key or validity.
    pub policy: Arc<plumbline_collector::policy::PolicyService>,
    api_token: String,
    pub enroll_token: String,
    /// The releases it publishes (`DATA_DIR/releases`), for self-update.
    pub releases: plumbline_collector::releases::Releases,
    /// Its uploads in flight, kept across restarts (a test may fill them).
    pub admission: Arc<plumbline_collector::api::admission::Admission>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Collector {
    pub async fn start(site: &Site, database: &str) -> Collector {
        let store = plumbline_collector::store::open(database).await.unwrap();
        let (cert, key) = tls::generate(vec!["localhost".into()]).unwrap();
        let cert_file = site.path("collector.pem");
        std::fs::write(&cert_file, &cert).unwrap();
        admin::add_tenant(store.as_ref(), TENANT, Some("Northwind Dental")).await.unwrap();
        let enroll_token = admin::create_enroll_token(store.as_ref(), TENANT, "test-site", 1).await.unwrap().token;
        let api_token = admin::create_api_token(store.as_ref(), Some(TENANT), None).await.unwrap();
        let data_dir = site.path("collector-data");
        let (signer, _) = plumbline_collector::policy::key::ensure(&data_dir).unwrap();
        let policy = Arc::new(plumbline_collector::policy::PolicyService::new(&data_dir, signer));
        let mut c = Collector {
            base: String::new(),
            port: 0,
            cert_file,
            cert,
            key,
            store,
            data_dir,
            policy,
            api_token,
            enroll_token,
            releases: plumbline_collector::releases::Releases::in_data_dir(&site.path("collector-data")),
            admission: Arc::default(),
            stop: None,
            task: None,
        };
        c.serve().await;
        c
    }

    /// Serve (again) on the same port.
    pub async fn serve(&mut self) {
        let tls = tls::server_config(self.cert.as_bytes(), self.key.as_bytes()).unwrap();
        let addr = format!("127.0.0.1:{}", self.port).parse().unwrap();
        let server = Server::bind(addr, Some(tls)).await.unwrap();
        self.port = server.local_addr().unwrap().port();
        self.base = format!("https://localhost:{}", self.port);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(stop);
        let mut state = AppState::new(self.store.clone()).with_policy(self.policy.clone()).with_releases(self.releases.clone());
        state.admission = self.admission.clone();
        self.task = Some(tokio::spawn(server.run(app(state), async {
            let _ = stopped.await;
        })));
    }

    /// Serve again on any free port (its port may be taken by now); the
    /// agent then needs `[delivery] collector_url = base`.
    pub async fn serve_anywhere(&mut self) {
        self.port = 0;
        self.serve().await;
    }

    /// Take the collector down: nothing listens on its port.
    pub async fn down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// An API client that trusts exactly the collector's certificate.
fn client(cert_pem: &std::path::Path) -> reqwest::Client {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from_pem_file(cert_pem).unwrap()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder().use_preconfigured_tls(config).build().unwrap()
}

pub(crate) async fn get<T: serde::de::DeserializeOwned>(c: &Collector, path: &str) -> T {
    client(&c.cert_file)
        .get(format!("{}/v1/tenants/{TENANT}/{path}", c.base))
        .bearer_auth(&c.api_token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

const NEW_INBOUND: &str = r#"[{"Enabled": true, "ConnectorType": "Partner", "SenderDomains": ["smtp:*;1"],
  "SenderIPAddresses": [], "RestrictDomainsToIPAddresses": false, "RestrictDomainsToCertificate": false,
  "Name": "Unexpected relay", "Identity": "Unexpected relay", "Guid": "99999999-aaaa-4bbb-8ccc-dddddddddddd",
  "WhenCreated": "2026-11-24T22:00:00Z", "WhenChanged": "2026-11-24T22:00:00Z"}]"#;

async fn agent_delivers_to_the_collector(database: String) {
    let site = Site::new();
    let exports = site.path("exports");
    std::fs::create_dir_all(&exports).unwrap();
    std::fs::write(exports.join("Get-OutboundConnector.json"), "[]").unwrap();
    let mut collector = Collector::start(&site, &database).await;
    let body = format!(
        "{}\n[delivery]\ncollector_ca_file = {}\nkey_file = {}\nspool_dir = {}\n",
        Site::exchange_offline_section(&exports),
        lit(&collector.cert_file),
        lit(&site.path("keys/agent.key")),
        lit(&site.path("spool")),
    );
    let config = site.config(&body);
    let config = config.to_string_lossy().to_string();

    let out = site.run(&["enroll", "--collector", &collector.base, "--token", &collector.enroll_token, "--config", &config]);
    assert!(out.status.success(), "enroll: {}", String::from_utf8_lossy(&out.stderr));

    // The agent signs its upload, so the collector knows it before the
    // body: with every unsigned slot taken, it is still admitted.
    use plumbline_collector::api::admission::{Uploader, MAX_UNSIGNED_IN_FLIGHT};
    let unsigned: Vec<_> =
        (0..MAX_UNSIGNED_IN_FLIGHT).map(|_| collector.admission.admit(Uploader::Unsigned(None)).unwrap()).collect();
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "run: {}", String::from_utf8_lossy(&out.stderr));
    let scanned: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("delivery: 1 delivered, 0 queued, 0 rejected"), "{stderr}");
    drop(unsigned);

    let register: RegisterView = get(&collector, "register").await;
    assert_eq!(register.connectors.len(), scanned["connectors"].as_array().unwrap().len());
    assert_eq!(register.open_findings.len(), scanned["findings"].as_array().unwrap().len());

    // The collector goes down; a new inbound connector appears. The scan
    // still succeeds and its batch waits in the spool.
    collector.down().await;
    std::fs::write(exports.join("Get-InboundConnector.json"), NEW_INBOUND).unwrap();
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "a down collector does not fail the scan");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0 delivered, 1 queued"), "{stderr}");
    assert_eq!(collector.store.counts().await.unwrap().batches, 1);

    // It comes back: a flush delivers the waiting batch, once; a second
    // flush has nothing left to send.
    collector.serve().await;
    let out = site.run(&["spool", "flush", "--config", &config]);
    assert!(out.status.success(), "flush: {}", String::from_utf8_lossy(&out.stderr));
    let out = site.run(&["spool", "flush", "--config", &config]);
    assert!(out.status.success());
    assert_eq!(collector.store.counts().await.unwrap().batches, 2, "each batch stored exactly once");

    let changes: ChangesView = get(&collector, "changes?needs_review=true").await;
    let new_key = "exchange-connectors/exchange:inbound:99999999-aaaa-4bbb-8ccc-dddddddddddd";
    assert!(
        changes.changes.iter().any(|c| c.connector_key == new_key && c.kind == "created"),
        "{:?}",
        changes.changes
    );
    let register: RegisterView = get(&collector, "register").await;
    assert!(register.open_findings.iter().any(|f| f.entry.connector_key == new_key));

    // The spool is empty: everything was acknowledged.
    let out = site.run(&["spool", "status", "--config", &config]);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("queued:     0 batches"), "{status}");

    // The sequence file is lost (or restored from an old backup) while the
    // spool is empty: numbering restarts at 1, below the collector's 2. The
    // collector's 409 names its last number; the agent re-signs above it,
    // once, says so, and nothing lands in rejected/.
    std::fs::remove_file(site.path("spool/sequence")).unwrap();
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "run: {}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("delivery: 1 delivered, 0 queued, 0 rejected"), "{stderr}");
    assert!(
        stderr.contains("already accepted sequence 2") && stderr.contains("re-signed as batch 3"),
        "the operator is told: {stderr}"
    );
    assert_eq!(collector.store.counts().await.unwrap().batches, 3);
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("delivery: 1 delivered, 0 queued, 0 rejected") && !stderr.contains("re-signed"), "{stderr}");
    assert_eq!(collector.store.counts().await.unwrap().batches, 4);
    let rejected = site.path("spool/rejected");
    assert!(!rejected.exists() || std::fs::read_dir(&rejected).unwrap().next().is_none(), "nothing rejected");

    // Re-enrolling with --force: the old key signs the hand-over, so the
    // collector revokes the old agent (it once stayed valid for ever), and
    // the new one delivers.
    let old_id = collector.store.agents(Some(TENANT)).await.unwrap()[0].id.clone();
    let token = admin::create_enroll_token(collector.store.as_ref(), TENANT, "test-site", 1).await.unwrap().token;
    let out = site.run(&["enroll", "--collector", &collector.base, "--token", &token, "--config", &config, "--force"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains(&format!("replaced agent {old_id}: the collector revoked it")), "{stdout}");
    assert!(collector.store.agent(&old_id).await.unwrap().unwrap().revoked_at.is_some(), "the old key no longer counts");
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("delivery: 1 delivered"), "the new key delivers");
    collector.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_to_collector_over_https_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    agent_delivers_to_the_collector(format!("sqlite:{}", dir.path().join("collector.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_to_collector_over_https_on_postgres() {
    let pg = plumbline_tests::postgres::server().await;
    agent_delivers_to_the_collector(pg.fresh_database().await).await;
}

/// `plumbline enroll` with a config for another tenant than the token's is
/// refused by the collector before the token is used, saying which tenant
/// each names; with the config fixed, the same token enrolls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolling_with_another_tenant_s_config_keeps_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new();
    let collector = Collector::start(&site, &format!("sqlite:{}", dir.path().join("collector.db").display())).await;
    let body = format!(
        "[delivery]\ncollector_ca_file = {}\nkey_file = {}\nspool_dir = {}\n",
        lit(&collector.cert_file),
        lit(&site.path("keys/agent.key")),
        lit(&site.path("spool")),
    );
    let config = site.config(&body);
    let right = std::fs::read_to_string(&config).unwrap();
    let other = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    std::fs::write(&config, right.replace(TENANT, other)).unwrap();
    let config_arg = config.to_string_lossy().to_string();
    let enroll = || site.run(&["enroll", "--collector", &collector.base, "--token", &collector.enroll_token, "--config", &config_arg]);

    let out = enroll();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("tenant_mismatch") && err.contains(other) && err.contains(TENANT) && err.contains("was not used"), "{err}");
    assert!(!site.path("keys/agent.key").exists(), "no key is kept for a refused enrollment");
    assert!(collector.store.agents(Some(TENANT)).await.unwrap().is_empty());

    std::fs::write(&config, right.replace(TENANT, &TENANT.to_ascii_uppercase())).unwrap();
    let out = enroll();
    assert!(out.status.success(), "the token is still good: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(collector.store.agents(Some(TENANT)).await.unwrap().len(), 1);
}
