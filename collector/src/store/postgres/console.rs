//! The console's reads and review decisions in PostgreSQL.

use super::{agent_row, PostgresStore, AGENT_COLUMNS};
use crate::store::console::{
    Acceptance, AuditRecord, ConsoleStore, DecideOutcome, Decision, ReviewedChange, TenantSummary,
};
use crate::store::fleet::{self, sql_list, Counted, FLOW_CATEGORIES, LEGACY_TEAMS_CATEGORIES, MIGRATION_DONE};
use crate::register::review;
use crate::store::rows::{from_json, to_json};
use crate::store::{StoreError, TenantRecord};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use plumbline_protocol::read_api::ChangeRecord;
use tokio_postgres::types::ToSql;

const CHANGE_COLUMNS: &str = "id, connector_key, kind, at, batch_digest, agent_id, site_id, needs_review, review_reason,
     fields, entry, decision, decision_note, decided_by, decided_at";

pub(super) async fn query_changes(
    c: &impl GenericClient,
    condition: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<ReviewedChange>, StoreError> {
    let rows = c.query(&format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE {condition}"), args).await?;
    let mut out = Vec::new();
    for row in rows {
        let entry: Option<String> = row.get(10);
        let decision = row.get::<_, Option<String>>(11).map(|decision| Decision {
            decision,
            note: row.get::<_, Option<String>>(12).unwrap_or_default(),
            by: row.get::<_, Option<String>>(13).unwrap_or_default(),
            at: row.get::<_, Option<String>>(14).unwrap_or_default(),
        });
        let change = ChangeRecord {
            id: row.get(0),
            connector_key: row.get(1),
            kind: row.get(2),
            at: row.get(3),
            batch_digest: row.get(4),
            agent_id: row.get(5),
            site_id: row.get(6),
            needs_review: row.get(7),
            review_reason: row.get(8),
            fields: from_json("change fields", row.get(9))?,
            entry: entry.map(|e| from_json("change entry", &e)).transpose()?,
        };
        out.push(ReviewedChange { change, decision });
    }
    Ok(out)
}

async fn pairs(
    c: &impl GenericClient,
    sql: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(c.query(sql, args).await?.iter().map(|r| (r.get(0), r.get(1))).collect())
}

async fn triples(c: &impl GenericClient, sql: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(c.query(sql, &[]).await?.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

async fn count_fleet(c: &impl GenericClient, today: &str) -> Result<Counted, StoreError> {
    let joined = "FROM connectors c LEFT JOIN annotations a ON a.tenant_id = c.tenant_id AND a.connector_key = c.key";
    let groups = c.query("SELECT tenant_id, group_name FROM tenant_groups", &[]).await?;
    Ok(Counted {
        groups: groups.iter().map(|r| (r.get(0), r.get(1))).collect(),
        categories: triples(
            c,
            "SELECT tenant_id, category, count(*) FROM connectors WHERE present AND NOT context GROUP BY tenant_id, category",
        )
        .await?,
        severities: triples(
            c,
            &format!(
                "SELECT tenant_id, severity, count(*) FROM findings f WHERE status <> 'resolved'
                   AND NOT EXISTS (SELECT 1 FROM risk_acceptances r WHERE r.tenant_id = f.tenant_id
                                   AND r.finding_id = f.id AND r.expires_on >= '{}')
                 GROUP BY tenant_id, severity",
                fleet::sql_date(today)
            ),
        )
        .await?,
        awaiting: pairs(
            c,
            "SELECT tenant_id, count(*) FROM changes WHERE needs_review AND decision IS NULL GROUP BY tenant_id",
            &[],
        )
        .await?,
        overdue: pairs(
            c,
            &format!(
                "SELECT c.tenant_id, count(*) FROM annotations a JOIN connectors c
                   ON c.tenant_id = a.tenant_id AND c.key = a.connector_key
                 WHERE c.present AND NOT c.context AND a.review_cadence_days IS NOT NULL
                   AND (substr(COALESCE(a.last_reviewed, c.first_seen), 1, 10)::date + a.review_cadence_days::int) < $1::text::date
                 GROUP BY c.tenant_id"
            ),
            &[&today],
        )
        .await?,
        legacy: pairs(
            c,
            &format!(
                "SELECT c.tenant_id, count(*) {joined} WHERE c.present AND NOT c.context AND c.category IN ({})
                   AND COALESCE(a.migration_status, '') NOT IN ({}) GROUP BY c.tenant_id",
                sql_list(LEGACY_TEAMS_CATEGORIES),
                sql_list(MIGRATION_DONE)
            ),
            &[],
        )
        .await?,
        single_owner: pairs(
            c,
            &format!(
                "SELECT c.tenant_id, count(*) {joined} WHERE c.present AND NOT c.context AND c.category IN ({})
                   AND {}
                 GROUP BY c.tenant_id",
                sql_list(FLOW_CATEGORIES),
                fleet::NO_CO_OWNER
            ),
            &[],
        )
        .await?,
    })
}

async fn load_tenants(c: &impl GenericClient) -> Result<Vec<TenantRecord>, StoreError> {
    let rows = c.query("SELECT id, name, created_at FROM tenants ORDER BY id", &[]).await?;
    Ok(rows.iter().map(|r| TenantRecord { id: r.get(0), name: r.get(1), created_at: r.get(2) }).collect())
}

/// A suspicious decision opens (or reopens) the connector's critical
/// finding; an expected one resolves it.
async fn review_finding(
    tx: &impl GenericClient,
    tenant_id: &str,
    change: &ChangeRecord,
    d: &Decision,
) -> Result<(), StoreError> {
    let f = review::suspicious_finding(tenant_id, &change.connector_key, &change.site_id, d);
    if d.decision == "suspicious" {
        tx.execute(
            "INSERT INTO findings (tenant_id, id, check_id, connector_key, severity, plugin, site_id, status, entry,
                                   first_seen, last_seen, resolved_at, reopened_count)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $9, NULL, 0)
             ON CONFLICT (tenant_id, id) DO UPDATE SET status = CASE WHEN findings.status = 'resolved'
                 THEN 'reopened' ELSE findings.status END, entry = excluded.entry, last_seen = excluded.last_seen,
                 resolved_at = NULL, reopened_count = findings.reopened_count
                     + CASE WHEN findings.status = 'resolved' THEN 1 ELSE 0 END",
            &[
                &tenant_id,
                &f.entry.id,
                &f.entry.check_id,
                &f.entry.connector_key,
                &f.entry.severity.as_str(),
                &f.entry.plugin,
                &f.site_id,
                &to_json(&f.entry),
                &f.first_seen,
            ],
        )
        .await?;
    } else {
        tx.execute(
            "UPDATE findings SET status = 'resolved', resolved_at = $3
             WHERE tenant_id = $1 AND id = $2 AND status <> 'resolved'",
            &[&tenant_id, &f.entry.id, &d.at],
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl ConsoleStore for PostgresStore {
    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        let client = self.pool.get().await?;
        load_tenants(&client).await
    }

    async fn add_tenant_group(&self, tenant_id: &str, group: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        if client.query_opt("SELECT 1 FROM tenants WHERE id = $1", &[&tenant_id]).await?.is_none() {
            return Err(StoreError::UnknownTenant(tenant_id.to_string()));
        }
        client
            .execute(
                "INSERT INTO tenant_groups (tenant_id, group_name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&tenant_id, &group],
            )
            .await?;
        Ok(())
    }

    async fn fleet(&self, tenant_ids: Option<&[String]>, today: &str) -> Result<Vec<TenantSummary>, StoreError> {
        let mut client = self.pool.get().await?;
        // One snapshot: the counts agree with each other.
        let tx = client.build_transaction().read_only(true).isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).start().await?;
        let tenants = load_tenants(&tx).await?;
        let agents = tx
            .query(&format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY tenant_id, site_id, id"), &[])
            .await?
            .iter()
            .map(agent_row)
            .collect();
        let counted = count_fleet(&tx, today).await?;
        tx.commit().await?;
        Ok(fleet::assemble(tenants, agents, counted, tenant_ids))
    }

    async fn connector_changes(&self, tenant_id: &str, key: &str) -> Result<Vec<ReviewedChange>, StoreError> {
        let client = self.pool.get().await?;
        query_changes(&client, "tenant_id = $1 AND connector_key = $2 ORDER BY id DESC", &[&tenant_id, &key]).await
    }

    async fn review_queue(&self, tenant_id: &str) -> Result<Vec<ReviewedChange>, StoreError> {
        let client = self.pool.get().await?;
        query_changes(&client, "tenant_id = $1 AND needs_review AND decision IS NULL ORDER BY id", &[&tenant_id]).await
    }

    async fn decided_changes(&self, tenant_id: &str) -> Result<Vec<ReviewedChange>, StoreError> {
        let client = self.pool.get().await?;
        query_changes(&client, "tenant_id = $1 AND decision IS NOT NULL ORDER BY id DESC", &[&tenant_id]).await
    }

    async fn decide_change(&self, tenant_id: &str, change_id: i64, d: Decision) -> Result<DecideOutcome, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Lock the row: of two concurrent decisions, the second sees the first.
        let found = query_changes(
            &tx,
            "tenant_id = $1 AND id = $2 AND needs_review FOR UPDATE",
            &[&tenant_id, &change_id],
        )
        .await?
        .pop();
        let Some(current) = found else { return Ok(DecideOutcome::NotFound) };
        if current.decision.is_some() {
            return Ok(DecideOutcome::AlreadyDecided(current));
        }
        tx.execute(
            "UPDATE changes SET decision = $3, decision_note = $4, decided_by = $5, decided_at = $6
             WHERE tenant_id = $1 AND id = $2 AND decision IS NULL",
            &[&tenant_id, &change_id, &d.decision, &d.note, &d.by, &d.at],
        )
        .await?;
        review_finding(&tx, tenant_id, &current.change, &d).await?;
        let after = crate::store::rows::decision_json(change_id, &d);
        super::annotations::audit(
            &tx,
            tenant_id,
            Some(&current.change.connector_key),
            &d.by,
            &d.at,
            "review",
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(DecideOutcome::Decided(ReviewedChange { change: current.change, decision: Some(d) }))
    }

    async fn audit(&self, tenant_id: &str, connector_key: &str) -> Result<Vec<AuditRecord>, StoreError> {
        let client = self.pool.get().await?;
        query_audit(&client, "tenant_id = $1 AND connector_key = $2 ORDER BY id DESC", &[&tenant_id, &connector_key]).await
    }

    async fn accept_risk(&self, tenant_id: &str, finding_id: &str, a: Acceptance) -> Result<bool, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT connector_key FROM findings WHERE tenant_id = $1 AND id = $2 AND status <> 'resolved' FOR UPDATE",
                &[&tenant_id, &finding_id],
            )
            .await?;
        let Some(row) = row else { return Ok(false) };
        let key: String = row.get(0);
        // After the finding's row lock, before the acceptance's: the feed's lock order (events.rs).
        super::events::lock(&tx).await?;
        tx.execute(
            "INSERT INTO risk_acceptances (tenant_id, finding_id, rationale, approver, expires_on, accepted_by, accepted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (tenant_id, finding_id) DO UPDATE SET rationale = excluded.rationale,
                 approver = excluded.approver, expires_on = excluded.expires_on,
                 accepted_by = excluded.accepted_by, accepted_at = excluded.accepted_at",
            &[&tenant_id, &finding_id, &a.rationale, &a.approver, &a.expires_on, &a.accepted_by, &a.accepted_at],
        )
        .await?;
        super::events::accepted(&tx, tenant_id, finding_id, &a.accepted_at, &a.expires_on).await?;
        let after = crate::store::rows::acceptance_json(finding_id, &a);
        super::annotations::audit(&tx, tenant_id, Some(&key), &a.accepted_by, &a.accepted_at, "accept-risk", None, Some(&after))
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn acceptances(&self, tenant_id: &str) -> Result<Vec<(String, Acceptance)>, StoreError> {
        let client = self.pool.get().await?;
        load_acceptances(&client, tenant_id, None).await
    }

    async fn audit_between(&self, tenant_id: &str, from: &str, to: &str) -> Result<Vec<AuditRecord>, StoreError> {
        let client = self.pool.get().await?;
        query_audit(&client, "tenant_id = $1 AND at >= $2 AND at < $3 ORDER BY id", &[&tenant_id, &from, &to]).await
    }
}

async fn query_audit(
    client: &impl GenericClient,
    condition: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<AuditRecord>, StoreError> {
    let sql = format!("SELECT id, tenant_id, connector_key, actor, at, action, before, after FROM audit WHERE {condition}");
    let rows = client.query(&sql, args).await?;
    Ok(rows
        .iter()
        .map(|r| AuditRecord {
            id: r.get(0),
            tenant_id: r.get(1),
            connector_key: r.get(2),
            actor: r.get(3),
            at: r.get(4),
            action: r.get(5),
            before: r.get(6),
            after: r.get(7),
        })
        .collect())
}

/// A tenant's acceptances (or those of the findings `ids`), expired ones
/// too, by finding id.
pub(super) async fn load_acceptances(
    c: &impl GenericClient,
    tenant_id: &str,
    ids: Option<&[String]>,
) -> Result<Vec<(String, Acceptance)>, StoreError> {
    let stmt = c
        .prepare_cached(
            "SELECT finding_id, rationale, approver, expires_on, accepted_by, accepted_at
             FROM risk_acceptances WHERE tenant_id = $1 AND ($2::text[] IS NULL OR finding_id = ANY($2))
             ORDER BY finding_id",
        )
        .await?;
    let rows = c.query(&stmt, &[&tenant_id, &ids]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let acceptance = Acceptance {
                rationale: r.get(1),
                approver: r.get(2),
                expires_on: r.get(3),
                accepted_by: r.get(4),
                accepted_at: r.get(5),
            };
            (r.get(0), acceptance)
        })
        .collect())
}
