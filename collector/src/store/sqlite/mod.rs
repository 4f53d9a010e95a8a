//! The embedded backend: one SQLite file (WAL), one writer connection
//! behind a mutex and a few read connections ([`readers`]), used from
//! `spawn_blocking`. Write transactions start with `BEGIN IMMEDIATE`, so
//! even two processes on one file serialise cleanly.

use super::migrations::MIGRATIONS;
use super::rows::{seq_from_db, token_refusal};
use register::{load_connectors, load_findings};
use super::{
    AgentRecord, ApiTokenRecord, Counts, FindingFilter, Ingested, NewAgent, NewApiToken, NewEnrollToken, Store,
    StoreError, TenantRecord, VerifiedBatch,
};
use crate::register::ConnectorState;
use async_trait::async_trait;
use plumbline_protocol::read_api::{Annotations, AnnotationsUpdate, ChangeRecord, FindingRecord};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod accounts;
mod alerts;
mod annotations;
mod checkpoint;
mod connection;
mod console;
mod egress;
mod events;
#[cfg(test)]
mod fixture;
mod group;
mod ingest;
mod pages;
mod policy;
mod readers;
mod register;
mod retention;
mod tokens;
mod writes;

/// How long a writer waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Prepared statements each connection keeps. An ingest runs some 30
/// distinct statements; at rusqlite's default of 16 the cache evicted each
/// before its next use, and parsing SQL took a tenth of the writer's time.
const STATEMENT_CACHE: usize = 128;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(format!("sqlite: {e}"))
    }
}

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    readers: Arc<readers::Readers>,
    waiting: Arc<group::Queue>,
    checkpoints: Arc<checkpoint::Checkpointer>,
}

impl SqliteStore {
    /// Whether `path` is a collector database, asked read-only, so that a
    /// file that is not one (or not SQLite) is left exactly as it was.
    pub async fn holds_collector_database(path: &Path) -> bool {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let Ok(conn) = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
                return false;
            };
            conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", [], |r| {
                r.get::<_, i64>(0)
            })
            .is_ok_and(|n| n == 1)
        })
        .await
        .unwrap_or(false)
    }

    /// Open (creating the file and its directory if needed). Does not migrate.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let path = path.to_path_buf();
        type Opened = (Connection, readers::Readers, checkpoint::Checkpointer);
        let (conn, readers, checkpoints) = tokio::task::spawn_blocking(move || -> Result<Opened, StoreError> {
            let conn = connection::open_writer(&path)?;
            let readers = readers::Readers::open(&path)?;
            let checkpoints = checkpoint::Checkpointer::start(&path)?;
            Ok((conn, readers, checkpoints))
        })
        .await
        .map_err(|e| StoreError::Backend(format!("sqlite task: {e}")))??;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new(readers),
            waiting: Arc::default(),
            checkpoints: Arc::new(checkpoints),
        })
    }

    /// Runs a read on one of the read connections: it never waits for the
    /// writer, and sees what was committed when it began.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || readers.with(f))
            .await
            .map_err(|e| StoreError::Backend(format!("sqlite task: {e}")))?
    }

    async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        let done = tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("sqlite task: {e}")))?;
        self.checkpoints.nudge();
        done
    }
}

