//! The alert outbox in SQLite.

use super::{write_tx, SqliteStore};
use crate::alerts::NewAlert;
use crate::store::alerts::{AlertStore, ConsoleRule, OutboxCount, OutboxRow};
use crate::store::rows::to_json;
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::{params, params_from_iter, Connection};

/// Queue alerts (inside the caller's transaction); how many were new.
pub(super) fn queue(conn: &Connection, alerts: &[NewAlert], now: &str, due_at: &str) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO alert_outbox (rule, destination, tenant_id, dedupe_key, event, created_at, due_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (rule, destination, dedupe_key) DO NOTHING",
    )?;
    let mut new = 0;
    for a in alerts {
        new += stmt.execute(params![a.rule, a.destination, a.tenant_id, a.dedupe_key, to_json(&a.event), now, due_at])?;
    }
    Ok(new)
}

fn placeholders(n: usize, from: usize) -> String {
    (0..n).map(|i| format!("?{}", i + from)).collect::<Vec<_>>().join(", ")
}

fn update(conn: &mut Connection, set: &str, first: Vec<String>, ids: &[i64]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let tx = write_tx(conn)?;
    // Every end of a claim counts the try and frees the lease.
    let sql = format!(
        "UPDATE alert_outbox SET {set}, lease_until = NULL, attempts = attempts + 1 WHERE id IN ({})",
        placeholders(ids.len(), first.len() + 1)
    );
    let mut values: Vec<rusqlite::types::Value> = first.into_iter().map(rusqlite::types::Value::Text).collect();
    values.extend(ids.iter().map(|i| rusqlite::types::Value::Integer(*i)));
    tx.execute(&sql, params_from_iter(values))?;
    tx.commit()?;
    Ok(())
}

#[async_trait]
impl AlertStore for SqliteStore {
    async fn queue_alerts(&self, alerts: &[NewAlert], now: &str, due_at: &str) -> Result<usize, StoreError> {
        let (alerts, now, due_at) = (alerts.to_vec(), now.to_string(), due_at.to_string());
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            let n = queue(&tx, &alerts, &now, &due_at)?;
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    async fn claim_alerts(&self, now: &str, lease_until: &str, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        let (now, lease_until) = (now.to_string(), lease_until.to_string());
        self.with(move |conn| {
            // BEGIN IMMEDIATE: one claimer at a time, also across processes.
            let tx = write_tx(conn)?;
            let rows = {
                let mut stmt = tx.prepare_cached(
                    "UPDATE alert_outbox SET lease_until = ?2
                     WHERE id IN (SELECT id FROM alert_outbox WHERE state = 'pending' AND due_at <= ?1
                                  AND (lease_until IS NULL OR lease_until < ?1) ORDER BY id LIMIT ?3)
                     RETURNING id, rule, destination, tenant_id, event, attempts, created_at",
                )?;
                let mapped = stmt.query_map(params![now, lease_until, limit], |r| {
                    Ok(OutboxRow {
                        id: r.get(0)?,
                        rule: r.get(1)?,
                        destination: r.get(2)?,
                        tenant_id: r.get(3)?,
                        event: r.get(4)?,
                        attempts: u32::try_from(r.get::<_, i64>(5)?).unwrap_or(u32::MAX),
                        created_at: r.get(6)?,
                    })
                })?;
                mapped.collect::<Result<Vec<_>, _>>()?
            };
            tx.commit()?;
            let mut rows = rows;
            rows.sort_by_key(|r| r.id);
            Ok(rows)
        })
        .await
    }

    async fn alerts_sent(&self, ids: &[i64], now: &str) -> Result<(), StoreError> {
        let (ids, now) = (ids.to_vec(), now.to_string());
        self.with(move |conn| update(conn, "state = 'sent', sent_at = ?1", vec![now], &ids)).await
    }

    async fn alerts_retry(&self, ids: &[i64], due_at: &str, error: &str) -> Result<(), StoreError> {
        let (ids, due_at, error) = (ids.to_vec(), due_at.to_string(), error.to_string());
        self.with(move |conn| {
            update(conn, "due_at = ?1, last_error = ?2", vec![due_at, error], &ids)
        })
        .await
    }

    async fn alerts_refused(&self, ids: &[i64], error: &str) -> Result<(), StoreError> {
        let (ids, error) = (ids.to_vec(), error.to_string());
        self.with(move |conn| {
            update(conn, "state = 'refused', last_error = ?1", vec![error], &ids)
        })
        .await
    }

    async fn console_rules(&self) -> Result<Vec<ConsoleRule>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT name, rule, created_by, created_at FROM console_alert_rules ORDER BY created_at, name")?;
            let rows = stmt.query_map([], |r| Ok(ConsoleRule { name: r.get(0)?, rule: r.get(1)?, created_by: r.get(2)?, created_at: r.get(3)? }))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn add_console_rule(&self, rule: &ConsoleRule) -> Result<bool, StoreError> {
        let r = rule.clone();
        self.with(move |conn| {
            let n = conn.execute(
                "INSERT INTO console_alert_rules (name, rule, created_by, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING",
                rusqlite::params![r.name, r.rule, r.created_by, r.created_at],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn delete_console_rule(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_string();
        self.with(move |conn| Ok(conn.execute("DELETE FROM console_alert_rules WHERE name = ?1", [name])? == 1)).await
    }

    async fn alerts_requeue_refused(&self, destination: &str, now: &str) -> Result<u64, StoreError> {
        let (destination, now) = (destination.to_string(), now.to_string());
        self.with(move |conn| {
            let n = conn.execute(
                "UPDATE alert_outbox SET state = 'pending', due_at = ?2, attempts = 0, lease_until = NULL
                 WHERE destination = ?1 AND state = 'refused'",
                rusqlite::params![destination, now],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn outbox_counts(&self) -> Result<Vec<OutboxCount>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT destination, state, count(*),
                        (SELECT last_error FROM alert_outbox o2 WHERE o2.destination = o.destination AND o2.state = o.state
                         AND o2.last_error IS NOT NULL ORDER BY o2.id DESC LIMIT 1)
                 FROM alert_outbox o GROUP BY destination, state ORDER BY destination, state",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(OutboxCount {
                    destination: r.get(0)?,
                    state: r.get(1)?,
                    count: r.get::<_, i64>(2)?.max(0) as u64,
                    last_error: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
