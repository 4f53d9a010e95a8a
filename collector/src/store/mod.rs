//! Storage: one async [`Store`] trait, two backends.
//!
//! - [`sqlite`]: the embedded default, one file, writes serialised by SQLite.
//! - [`postgres`]: for several collector replicas sharing one database; the
//!   ingest transaction locks the tenant and agent rows (`FOR UPDATE`), so
//!   two replicas never double-apply or lose a batch.
//!
//! Both apply versioned migrations at open ([`migrations`]), recorded in a
//! `schema_migrations` table. Storage never knows HTTP.

pub mod accounts;
pub mod alerts;
pub mod console;
pub mod egress;
pub mod events;
pub mod fleet;
pub mod migrations;
pub mod pages;
pub mod policy;
pub mod postgres;
pub mod retention;
mod rows;
pub mod sqlite;
pub mod tokens;

pub use accounts::AccountStore;
pub use alerts::AlertStore;
pub use console::ConsoleStore;
pub use egress::EgressStore;
pub use events::EventStore;
pub use pages::PageStore;
pub use policy::PolicyStore;
pub use retention::RetentionStore;
pub use tokens::{EnrollTokenRecord, TokenStore};

use crate::register::ConnectorState;
use async_trait::async_trait;
use plumbline_protocol::batch::ScanBatch;
use plumbline_protocol::read_api::{Annotations, AnnotationsUpdate, ChangeRecord, FindingRecord};
use std::sync::Arc;

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `tenant add` for an id that exists.
    #[error("tenant {0:?} already exists")]
    TenantExists(String),
    /// `user add` for an e-mail address that has an account.
    #[error("a user {0:?} exists already; use `user reset-password` to change its password")]
    UserExists(String),
    /// A tenant that does not exist.
    #[error("no tenant {0:?}")]
    UnknownTenant(String),
    /// An enrollment token that was never issued.
    #[error("the enrollment token is not valid; check it was copied whole, or ask the MSP for a new one")]
    TokenInvalid,
    /// An enrollment token that was used before.
    #[error("the enrollment token was already used; ask the MSP for a new one (`plumbline-collector enroll-token create`)")]
    TokenUsed,
    /// An enrollment token past its expiry.
    #[error("the enrollment token has expired; ask the MSP for a new one (`plumbline-collector enroll-token create`)")]
    TokenExpired,
    /// An enrollment token an administrator revoked.
    #[error("the enrollment token was revoked; ask the MSP for a new one (`plumbline-collector enroll-token create`)")]
    TokenRevoked,
    /// A fleet enrollment secret used without naming the site.
    #[error(
        "this is a fleet enrollment secret for a tenant, so the agent must name its site: `plumbline enroll --site S` \
         (or SITE=S for `plumbline install`)"
    )]
    SiteRequired,
    /// An agent whose key is enrolled already.
    #[error("agent {0} is already enrolled")]
    AgentExists(String),
    /// An agent that does not exist.
    #[error("no agent {0}")]
    UnknownAgent(String),
    /// A revoked agent.
    #[error("agent {0} is revoked")]
    Revoked(String),
    /// A sequence not above the agent's last accepted one.
    #[error("sequence {sequence} is not above the last accepted {last}")]
    Replayed {
        /// The batch's.
        sequence: u64,
        /// The agent's last accepted.
        last: u64,
    },
    /// A sequence far above the agent's last accepted one.
    #[error("sequence {sequence} jumps more than {max} past the last accepted {last}")]
    SequenceJump {
        /// The batch's.
        sequence: u64,
        /// The agent's last accepted (0: none yet).
        last: u64,
        /// The largest jump allowed.
        max: u64,
    },
    /// A `--database` that names no backend.
    #[error("unsupported database {0:?}: use sqlite:PATH or postgres://...")]
    BadUrl(String),
    /// [`open_existing`] found no collector database there.
    #[error("there is no collector database there")]
    NotInitialised,
    /// An annotation update the merged result refuses.
    #[error(transparent)]
    InvalidAnnotation(#[from] crate::register::annotations::InvalidAnnotation),
    /// The database failed.
    #[error("database: {0}")]
    Backend(String),
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// When added.
    pub created_at: String,
}

/// An enrollment token to store (by hash).
#[derive(Debug, Clone)]
pub struct NewEnrollToken {
    /// sha256 of the token.
    pub token_hash: String,
    /// Tenant it enrolls into.
    pub tenant_id: String,
    /// Site; empty for a reusable token, which enrolls the site each
    /// agent names.
    pub site_id: String,
    /// A fleet enrollment secret: enrolls any number of agents of the
    /// tenant until it expires or is revoked.
    pub reusable: bool,
    /// Now.
    pub created_at: String,
    /// Expiry.
    pub expires_at: String,
}

