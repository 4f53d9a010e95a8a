//! WAL checkpoints on a thread and connection of their own, so that copying
//! the log back into the database never holds up the writer.
//!
//! Left to SQLite, the connection whose commit takes the log past
//! `wal_autocheckpoint` pages runs the checkpoint inside that commit, with
//! the write lock held: in the ingest bench that was a sixth of the
//! writer's time, and every batch queued behind it waited. Here the writer
//! only nudges after a write; the checkpointer, woken, waits for the next
//! nudge (at most [`GATHER`]) and runs one `PASSIVE` checkpoint, which
//! copies what no reader still needs while the writer goes on appending.
//! Under load that is a small checkpoint every other commit or so; on a
//! quiet store, one within [`GATHER`] of the last write. Small and often is
//! deliberate: gathering a full 250 ms of commits made each checkpoint
//! copy some 15 MB and sync it at once, the writer's own syncs stalled
//! behind it, and at 500 batches/s the collector fell behind (377/s
//! achieved, p99 3.1 s, against 499/s and 208 ms).
//!
//! The writer keeps an automatic checkpoint at [`FALLBACK_PAGES`], far
//! above what this thread lets the log reach, so that a log never grows
//! without bound should this thread fall behind or be gone.

use super::BUSY_TIMEOUT;
use crate::store::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Duration;

/// The longest a woken checkpointer waits for a second nudge: what a
/// commit on a quiet store waits to be copied into the database file.
pub(super) const GATHER: Duration = Duration::from_millis(250);

/// The writer's own automatic checkpoint, a fallback only: 10,000 pages of
/// 4 KiB, 40 MiB of log. SQLite's default is 1,000.
pub(super) const FALLBACK_PAGES: u32 = 10_000;

/// The size the log file is cut back to after a checkpoint lets it restart
/// (SQLite otherwise keeps the file at its largest).
pub(super) const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The writer's handle: nudging never blocks, and dropping the last handle
/// ends the thread after one last checkpoint.
pub(super) struct Checkpointer {
    nudge: SyncSender<()>,
}

impl Checkpointer {
    /// Starts the thread on its own connection to `path`, which the writer
    /// has already opened in WAL mode.
    pub(super) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let (nudge, nudges) = sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &nudges))
            .map_err(|e| StoreError::Backend(format!("starting the checkpoint thread: {e}")))?;
        Ok(Checkpointer { nudge })
    }

    /// Something was committed: a checkpoint is due soon. One nudge already
    /// waiting is enough.
    pub(super) fn nudge(&self) {
        let _ = self.nudge.try_send(());
    }
}

fn run(conn: &Connection, nudges: &Receiver<()>) {
    loop {
        // Wait for a commit, then for the next one (or GATHER).
        // A closed channel is seen by `recv` once it is empty, so the last
        // checkpoint runs after the last nudge.
        let closed = nudges.recv().is_err();
        if !closed {
            let _ = nudges.recv_timeout(GATHER);
        }
        if let Err(e) = checkpoint(conn) {
            tracing::warn!("sqlite checkpoint failed ({e}); the writer's own checkpoint takes over until the next one works");
        }
        if closed {
            return;
        }
    }
}

/// One passive checkpoint: frames a reader still needs stay in the log for
/// the next one.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(conn: &Connection, rows: usize) {
        for _ in 0..rows {
            conn.execute("INSERT INTO t VALUES (randomblob(8000))", []).unwrap();
        }
    }

    /// Waits until the database file (not the log) holds `bytes`: only a
    /// checkpoint writes there.
    fn file_reaches(path: &Path, bytes: u64) -> u64 {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let len = std::fs::metadata(path).unwrap().len();
            if len >= bytes || std::time::Instant::now() > deadline {
                return len;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// With its own checkpoint only at the fallback, the writer leaves
    /// everything in the log; a nudge has the other thread copy it into the
    /// database file, and dropping the handle copies what came last.
    #[test]
    fn a_nudge_copies_the_log_into_the_database_off_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", FALLBACK_PAGES).unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        insert(&writer, 100);
        let before = std::fs::metadata(&path).unwrap().len();
        assert!(before < 100_000, "the writer did not checkpoint by itself: the file has {before} bytes");

        let c = Checkpointer::start(&path).unwrap();
        c.nudge();
        c.nudge(); // a second nudge while one waits is dropped, not queued
        let after = file_reaches(&path, 100 * 8000);
        assert!(after >= 100 * 8000, "a checkpoint within 10 s wrote the 100 rows: the file has {after} bytes");

        insert(&writer, 100);
        c.nudge();
        drop(c);
        let last = file_reaches(&path, 200 * 8000);
        assert!(last >= 200 * 8000, "the last checkpoint, on drop, wrote the next 100: {last} bytes");
        let rows: i64 = Connection::open(&path).unwrap().query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 200);
    }
}
