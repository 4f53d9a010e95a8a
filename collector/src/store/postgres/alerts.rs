//! The alert outbox in PostgreSQL. Claims skip rows another replica holds
//! (`FOR UPDATE SKIP LOCKED`), so replicas share the work and never send
//! one row twice at once.

use super::PostgresStore;
use crate::alerts::NewAlert;
use crate::store::alerts::{AlertStore, ConsoleRule, OutboxCount, OutboxRow};
use crate::store::rows::to_json;
use crate::store::StoreError;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;

/// Queue alerts (inside the caller's transaction); how many were new.
pub(super) async fn queue(c: &impl GenericClient, alerts: &[NewAlert], now: &str, due_at: &str) -> Result<usize, StoreError> {
    if alerts.is_empty() {
        return Ok(0);
    }
    let stmt = c
        .prepare_cached(
            "INSERT INTO alert_outbox (rule, destination, tenant_id, dedupe_key, event, created_at, due_at)
             SELECT *, $6, $7 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
             ON CONFLICT (rule, destination, dedupe_key) DO NOTHING",
        )
        .await?;
    let n = c
        .execute(
            &stmt,
            &[
                &alerts.iter().map(|a| a.rule.as_str()).collect::<Vec<_>>(),
                &alerts.iter().map(|a| a.destination.as_str()).collect::<Vec<_>>(),
                &alerts.iter().map(|a| a.tenant_id.as_str()).collect::<Vec<_>>(),
                &alerts.iter().map(|a| a.dedupe_key.as_str()).collect::<Vec<_>>(),
                &alerts.iter().map(|a| to_json(&a.event)).collect::<Vec<_>>(),
                &now,
                &due_at,
            ],
        )
        .await?;
    Ok(n as usize)
}

impl PostgresStore {
    /// End a claim on `ids`, counting the try: `set` names what else
    /// changes, with `$2` (and `$3`) its values.
    async fn mark(&self, ids: &[i64], set: &str, second: &str, third: Option<&str>) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let sql = format!("UPDATE alert_outbox SET {set}, lease_until = NULL, attempts = attempts + 1 WHERE id = ANY($1)");
        match third {
            Some(third) => client.execute(&sql, &[&ids, &second, &third]).await?,
            None => client.execute(&sql, &[&ids, &second]).await?,
        };
        Ok(())
    }
}

#[async_trait]
impl AlertStore for PostgresStore {
    async fn queue_alerts(&self, alerts: &[NewAlert], now: &str, due_at: &str) -> Result<usize, StoreError> {
        let client = self.pool.get().await?;
        queue(&client, alerts, now, due_at).await
    }

    async fn claim_alerts(&self, now: &str, lease_until: &str, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "UPDATE alert_outbox SET lease_until = $2
                 WHERE id IN (SELECT id FROM alert_outbox WHERE state = 'pending' AND due_at <= $1
                              AND (lease_until IS NULL OR lease_until < $1) ORDER BY id LIMIT $3
                              FOR UPDATE SKIP LOCKED)
                 RETURNING id, rule, destination, tenant_id, event, attempts, created_at",
                &[&now, &lease_until, &i64::from(limit)],
            )
            .await?;
        let mut out: Vec<OutboxRow> = rows
            .iter()
            .map(|r| OutboxRow {
                id: r.get(0),
                rule: r.get(1),
                destination: r.get(2),
                tenant_id: r.get(3),
                event: r.get(4),
                attempts: u32::try_from(r.get::<_, i64>(5)).unwrap_or(u32::MAX),
                created_at: r.get(6),
            })
            .collect();
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    async fn alerts_sent(&self, ids: &[i64], now: &str) -> Result<(), StoreError> {
        self.mark(ids, "state = 'sent', sent_at = $2", now, None).await
    }

    async fn alerts_retry(&self, ids: &[i64], due_at: &str, error: &str) -> Result<(), StoreError> {
        self.mark(ids, "due_at = $2, last_error = $3", due_at, Some(error)).await
    }

    async fn alerts_refused(&self, ids: &[i64], error: &str) -> Result<(), StoreError> {
        self.mark(ids, "state = 'refused', last_error = $2", error, None).await
    }

    async fn console_rules(&self) -> Result<Vec<ConsoleRule>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client.query("SELECT name, rule, created_by, created_at FROM console_alert_rules ORDER BY created_at, name", &[]).await?;
        Ok(rows.iter().map(|r| ConsoleRule { name: r.get(0), rule: r.get(1), created_by: r.get(2), created_at: r.get(3) }).collect())
    }

    async fn add_console_rule(&self, rule: &ConsoleRule) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "INSERT INTO console_alert_rules (name, rule, created_by, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                &[&rule.name, &rule.rule, &rule.created_by, &rule.created_at],
            )
            .await?;
        Ok(n == 1)
    }

    async fn delete_console_rule(&self, name: &str) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        Ok(client.execute("DELETE FROM console_alert_rules WHERE name = $1", &[&name]).await? == 1)
    }

    async fn alerts_requeue_refused(&self, destination: &str, now: &str) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .execute(
                "UPDATE alert_outbox SET state = 'pending', due_at = $2, attempts = 0, lease_until = NULL
                 WHERE destination = $1 AND state = 'refused'",
                &[&destination, &now],
            )
            .await?)
    }

    async fn outbox_counts(&self) -> Result<Vec<OutboxCount>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT destination, state, count(*),
                        (SELECT last_error FROM alert_outbox o2 WHERE o2.destination = o.destination AND o2.state = o.state
                         AND o2.last_error IS NOT NULL ORDER BY o2.id DESC LIMIT 1)
                 FROM alert_outbox o GROUP BY destination, state ORDER BY destination, state",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| OutboxCount {
                destination: r.get(0),
                state: r.get(1),
                count: r.get::<_, i64>(2).max(0) as u64,
                last_error: r.get(3),
            })
            .collect())
    }
}