/// An agent to enroll.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Derived from the key.
    pub id: String,
    /// Raw public key, base64.
    pub public_key: String,
    /// Host name it reported.
    pub hostname: String,
    /// Now.
    pub enrolled_at: String,
    /// An agent it replaces, whose key signed the hand-over (already
    /// checked): revoked in the same transaction when it is enrolled for
    /// the same tenant and site.
    pub replaces: Option<String>,
    /// The site the agent names: where a fleet enrollment secret enrolls
    /// it (already checked as an id). A single-use token's own site wins.
    pub site_id: Option<String>,
}

/// An enrolled agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Site.
    pub site_id: String,
    /// Raw public key, base64.
    pub public_key: String,
    /// Host name.
    pub hostname: String,
    /// When enrolled.
    pub enrolled_at: String,
    /// When revoked.
    pub revoked_at: Option<String>,
    /// The last sequence accepted.
    pub last_sequence: Option<u64>,
    /// When the last batch was accepted.
    pub last_seen_at: Option<String>,
    /// Batches never received: the sum of the gaps between accepted
    /// sequence numbers (dropped from a full spool, or refused for good).
    pub missing_batches: u64,
}

impl AgentRecord {
    /// Not revoked, and no delivery since `before` (RFC 3339): longer than
    /// its schedule allows, so the fleet page and the fleet report flag it.
    pub fn is_silent(&self, before: &str) -> bool {
        self.revoked_at.is_none() && self.last_seen_at.as_deref().is_none_or(|at| at < before)
    }
}

/// An API token to store (by hash).
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// sha256 of the token.
    pub token_hash: String,
    /// For people and `updated_by`.
    pub name: String,
    /// One tenant, or `None` for every tenant.
    pub tenant_id: Option<String>,
    /// `read`, or `write` (may also annotate).
    pub scope: String,
    /// Now.
    pub created_at: String,
    /// When it stops working; `None`: never.
    pub expires_at: Option<String>,
}

/// A stored API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    /// Its public id: the first 12 hex digits of its hash (the token itself
    /// is never stored, so it is named by this in lists and revocations).
    pub id: String,
    /// Name.
    pub name: String,
    /// One tenant, or `None` for every tenant.
    pub tenant_id: Option<String>,
    /// `read` or `write`.
    pub scope: String,
    /// When issued.
    pub created_at: String,
    /// When it stops working, if ever.
    pub expires_at: Option<String>,
    /// When last used (to the minute).
    pub last_used_at: Option<String>,
    /// When revoked, if it was.
    pub revoked_at: Option<String>,
}

/// A batch whose signature checked out, parsed, ready to store.
#[derive(Debug, Clone)]
pub struct VerifiedBatch {
    /// sha256 of the payload.
    pub digest: String,
    /// The envelope exactly as received.
    pub envelope: Vec<u8>,
    /// The payload.
    pub batch: ScanBatch,
    /// Now.
    pub received_at: String,
    /// The alert rules: what they fire is queued in the same transaction.
    pub alerts: crate::alerts::RuleSet,
    /// The address the delivery came from (see [`crate::egress`]), recorded
    /// as the agent's egress in the same transaction; `None` when unknown.
    pub egress: Option<std::net::IpAddr>,
}

/// What storing a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Stored and applied.
    Stored,
    /// Stored before; nothing changed.
    Duplicate,
}

/// What [`Store::ingest_counted`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    /// Stored or duplicate.
    pub outcome: IngestOutcome,
    /// Rows the transaction inserted, updated or deleted, in every table.
    pub rows_written: u64,
}

/// Which findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingFilter {
    /// Open and reopened.
    Open,
    /// Resolved.
    Resolved,
    /// All.
    All,
}

/// Rows per table, for checks that something (or nothing) was stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Batches.
    pub batches: u64,
    /// Connectors.
    pub connectors: u64,
    /// History rows.
    pub changes: u64,
    /// Findings.
    pub findings: u64,
}

