//! The shared backend: PostgreSQL through a small connection pool, for
//! several collector replicas behind a load balancer.
//!
//! Ingest locks the tenant row and then the agent row (`FOR NO KEY UPDATE`,
//! which still lets other transactions insert rows that reference them), so
//! per tenant one batch is applied at a time whichever replica took it, and a
//! duplicate or replay that races its original sees the original committed.

use super::migrations::{MIGRATIONS, PG_LOCK_KEY};
use super::rows::{seq_from_db, token_refusal};
use register::{load_connectors, load_findings};
use super::{
    AgentRecord, ApiTokenRecord, Counts, FindingFilter, Ingested, NewAgent, NewApiToken, NewEnrollToken, Store,
    StoreError, TenantRecord, VerifiedBatch,
};
use crate::register::ConnectorState;
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use plumbline_protocol::read_api::{Annotations, AnnotationsUpdate, ChangeRecord, FindingRecord};
use std::time::Duration;
use tokio_postgres::Row;

mod accounts;
mod alerts;
mod annotations;
mod console;
mod egress;
mod events;
mod ingest;
mod pages;
mod policy;
mod register;
mod retention;
pub mod tls;
mod tokens;
mod writes;

pub use events::EVENTS_LOCK_KEY;

/// Connections per collector process.
pub const POOL_SIZE: usize = 16;
/// How long a request waits for a free connection.
const POOL_WAIT: Duration = Duration::from_secs(30);

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => StoreError::Backend(format!("postgres: {db}")),
            None => StoreError::Backend(format!("postgres: {e}")),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::Backend(format!("postgres pool: {other}")),
        }
    }
}

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connect (and check one connection works), with TLS as the URL's
    /// `sslmode` and `sslrootcert` say ([`tls`]). Does not migrate.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let (config, settings) = tls::parse_url(url)?;
        let connector = tls::MakeRustls::new(&settings)?;
        let manager = Manager::from_config(config, connector, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_WAIT))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Backend(format!("postgres pool: {e}")))?;
        match pool.get().await {
            Ok(client) => drop(client),
            Err(deadpool_postgres::PoolError::Backend(e)) => {
                return Err(match tls::explain(&e, &settings) {
                    Some(why) => StoreError::Backend(format!("postgres: {why} ({e})")),
                    None => e.into(),
                })
            }
            Err(e) => return Err(e.into()),
        }
        Ok(PostgresStore { pool })
    }
}

const AGENT_COLUMNS: &str =
    "id, tenant_id, site_id, public_key, hostname, enrolled_at, revoked_at, last_sequence, last_seen_at, missing_batches";

fn agent_row(row: &Row) -> AgentRecord {
    AgentRecord {
        id: row.get(0),
        tenant_id: row.get(1),
        site_id: row.get(2),
        public_key: row.get(3),
        hostname: row.get(4),
        enrolled_at: row.get(5),
        revoked_at: row.get(6),
        last_sequence: seq_from_db(row.get(7)),
        last_seen_at: row.get(8),
        missing_batches: row.get::<_, i64>(9).max(0) as u64,
    }
}

