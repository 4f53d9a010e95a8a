//! What the collector's tests share: a fresh store per test on either
//! backend, enrolled test agents that sign batches, and small builders.

use plumbline_collector::admin;
use plumbline_collector::store::{self, NewAgent, Store};
use plumbline_collector::timestamp;
use plumbline_collector::tokens;
use plumbline_protocol::batch::{ScanBatch, BATCH_SCHEMA};
use plumbline_protocol::envelope::{sign, SCAN_PAYLOAD_TYPE};
use plumbline_protocol::identity::{public_key_b64, AgentKey};
use plumbline_protocol::register::{finding_id, ConnectorEntry, FindingEntry, PluginStatus, Severity};
use std::sync::Arc;

/// Run each named `async fn NAME(backend: Backend)` as two tests,
/// `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::support::Backend::Postgres).await
                }
            }
        )*
    };
}

/// Which store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// A fresh, migrated store: a new SQLite file or a new PostgreSQL database.
    pub async fn store(self) -> TestStore {
        let url = self.fresh_url().await;
        let store = store::open(&url.0).await.unwrap_or_else(|e| panic!("opening {}: {e}", url.0));
        TestStore { store, url: url.0, _dir: url.1 }
    }

    /// A URL for a fresh database (and the temp dir that holds it).
    pub async fn fresh_url(self) -> (String, Option<tempfile::TempDir>) {
        match self {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                (format!("sqlite:{}", dir.path().join("collector.db").display()), Some(dir))
            }
            Backend::Postgres => (plumbline_tests::postgres::server().await.fresh_database().await, None),
        }
    }
}

/// A store for one test.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    /// The store [`store::open`] makes of `url` (a database made elsewhere).
    pub async fn at(url: String) -> TestStore {
        let store = store::open(&url).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
        TestStore { store, url, _dir: None }
    }

    /// The store as the pipeline takes it.
    pub fn dyn_store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Add the tenant if it is not there yet.
    pub async fn tenant(&self, id: &str) {
        if self.store.tenant(id).await.unwrap().is_none() {
            admin::add_tenant(self.dyn_store(), id, Some(&format!("{id} Ltd"))).await.unwrap();
        }
    }

    /// An enrolled agent for tenant/site (the tenant is added if needed).
    pub async fn agent(&self, tenant: &str, site: &str) -> TestAgent {
        self.tenant(tenant).await;
        let issued = admin::create_enroll_token(self.dyn_store(), tenant, site, 1).await.unwrap();
        let key = AgentKey::generate();
        let now = timestamp::now();
        let record = self
            .store
            .enroll(
                &tokens::hash(&issued.token),
                NewAgent {
                    id: key.agent_id(),
                    public_key: public_key_b64(&key.verifying()),
                    hostname: "test-host".into(),
                    enrolled_at: now.clone(),
                    replaces: None,
                    site_id: None,
                },
                &now,
            )
            .await
            .unwrap();
        assert_eq!(record.id, key.agent_id());
        TestAgent { key, tenant: tenant.into(), site: site.into() }
    }
}

/// An enrolled agent that signs batches.
pub struct TestAgent {
    pub key: AgentKey,
    pub tenant: String,
    pub site: String,
}

impl TestAgent {
    pub fn id(&self) -> String {
        self.key.agent_id()
    }

    /// A batch from this agent.
    pub fn batch(
        &self,
        sequence: u64,
        plugins: Vec<PluginStatus>,
        connectors: Vec<ConnectorEntry>,
        findings: Vec<FindingEntry>,
    ) -> ScanBatch {
        ScanBatch {
            schema: BATCH_SCHEMA,
            agent_id: self.id(),
            tenant_id: self.tenant.clone(),
            site_id: self.site.clone(),
            sequence,
            // Scanned just now, as a live agent delivers (history takes
            // the scan's time, bounded by enrollment and receipt).
            scan_started_at: plumbline_collector::timestamp::now(),
            scan_finished_at: plumbline_collector::timestamp::now(),
            plugins,
            connectors,
            findings,
            part: None,
        }
    }

    /// The envelope JSON, signed by this agent.
    pub fn sign(&self, batch: &ScanBatch) -> Vec<u8> {
        sign_with(&self.key, &self.id(), batch)
    }

    /// A typical batch: `n` connectors of plugin `exo`, one finding each.
    pub fn typical(&self, sequence: u64, n: usize) -> ScanBatch {
        let connectors: Vec<ConnectorEntry> =
            (0..n).map(|i| connector(&format!("exchange:outbound:{i}"), "exchange-connector", "exo")).collect();
        let findings = connectors.iter().map(|c| finding(&self.tenant, "exo.tls", &c.key, "exo")).collect();
        self.batch(sequence, vec![ok("exo")], connectors, findings)
    }
}

/// Envelope JSON of `batch` signed by `key` naming `keyid`.
pub fn sign_with(key: &AgentKey, keyid: &str, batch: &ScanBatch) -> Vec<u8> {
    let payload = serde_json::to_vec(batch).unwrap();
    serde_json::to_vec(&sign(SCAN_PAYLOAD_TYPE, &payload, key.signing(), keyid)).unwrap()
}

/// `key` in `plugin`'s namespace, as the agent sends it (unchanged when it
/// already has one).
pub fn ns(plugin: &str, key: &str) -> String {
    if key.starts_with(&format!("{plugin}/")) {
        key.to_string()
    } else {
        plumbline_protocol::register::qualified_key(plugin, key)
    }
}

pub fn connector(key: &str, category: &str, plugin: &str) -> ConnectorEntry {
    let key = &ns(plugin, key);
    ConnectorEntry {
        key: key.into(),
        category: category.into(),
        name: format!("Connector {key}"),
        scope: "tenant".into(),
        owner: Some("it@contoso.example".into()),
        co_owners: vec![],
        purpose: None,
        auth_type: Some("certificate".into()),
        migration_state: None,
        created: Some("2024-01-01T00:00:00Z".into()),
        last_change: None,
        attributes: [("tls_domain".to_string(), "mail.contoso.example".to_string())].into(),
        plugin: plugin.into(),
    }
}

pub fn finding(tenant: &str, check: &str, key: &str, plugin: &str) -> FindingEntry {
    let key = &ns(plugin, key);
    FindingEntry {
        id: finding_id(tenant, check, key),
        check_id: check.into(),
        connector_key: key.into(),
        severity: Severity::High,
        title: format!("{check} on {key}"),
        detail: "seen".into(),
        remediation: "fix it".into(),
        evidence: Default::default(),
        plugin: plugin.into(),
    }
}

pub fn ok(plugin: &str) -> PluginStatus {
    PluginStatus {
        name: plugin.into(),
        version: Some("1.0.0".into()),
        sha256: Some("00".repeat(32)),
        status: "ok".into(),
        error: None,
        connectors: 0,
        findings: 0,
        warnings: vec![],
        duration_ms: 5,
    }
}

pub fn failed(plugin: &str) -> PluginStatus {
    PluginStatus { status: "error".into(), error: Some("throttled".into()), ..ok(plugin) }
}

/// Run the `plumbline-collector` binary on the data dir `dir` (its default
/// SQLite database): the exit code, stdout and stderr.
pub fn cli_in(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_plumbline-collector"))
        .args(args)
        .env("PLUMBLINE_COLLECTOR_DATA_DIR", dir)
        .env_remove("PLUMBLINE_COLLECTOR_DATABASE")
        .output()
        .unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stdout).to_string(), String::from_utf8_lossy(&o.stderr).to_string())
}
