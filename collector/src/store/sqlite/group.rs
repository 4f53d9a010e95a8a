//! Group commit: batches that arrive while another is being written wait for
//! the writer, then go in together, one savepoint each, under one commit.
//! With `synchronous=FULL` every commit is a sync of the WAL; a hundred
//! agents delivering at once then share a few syncs instead of queueing for
//! a hundred. Each agent is still answered only after the commit that holds
//! its batch, and a batch that fails rolls back alone.

use super::ingest::{apply, ingest_tx};
use super::write_tx;
use crate::store::{Ingested, StoreError, VerifiedBatch};
use rusqlite::Connection;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Most batches one transaction takes. It bounds how long the write lock is
/// held (other processes on the file and the next group wait that long) and
/// how much one failed commit sends back to be retried: 64 batches of about
/// 100 findings is some 100 ms of work.
pub(super) const MAX_GROUP: usize = 64;

/// A batch waiting for the writer, and where its answer goes.
struct Pending {
    batch: VerifiedBatch,
    answer: oneshot::Sender<Result<Ingested, StoreError>>,
}

/// The batches waiting for the writer, in arrival order.
#[derive(Default)]
pub(super) struct Queue {
    pending: Mutex<Vec<Pending>>,
}

/// The answer a batch waits for: its own result once the group it joined
/// was committed.
pub(super) type Answer = oneshot::Receiver<Result<Ingested, StoreError>>;

impl Queue {
    /// Puts a batch in line. Whoever next holds the writer writes it.
    pub(super) fn join(&self, batch: VerifiedBatch) -> Answer {
        let (answer, receiver) = oneshot::channel();
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).push(Pending { batch, answer });
        receiver
    }

    fn take(&self) -> Vec<Pending> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let n = pending.len().min(MAX_GROUP);
        pending.drain(..n).collect()
    }
}

/// With the writer held: writes the batches waiting, if any (another
/// caller may have written them already), and answers each.
pub(super) fn write_waiting(conn: &mut Connection, queue: &Queue) {
    let mut group = queue.take();
    if group.len() <= 1 {
        if let Some(one) = group.pop() {
            let _ = one.answer.send(ingest_tx(conn, &one.batch));
        }
        return;
    }
    let results = write_group(conn, &group);
    for (p, result) in group.into_iter().zip(results) {
        // The agent's request may have gone (a timeout): it will retry and
        // find its batch stored, as a duplicate.
        let _ = p.answer.send(result);
    }
}

/// One transaction, one savepoint per batch. When the transaction itself
/// fails (begin, a savepoint, the commit), every batch gets that error and
/// nothing of the group is stored, so every agent retries.
fn write_group(conn: &mut Connection, group: &[Pending]) -> Vec<Result<Ingested, StoreError>> {
    let failed = |why: &str, n: usize| (0..n).map(|_| Err(StoreError::Backend(why.to_string()))).collect();
    let tx = match write_tx(conn) {
        Ok(tx) => tx,
        Err(e) => return failed(&e.to_string(), group.len()),
    };
    let mut results = Vec::with_capacity(group.len());
    for p in group {
        if let Err(e) = run(&tx, &["SAVEPOINT batch"]) {
            return failed(&format!("sqlite: {e}"), group.len());
        }
        let result = apply(&tx, &p.batch);
        let end: &[&str] = if result.is_ok() { &["RELEASE batch"] } else { &["ROLLBACK TO batch", "RELEASE batch"] };
        if let Err(e) = run(&tx, end) {
            return failed(&format!("sqlite: {e}"), group.len());
        }
        results.push(result);
    }
    match tx.commit() {
        Ok(()) => results,
        Err(e) => failed(&format!("sqlite commit: {e}"), group.len()),
    }
}

/// `statements` in turn, each prepared once per connection: a group runs
/// them for every batch.
fn run(tx: &Connection, statements: &[&str]) -> rusqlite::Result<()> {
    for sql in statements {
        tx.prepare_cached(sql)?.execute([])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{add_token, agent, store_with_tenant, AT};
    use super::super::SqliteStore;
    use super::*;
    use crate::store::{IngestOutcome, Store};
    use plumbline_protocol::batch::{ScanBatch, BATCH_SCHEMA};

    async fn enrolled(dir: &tempfile::TempDir) -> SqliteStore {
        let (store, _path) = store_with_tenant(dir).await;
        add_token(&store, "h").await;
        store.enroll("h", agent("agt_1", AT), AT).await.unwrap();
        store
    }

    fn batch(sequence: u64, digest: &str) -> VerifiedBatch {
        let at = format!("2026-01-02T00:00:{sequence:02}Z");
        VerifiedBatch {
            digest: digest.into(),
            envelope: digest.as_bytes().to_vec(),
            batch: ScanBatch {
                schema: BATCH_SCHEMA,
                agent_id: "agt_1".into(),
                tenant_id: "acme".into(),
                site_id: "hq".into(),
                sequence,
                scan_started_at: at.clone(),
                scan_finished_at: at,
                plugins: vec![],
                connectors: vec![],
                findings: vec![],
                part: None,
            },
            received_at: "2026-01-02T00:01:00Z".into(),
            alerts: Default::default(),
            egress: None,
        }
    }

    /// Four batches waiting go in one transaction: each later one sees the
    /// earlier ones (a replayed sequence is refused, a resent batch is a
    /// duplicate), the refused one writes nothing, and the rest are stored.
    #[tokio::test]
    async fn a_group_answers_each_batch_as_alone_and_a_refusal_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = enrolled(&dir).await;
        let queue = Queue::default();
        let answers = [batch(1, "d1"), batch(2, "d2"), batch(2, "d2-other"), batch(2, "d2"), batch(3, "d3")]
            .map(|b| queue.join(b));
        let waiting = std::sync::Arc::new(queue);
        let w = waiting.clone();
        store.with(move |conn| Ok(write_waiting(conn, &w))).await.unwrap();
        assert!(waiting.take().is_empty(), "one call wrote the whole group");
        let mut results = Vec::new();
        for a in answers {
            results.push(a.await.unwrap());
        }
        let outcome = |i: usize| results[i].as_ref().map(|r| r.outcome).map_err(|e| e.to_string());
        assert_eq!(outcome(0), Ok(IngestOutcome::Stored));
        assert_eq!(outcome(1), Ok(IngestOutcome::Stored));
        assert!(matches!(results[2], Err(StoreError::Replayed { .. })), "{:?}", results[2]);
        assert_eq!(outcome(3), Ok(IngestOutcome::Duplicate));
        assert_eq!(outcome(4), Ok(IngestOutcome::Stored));
        assert_eq!(store.counts().await.unwrap().batches, 3);
        assert_eq!(store.agent("agt_1").await.unwrap().unwrap().last_sequence, Some(3));
    }

    /// More batches than a group takes are left for the next holder of the
    /// writer, in order.
    #[test]
    fn a_group_takes_at_most_max_group_in_arrival_order() {
        let queue = Queue::default();
        let _answers: Vec<_> = (1..=(MAX_GROUP as u64 + 3)).map(|s| queue.join(batch(s, &format!("d{s}")))).collect();
        let first = queue.take();
        assert_eq!(first.len(), MAX_GROUP);
        assert_eq!(first[0].batch.batch.sequence, 1);
        let rest: Vec<u64> = queue.take().iter().map(|p| p.batch.batch.sequence).collect();
        assert_eq!(rest, vec![MAX_GROUP as u64 + 1, MAX_GROUP as u64 + 2, MAX_GROUP as u64 + 3]);
    }
}