fn write_tx(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

const AGENT_COLUMNS: &str =
    "id, tenant_id, site_id, public_key, hostname, enrolled_at, revoked_at, last_sequence, last_seen_at, missing_batches";

fn agent_row(row: &Row<'_>) -> rusqlite::Result<AgentRecord> {
    Ok(AgentRecord {
        id: row.get(0)?,
        tenant_id: row.get(1)?,
        site_id: row.get(2)?,
        public_key: row.get(3)?,
        hostname: row.get(4)?,
        enrolled_at: row.get(5)?,
        revoked_at: row.get(6)?,
        last_sequence: seq_from_db(row.get(7)?),
        last_seen_at: row.get(8)?,
        missing_batches: row.get::<_, i64>(9)?.max(0) as u64,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<usize, StoreError> {
        self.with(|conn| {
            let tx = write_tx(conn)?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )?;
            let mut applied = 0;
            for m in MIGRATIONS {
                let done: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
                    params![m.version],
                    |row| row.get(0),
                )?;
                if done {
                    continue;
                }
                tx.execute_batch(m.sqlite)
                    .map_err(|e| StoreError::Backend(format!("migration {} ({}): {e}", m.version, m.name)))?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    params![m.version, m.name, crate::timestamp::now()],
                )?;
                applied += 1;
            }
            tx.commit()?;
            Ok(applied)
        })
        .await
    }

    async fn schema_versions(&self) -> Result<Vec<i64>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
            let rows = stmt.query_map([], |row| row.get(0))?;
            Ok(rows.collect::<Result<Vec<i64>, _>>()?)
        })
        .await
    }

    async fn add_tenant(&self, id: &str, name: &str, now: &str) -> Result<(), StoreError> {
        let (id, name, now) = (id.to_string(), name.to_string(), now.to_string());
        self.with(move |conn| {
            let n = conn.execute(
                "INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
                params![id, name, now],
            )?;
            if n == 0 {
                return Err(StoreError::TenantExists(id));
            }
            Ok(())
        })
        .await
    }

    async fn tenant(&self, id: &str) -> Result<Option<TenantRecord>, StoreError> {
        let id = id.to_string();
        self.read(move |conn| {
            Ok(conn
                .query_row("SELECT id, name, created_at FROM tenants WHERE id = ?1", params![id], |row| {
                    Ok(TenantRecord { id: row.get(0)?, name: row.get(1)?, created_at: row.get(2)? })
                })
                .optional()?)
        })
        .await
    }

    async fn create_enroll_token(&self, t: NewEnrollToken) -> Result<(), StoreError> {
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            let exists: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?1)", params![t.tenant_id], |r| r.get(0))?;
            if !exists {
                return Err(StoreError::UnknownTenant(t.tenant_id));
            }
            tx.execute(
                "INSERT INTO enroll_tokens (token_hash, tenant_id, site_id, created_at, expires_at, reusable)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![t.token_hash, t.tenant_id, t.site_id, t.created_at, t.expires_at, t.reusable],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn enroll(&self, token_hash: &str, agent: NewAgent, now: &str) -> Result<AgentRecord, StoreError> {
        let (token_hash, now) = (token_hash.to_string(), now.to_string());
        // A token that cannot enroll this key is refused from a read
        // connection, so guessing tokens never queues behind ingest for the
        // write lock. The transaction below decides again, for races.
        let (hash, id, at) = (token_hash.clone(), agent.id.clone(), now.clone());
        self.read(move |conn| tokens::refuse_early(conn, &hash, &id, &at)).await?;
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            let taken = tx
                .query_row(
                    "UPDATE enroll_tokens SET used_at = ?2, used_by = ?3
                     WHERE token_hash = ?1 AND NOT reusable AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?2
                     RETURNING tenant_id, site_id",
                    params![token_hash, now, agent.id],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
                )
                .optional()?;
            let fleet = match taken {
                Some(_) => None,
                None => tx
                    .query_row(
                        "SELECT tenant_id FROM enroll_tokens WHERE token_hash = ?1 AND reusable AND revoked_at IS NULL AND expires_at > ?2",
                        params![token_hash, now],
                        |row| row.get::<_, String>(0),
                    )
                    .optional()?,
            };
            let taken = match (taken, fleet) {
                (Some(taken), _) => Some(taken),
                (None, Some(tenant_id)) => {
                    let site_id = agent.site_id.clone().ok_or(StoreError::SiteRequired)?;
                    // The same key asking again (its answer was lost): the same answer, not another use.
                    let sql = format!(
                        "SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?1 AND tenant_id = ?2 AND site_id = ?3 AND revoked_at IS NULL"
                    );
                    if let Some(record) = tx.query_row(&sql, params![agent.id, tenant_id, site_id], agent_row).optional()? {
                        return Ok(record);
                    }
                    tx.execute(
                        "UPDATE enroll_tokens SET uses = uses + 1, last_used_at = ?2 WHERE token_hash = ?1",
                        params![token_hash, now],
                    )?;
                    Some((tenant_id, site_id))
                }
                (None, None) => None,
            };
            let Some((tenant_id, site_id)) = taken else {
                let row = tx
                    .query_row(
                        "SELECT used_at IS NOT NULL, expires_at, revoked_at IS NOT NULL, used_by FROM enroll_tokens WHERE token_hash = ?1",
                        params![token_hash],
                        |row| {
                            Ok((row.get::<_, bool>(0)?, row.get::<_, String>(1)?, row.get::<_, bool>(2)?, row.get::<_, Option<String>>(3)?))
                        },
                    )
                    .optional()?;
                // The same key asking again (its answer was lost): the same answer.
                if let Some((true, _, false, Some(by))) = &row {
                    if *by == agent.id {
                        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?1 AND revoked_at IS NULL");
                        if let Some(record) = tx.query_row(&sql, params![agent.id], agent_row).optional()? {
                            return Ok(record);
                        }
                    }
                }
                return Err(match row {
                    None => StoreError::TokenInvalid,
                    Some((_, _, true, _)) => StoreError::TokenRevoked,
                    Some((used, expires_at, false, _)) => token_refusal(used, &expires_at, &now),
                });
            };
            let n = tx.execute(
                "INSERT INTO agents (id, tenant_id, site_id, public_key, hostname, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                params![agent.id, tenant_id, site_id, agent.public_key, agent.hostname, agent.enrolled_at],
            )?;
            if n == 0 {
                return Err(StoreError::AgentExists(agent.id));
            }
            if let Some(old) = &agent.replaces {
                tx.execute(
                    "UPDATE agents SET revoked_at = ?2 WHERE id = ?1 AND tenant_id = ?3 AND site_id = ?4 AND revoked_at IS NULL",
                    params![old, now, tenant_id, site_id],
                )?;
            }
            let record = tx.query_row(
                &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?1"),
                params![agent.id],
                agent_row,
            )?;
            tx.commit()?;
            Ok(record)
        })
        .await
    }

    async fn agent(&self, id: &str) -> Result<Option<AgentRecord>, StoreError> {
        let id = id.to_string();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?1"))?;
            Ok(stmt.query_row(params![id], agent_row).optional()?)
        })
        .await
    }

    async fn agents(&self, tenant_id: Option<&str>) -> Result<Vec<AgentRecord>, StoreError> {
        let tenant_id = tenant_id.map(str::to_string);
        self.read(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {AGENT_COLUMNS} FROM agents WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY tenant_id, site_id, id"
            ))?;
            let rows = stmt.query_map(params![tenant_id], agent_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn revoke_agent(&self, id: &str, now: &str) -> Result<bool, StoreError> {
        let (id, now) = (id.to_string(), now.to_string());
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            tx.execute("UPDATE agents SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", params![id, now])?;
            let exists: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM agents WHERE id = ?1)", params![id], |r| r.get(0))?;
            tx.commit()?;
            Ok(exists)
        })
        .await
    }

    async fn create_api_token(&self, t: NewApiToken) -> Result<(), StoreError> {
        self.with(move |conn| tokens::create_api_token(conn, &t)).await
    }

    async fn api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
        let token_hash = token_hash.to_string();
        self.read(move |conn| tokens::api_token(conn, &token_hash)).await
    }

    async fn ingest_counted(&self, batch: VerifiedBatch) -> Result<Ingested, StoreError> {
        let answer = self.waiting.join(batch);
        let waiting = self.waiting.clone();
        self.with(move |conn| {
            group::write_waiting(conn, &waiting);
            Ok(())
        })
        .await?;
        answer.await.map_err(|_| StoreError::Backend("sqlite: the batch's write group ended without an answer; retry".into()))?
    }

    async fn envelope(&self, tenant_id: &str, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (tenant_id, digest) = (tenant_id.to_string(), digest.to_string());
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT envelope FROM batches WHERE tenant_id = ?1 AND digest = ?2 AND octet_length(envelope) > 0",
                    params![tenant_id, digest],
                    |row| row.get(0),
                )
                .optional()?)
        })
        .await
    }

    async fn connectors(&self, tenant_id: &str) -> Result<Vec<ConnectorState>, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.read(move |conn| load_connectors(conn, &tenant_id)).await
    }

    async fn findings(&self, tenant_id: &str, filter: FindingFilter) -> Result<Vec<FindingRecord>, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.read(move |conn| load_findings(conn, &tenant_id, filter)).await
    }

    async fn changes(
        &self,
        tenant_id: &str,
        needs_review_only: bool,
        limit: u32,
    ) -> Result<Vec<ChangeRecord>, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.read(move |conn| {
            let changes = console::query_changes(
                conn,
                "tenant_id = ?1 AND (?2 = 0 OR needs_review) ORDER BY id DESC LIMIT ?3",
                &[&tenant_id, &needs_review_only, &i64::from(limit)],
            )?;
            Ok(changes.into_iter().map(|c| c.change).collect())
        })
        .await
    }

    async fn annotations(&self, tenant_id: &str) -> Result<Vec<(String, Annotations)>, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.read(move |conn| annotations::load(conn, &tenant_id, None)).await
    }

    async fn update_annotations(
        &self,
        tenant_id: &str,
        key: &str,
        update: AnnotationsUpdate,
        by: &str,
        now: &str,
    ) -> Result<Option<Annotations>, StoreError> {
        let (tenant_id, key, by, now) = (tenant_id.to_string(), key.to_string(), by.to_string(), now.to_string());
        self.with(move |conn| annotations::update(conn, &tenant_id, &key, &update, &by, &now)).await
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        self.read(|conn| {
            let count = |table: &str| -> Result<u64, StoreError> {
                let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
                Ok(n as u64)
            };
            Ok(Counts {
                batches: count("batches")?,
                connectors: count("connectors")?,
                changes: count("changes")?,
                findings: count("findings")?,
            })
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT max(version) FROM schema_migrations", [], |r| r.get::<_, Option<i64>>(0))?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    /// WAL with synchronous=NORMAL can lose a committed, acknowledged batch
    /// on power loss; FULL syncs the WAL at every commit.
    #[tokio::test]
    async fn commits_are_synced_before_they_are_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::SqliteStore::open(&dir.path().join("c.db")).await.unwrap();
        let (mode, sync): (String, i64) = store
            .with(|c| {
                let mode = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                Ok((mode, c.query_row("PRAGMA synchronous", [], |r| r.get(0))?))
            })
            .await
            .unwrap();
        assert_eq!((mode.as_str(), sync), ("wal", 2), "2 is FULL");
    }
}