/// Where the collector keeps everything: the register and delivery here,
/// accounts ([`AccountStore`]), the console's reads ([`ConsoleStore`]),
/// the alert outbox ([`AlertStore`]), the SIEM feed ([`EventStore`]), the
/// agents' egress ([`EgressStore`]), policy serials ([`PolicyStore`]),
/// retention and off-boarding ([`RetentionStore`]) and the consistent and
/// paged reads ([`PageStore`]) beside it.
#[async_trait]
pub trait Store:
    AccountStore
    + AlertStore
    + ConsoleStore
    + EgressStore
    + EventStore
    + PageStore
    + PolicyStore
    + RetentionStore
    + TokenStore
    + Send
    + Sync
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Apply the migrations not applied yet; how many were.
    async fn migrate(&self) -> Result<usize, StoreError>;
    /// The applied migration versions.
    async fn schema_versions(&self) -> Result<Vec<i64>, StoreError>;

    /// Add a tenant.
    async fn add_tenant(&self, id: &str, name: &str, now: &str) -> Result<(), StoreError>;
    /// A tenant.
    async fn tenant(&self, id: &str) -> Result<Option<TenantRecord>, StoreError>;

    /// Store an enrollment token (its tenant must exist).
    async fn create_enroll_token(&self, token: NewEnrollToken) -> Result<(), StoreError>;
    /// Use the token with this hash (once, before it expires; a reusable
    /// one until it expires or is revoked) to enroll `agent`.
    async fn enroll(&self, token_hash: &str, agent: NewAgent, now: &str) -> Result<AgentRecord, StoreError>;
    /// An agent.
    async fn agent(&self, id: &str) -> Result<Option<AgentRecord>, StoreError>;
    /// Agents, of one tenant or all, by tenant, site and id.
    async fn agents(&self, tenant_id: Option<&str>) -> Result<Vec<AgentRecord>, StoreError>;
    /// Revoke an agent; false when there is none.
    async fn revoke_agent(&self, id: &str, now: &str) -> Result<bool, StoreError>;

    /// Store an API token.
    async fn create_api_token(&self, token: NewApiToken) -> Result<(), StoreError>;
    /// The API token with this hash.
    async fn api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>, StoreError>;

    /// In one transaction that locks the tenant and the agent: refuse a
    /// revoked agent, answer `Duplicate` for a stored digest, refuse a
    /// sequence not above the last, else store the envelope and apply the
    /// batch to the register.
    async fn ingest(&self, batch: VerifiedBatch) -> Result<IngestOutcome, StoreError> {
        Ok(self.ingest_counted(batch).await?.outcome)
    }
    /// [`Store::ingest`], telling how many rows its transaction wrote: a
    /// rescan that changed nothing writes a handful, however large the
    /// register.
    async fn ingest_counted(&self, batch: VerifiedBatch) -> Result<Ingested, StoreError>;
    /// The stored envelope of a tenant's batch (`None` once retention
    /// pruned it).
    async fn envelope(&self, tenant_id: &str, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// A tenant's connectors.
    async fn connectors(&self, tenant_id: &str) -> Result<Vec<ConnectorState>, StoreError>;
    /// A tenant's findings.
    async fn findings(&self, tenant_id: &str, filter: FindingFilter) -> Result<Vec<FindingRecord>, StoreError>;
    /// A tenant's history, newest first.
    async fn changes(
        &self,
        tenant_id: &str,
        needs_review_only: bool,
        limit: u32,
    ) -> Result<Vec<ChangeRecord>, StoreError>;
    /// A tenant's annotations, by connector key.
    async fn annotations(&self, tenant_id: &str) -> Result<Vec<(String, Annotations)>, StoreError>;
    /// Apply a (validated) partial update to a connector's annotations;
    /// `None` when the tenant has no such connector.
    async fn update_annotations(
        &self,
        tenant_id: &str,
        key: &str,
        update: AnnotationsUpdate,
        by: &str,
        now: &str,
    ) -> Result<Option<Annotations>, StoreError>;

    /// Rows per table, over all tenants.
    async fn counts(&self) -> Result<Counts, StoreError>;

    /// A cheap query on a real table: the database is there, migrated, and
    /// answering (`/v1/health`).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Open (and migrate) the store a `--database` value names:
/// `sqlite:PATH` or `postgres://...` (`postgresql://` too), creating it
/// when it is not there yet: for `serve` and `init` only.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let store = connect(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Open (and migrate) a store that [`open`] created before, and refuse
/// anything else: a mistyped data dir or an empty PostgreSQL database must
/// not quietly become a new, empty collector.
pub async fn open_existing(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = sqlite_path(url) {
        let path = std::path::Path::new(path);
        if !path.is_file() || !sqlite::SqliteStore::holds_collector_database(path).await {
            return Err(StoreError::NotInitialised);
        }
    }
    let store = connect(url).await?;
    match store.schema_versions().await {
        Ok(versions) if !versions.is_empty() => {}
        _ => return Err(StoreError::NotInitialised),
    }
    store.migrate().await?;
    Ok(store)
}

fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite:").map(|path| path.strip_prefix("//").unwrap_or(path))
}

async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = if let Some(path) = sqlite_path(url) {
        Arc::new(sqlite::SqliteStore::open(std::path::Path::new(path)).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(postgres::PostgresStore::connect(url).await?)
    } else {
        return Err(StoreError::BadUrl(url.to_string()));
    };
    Ok(store)
}
