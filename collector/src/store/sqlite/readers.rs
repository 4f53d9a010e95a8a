//! The read connections beside the one writer: in WAL mode a reader sees
//! the last committed state and never waits for a write transaction, so a
//! large ingest no longer stalls token lookups, the console or health.

use super::{BUSY_TIMEOUT, STATEMENT_CACHE};
use crate::store::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Condvar, Mutex};

/// How many read connections a store keeps. Reads run on tokio's blocking
/// threads, and the machine a collector runs on has a few cores: more
/// connections than cores would only queue inside SQLite instead of here.
pub(super) const READ_CONNECTIONS: usize = 4;

/// A fixed set of read-only connections, lent one at a time.
pub(super) struct Readers {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl Readers {
    /// Opens [`READ_CONNECTIONS`] connections to a file the writer has
    /// already opened in WAL mode. `query_only` makes a write through one of
    /// them an error rather than a second writer.
    pub(super) fn open(path: &Path) -> Result<Readers, StoreError> {
        let mut idle = Vec::with_capacity(READ_CONNECTIONS);
        for _ in 0..READ_CONNECTIONS {
            let conn = Connection::open(path)?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            conn.pragma_update(None, "query_only", "ON")?;
            idle.push(conn);
        }
        Ok(Readers { idle: Mutex::new(idle), returned: Condvar::new() })
    }

    /// Runs `f` on an idle connection, waiting for one when all are lent.
    /// Called from a blocking thread only.
    pub(super) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(conn) = idle.pop() {
                    break conn;
                }
                idle = self.returned.wait(idle).unwrap_or_else(|p| p.into_inner());
            }
        };
        // Given back even when `f` panics, so a bug cannot drain the pool.
        struct Lent<'a>(&'a Readers, Option<Connection>);
        impl Drop for Lent<'_> {
            fn drop(&mut self) {
                if let Some(conn) = self.1.take() {
                    self.0.idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
                    self.0.returned.notify_one();
                }
            }
        }
        let lent = Lent(self, Some(conn));
        f(lent.1.as_ref().expect("lent until dropped"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{add_token, agent, store_with_tenant, AT};
    use crate::store::{Store, StoreError};
    use rusqlite::Connection;
    use std::time::Duration;

    /// Long enough that only a read that waits for the write lock fails it
    /// (the lock below is held for the whole test): a guard, not a timing.
    const GUARD: Duration = Duration::from_secs(10);

    /// Another process (here, another connection) holds the write lock with
    /// uncommitted rows: token lookups, register reads, health and a refused
    /// enrollment all answer at once, from the last committed state.
    #[tokio::test]
    async fn reads_and_refused_enrollments_do_not_wait_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let (store, path) = store_with_tenant(&dir).await;
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE; INSERT INTO tenants (id, name, created_at) VALUES ('t2', 'T2', 'x')").unwrap();

        let reads = async {
            assert!(store.tenant("acme").await.unwrap().is_some());
            assert!(store.tenant("t2").await.unwrap().is_none(), "uncommitted rows are not seen");
            assert!(store.api_token("no-such-hash").await.unwrap().is_none());
            assert!(store.connectors("acme").await.unwrap().is_empty());
            store.ping().await.unwrap();
            store.enroll("not-a-token", agent("a1", AT), AT).await
        };
        let refused = tokio::time::timeout(GUARD, reads).await.expect("a read waited for the write lock");
        assert!(matches!(refused, Err(StoreError::TokenInvalid)), "{refused:?}");
        holder.execute_batch("ROLLBACK").unwrap();
    }

    /// A good token still enrolls: the early check only refuses, and the
    /// write transaction decides again.
    #[tokio::test]
    async fn a_good_token_passes_the_early_check_and_enrolls_once() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _path) = store_with_tenant(&dir).await;
        add_token(&store, "h1").await;
        let agent = |id: &str| agent(id, "2026-01-02T00:00:00Z");
        let record = store.enroll("h1", agent("a1"), "2026-01-02T00:00:00Z").await.unwrap();
        assert_eq!((record.tenant_id.as_str(), record.site_id.as_str()), ("acme", "hq"));
        let again = store.enroll("h1", agent("a2"), "2026-01-02T00:00:01Z").await;
        assert!(matches!(again, Err(StoreError::TokenUsed)), "{again:?}");
        let expired = store.enroll("h1", agent("a3"), "2027-02-01T00:00:00Z").await;
        assert!(matches!(expired, Err(StoreError::TokenUsed | StoreError::TokenExpired)), "{expired:?}");
    }

    /// A write sent to a read connection by mistake is refused, not run.
    #[tokio::test]
    async fn a_read_connection_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _path) = store_with_tenant(&dir).await;
        let r = store.read(|c| Ok(c.execute("DELETE FROM tenants", [])?)).await;
        assert!(r.is_err(), "{r:?}");
        assert!(store.tenant("acme").await.unwrap().is_some());
    }

    /// Many more concurrent reads than connections all finish: the pool
    /// lends and takes back, and none is lost.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_reads_than_connections_all_finish() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _path) = store_with_tenant(&dir).await;
        let reads = (0..64).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.tenant("acme").await.unwrap().is_some() })
        });
        let all = tokio::time::timeout(GUARD, futures::future::join_all(reads)).await.unwrap();
        assert_eq!(all.into_iter().filter(|r| *r.as_ref().unwrap()).count(), 64);
        let idle = store.readers.idle.lock().unwrap().len();
        assert_eq!(idle, super::READ_CONNECTIONS);
    }
}