async fn exists(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<bool, StoreError> {
    Ok(c.query_one(&format!("SELECT EXISTS ({sql})"), params).await?.get(0))
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<usize, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PG_LOCK_KEY]).await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .await?;
        let done: Vec<i64> =
            tx.query("SELECT version FROM schema_migrations", &[]).await?.iter().map(|r| r.get(0)).collect();
        let mut applied = 0;
        for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
            tx.batch_execute(m.postgres).await.map_err(|e| {
                StoreError::Backend(format!("migration {} ({}): {}", m.version, m.name, StoreError::from(e)))
            })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                &[&m.version, &m.name, &crate::timestamp::now()],
            )
            .await?;
            applied += 1;
        }
        tx.commit().await?;
        Ok(applied)
    }

    async fn schema_versions(&self) -> Result<Vec<i64>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client.query("SELECT version FROM schema_migrations ORDER BY version", &[]).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn add_tenant(&self, id: &str, name: &str, now: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                &[&id, &name, &now],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::TenantExists(id.to_string()));
        }
        Ok(())
    }

    async fn tenant(&self, id: &str) -> Result<Option<TenantRecord>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached("SELECT id, name, created_at FROM tenants WHERE id = $1").await?;
        Ok(client.query_opt(&stmt, &[&id]).await?.map(|row| TenantRecord {
            id: row.get(0),
            name: row.get(1),
            created_at: row.get(2),
        }))
    }

    async fn create_enroll_token(&self, t: NewEnrollToken) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "INSERT INTO enroll_tokens (token_hash, tenant_id, site_id, created_at, expires_at, reusable)
                 SELECT $1, id, $3, $4, $5, $6 FROM tenants WHERE id = $2",
                &[&t.token_hash, &t.tenant_id, &t.site_id, &t.created_at, &t.expires_at, &t.reusable],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::UnknownTenant(t.tenant_id));
        }
        Ok(())
    }

    async fn enroll(&self, token_hash: &str, agent: NewAgent, now: &str) -> Result<AgentRecord, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let taken = tx
            .query_opt(
                "UPDATE enroll_tokens SET used_at = $2, used_by = $3
                 WHERE token_hash = $1 AND NOT reusable AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
                 RETURNING tenant_id, site_id",
                &[&token_hash, &now, &agent.id],
            )
            .await?
            .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)));
        let taken = match taken {
            Some(taken) => Some(taken),
            None => {
                // A fleet secret: counted under a row lock, so concurrent enrollments each count.
                let fleet = tx
                    .query_opt(
                        "UPDATE enroll_tokens SET uses = uses + 1, last_used_at = $2
                         WHERE token_hash = $1 AND reusable AND revoked_at IS NULL AND expires_at > $2 RETURNING tenant_id",
                        &[&token_hash, &now],
                    )
                    .await?;
                match fleet {
                    Some(row) => {
                        let tenant_id: String = row.get(0);
                        let site_id = agent.site_id.clone().ok_or(StoreError::SiteRequired)?;
                        // The same key asking again (its answer was lost): the same answer, not another use.
                        let sql = format!(
                            "SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1 AND tenant_id = $2 AND site_id = $3 AND revoked_at IS NULL"
                        );
                        if let Some(record) = tx.query_opt(&sql, &[&agent.id, &tenant_id, &site_id]).await? {
                            tx.rollback().await?;
                            return Ok(agent_row(&record));
                        }
                        Some((tenant_id, site_id))
                    }
                    None => None,
                }
            }
        };
        let Some((tenant_id, site_id)) = taken else {
            let row = tx
                .query_opt(
                    "SELECT used_at IS NOT NULL, expires_at, revoked_at IS NOT NULL, used_by FROM enroll_tokens WHERE token_hash = $1",
                    &[&token_hash],
                )
                .await?;
            // The same key asking again (its answer was lost): the same answer.
            if let Some(r) = &row {
                if r.get::<_, bool>(0) && !r.get::<_, bool>(2) && r.get::<_, Option<String>>(3).as_deref() == Some(&agent.id) {
                    let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1 AND revoked_at IS NULL");
                    if let Some(record) = tx.query_opt(&sql, &[&agent.id]).await? {
                        return Ok(agent_row(&record));
                    }
                }
            }
            return Err(match row {
                None => StoreError::TokenInvalid,
                Some(row) if row.get::<_, bool>(2) => StoreError::TokenRevoked,
                Some(row) => token_refusal(row.get(0), row.get(1), now),
            });
        };
        let n = tx
            .execute(
                "INSERT INTO agents (id, tenant_id, site_id, public_key, hostname, enrolled_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                &[&agent.id, &tenant_id, &site_id, &agent.public_key, &agent.hostname, &agent.enrolled_at],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::AgentExists(agent.id));
        }
        if let Some(old) = &agent.replaces {
            tx.execute(
                "UPDATE agents SET revoked_at = $2 WHERE id = $1 AND tenant_id = $3 AND site_id = $4 AND revoked_at IS NULL",
                &[old, &now, &tenant_id, &site_id],
            )
            .await?;
        }
        let row = tx.query_one(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1"), &[&agent.id]).await?;
        tx.commit().await?;
        Ok(agent_row(&row))
    }

    async fn agent(&self, id: &str) -> Result<Option<AgentRecord>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1")).await?;
        Ok(client.query_opt(&stmt, &[&id]).await?.as_ref().map(agent_row))
    }

    async fn agents(&self, tenant_id: Option<&str>) -> Result<Vec<AgentRecord>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {AGENT_COLUMNS} FROM agents WHERE $1::text IS NULL OR tenant_id = $1
                     ORDER BY tenant_id, site_id, id"
                ),
                &[&tenant_id],
            )
            .await?;
        Ok(rows.iter().map(agent_row).collect())
    }

    async fn revoke_agent(&self, id: &str, now: &str) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        client.execute("UPDATE agents SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", &[&id, &now]).await?;
        exists(&client, "SELECT 1 FROM agents WHERE id = $1", &[&id]).await
    }

    async fn create_api_token(&self, t: NewApiToken) -> Result<(), StoreError> {
        tokens::create_api_token(self, &t).await
    }

    async fn api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
        tokens::api_token(self, token_hash).await
    }

    async fn ingest_counted(&self, vb: VerifiedBatch) -> Result<Ingested, StoreError> {
        ingest::ingest(self, vb).await
    }

    async fn envelope(&self, tenant_id: &str, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt(
                "SELECT envelope FROM batches WHERE tenant_id = $1 AND digest = $2 AND octet_length(envelope) > 0",
                &[&tenant_id, &digest],
            )
            .await?
            .map(|row| row.get(0)))
    }

    async fn connectors(&self, tenant_id: &str) -> Result<Vec<ConnectorState>, StoreError> {
        let client = self.pool.get().await?;
        load_connectors(&client, tenant_id).await
    }

    async fn findings(&self, tenant_id: &str, filter: FindingFilter) -> Result<Vec<FindingRecord>, StoreError> {
        let client = self.pool.get().await?;
        load_findings(&client, tenant_id, filter).await
    }

    async fn changes(
        &self,
        tenant_id: &str,
        needs_review_only: bool,
        limit: u32,
    ) -> Result<Vec<ChangeRecord>, StoreError> {
        let client = self.pool.get().await?;
        let limit = i64::from(limit);
        let changes = console::query_changes(
            &client,
            "tenant_id = $1 AND (NOT $2 OR needs_review) ORDER BY id DESC LIMIT $3",
            &[&tenant_id, &needs_review_only, &limit],
        )
        .await?;
        Ok(changes.into_iter().map(|c| c.change).collect())
    }

    async fn annotations(&self, tenant_id: &str) -> Result<Vec<(String, Annotations)>, StoreError> {
        let client = self.pool.get().await?;
        annotations::load(&client, tenant_id, None).await
    }

    async fn update_annotations(
        &self,
        tenant_id: &str,
        key: &str,
        update: AnnotationsUpdate,
        by: &str,
        now: &str,
    ) -> Result<Option<Annotations>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        annotations::update(tx, tenant_id, key, &update, by, now).await
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM connectors),
                        (SELECT count(*) FROM changes), (SELECT count(*) FROM findings)",
                &[],
            )
            .await?;
        let n = |i: usize| row.get::<_, i64>(i) as u64;
        Ok(Counts { batches: n(0), connectors: n(1), changes: n(2), findings: n(3) })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.query_one("SELECT max(version) FROM schema_migrations", &[]).await?;
        Ok(())
    }
}
