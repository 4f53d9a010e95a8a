//! The console's reads and review decisions in SQLite.

use super::{agent_row, write_tx, SqliteStore, AGENT_COLUMNS};
use crate::store::console::{
    Acceptance, AuditRecord, ConsoleStore, DecideOutcome, Decision, ReviewedChange, TenantSummary,
};
use crate::store::fleet::{self, sql_list, Counted, FLOW_CATEGORIES, LEGACY_TEAMS_CATEGORIES, MIGRATION_DONE};
use crate::register::review;
use crate::store::rows::{from_json, to_json};
use crate::store::{StoreError, TenantRecord};
use async_trait::async_trait;
use plumbline_protocol::read_api::ChangeRecord;
use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};

const CHANGE_COLUMNS: &str = "id, connector_key, kind, at, batch_digest, agent_id, site_id, needs_review, review_reason,
     fields, entry, decision, decision_note, decided_by, decided_at";

type RawChange = (ChangeRecord, String, Option<String>, Option<Decision>);

fn change_row(row: &Row<'_>) -> rusqlite::Result<RawChange> {
    let decision = match row.get::<_, Option<String>>(11)? {
        Some(decision) => Some(Decision {
            decision,
            note: row.get::<_, Option<String>>(12)?.unwrap_or_default(),
            by: row.get::<_, Option<String>>(13)?.unwrap_or_default(),
            at: row.get::<_, Option<String>>(14)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok((
        ChangeRecord {
            id: row.get(0)?,
            connector_key: row.get(1)?,
            kind: row.get(2)?,
            at: row.get(3)?,
            batch_digest: row.get(4)?,
            agent_id: row.get(5)?,
            site_id: row.get(6)?,
            needs_review: row.get(7)?,
            review_reason: row.get(8)?,
            fields: vec![],
            entry: None,
        },
        row.get(9)?,
        row.get(10)?,
        decision,
    ))
}

pub(super) fn query_changes(conn: &Connection, condition: &str, args: &[&dyn ToSql]) -> Result<Vec<ReviewedChange>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE {condition}"))?;
    let rows = stmt.query_map(args, change_row)?;
    let mut out = Vec::new();
    for row in rows {
        let (mut change, fields, entry, decision) = row?;
        change.fields = from_json("change fields", &fields)?;
        change.entry = entry.map(|e| from_json("change entry", &e)).transpose()?;
        out.push(ReviewedChange { change, decision });
    }
    Ok(out)
}

fn pairs(conn: &Connection, sql: &str, today: Option<&str>) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = match today {
        Some(d) => stmt.query_map(params![d], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?,
        None => stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?,
    };
    Ok(rows)
}

fn triples(conn: &Connection, sql: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

fn count_fleet(conn: &Connection, today: &str) -> Result<Counted, StoreError> {
    let joined = "FROM connectors c LEFT JOIN annotations a ON a.tenant_id = c.tenant_id AND a.connector_key = c.key";
    Ok(Counted {
        groups: {
            let mut stmt = conn.prepare_cached("SELECT tenant_id, group_name FROM tenant_groups")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            rows
        },
        categories: triples(
            conn,
            "SELECT tenant_id, category, count(*) FROM connectors WHERE present AND NOT context GROUP BY tenant_id, category",
        )?,
        severities: triples(
            conn,
            &format!(
                "SELECT tenant_id, severity, count(*) FROM findings f WHERE status <> 'resolved'
                   AND NOT EXISTS (SELECT 1 FROM risk_acceptances r WHERE r.tenant_id = f.tenant_id
                                   AND r.finding_id = f.id AND r.expires_on >= '{}')
                 GROUP BY tenant_id, severity",
                fleet::sql_date(today)
            ),
        )?,
        awaiting: pairs(
            conn,
            "SELECT tenant_id, count(*) FROM changes WHERE needs_review AND decision IS NULL GROUP BY tenant_id",
            None,
        )?,
        overdue: pairs(
            conn,
            &format!(
                "SELECT c.tenant_id, count(*) FROM annotations a CROSS JOIN connectors c
                   ON c.tenant_id = a.tenant_id AND c.key = a.connector_key
                 WHERE c.present AND NOT c.context AND a.review_cadence_days IS NOT NULL
                   AND date(substr(COALESCE(a.last_reviewed, c.first_seen), 1, 10), '+' || a.review_cadence_days || ' days') < date(?1)
                 GROUP BY c.tenant_id"
            ),
            Some(today),
        )?,
        legacy: pairs(
            conn,
            &format!(
                "SELECT c.tenant_id, count(*) {joined} WHERE c.present AND NOT c.context AND c.category IN ({})
                   AND COALESCE(a.migration_status, '') NOT IN ({}) GROUP BY c.tenant_id",
                sql_list(LEGACY_TEAMS_CATEGORIES),
                sql_list(MIGRATION_DONE)
            ),
            None,
        )?,
        single_owner: pairs(
            conn,
            &format!(
                "SELECT c.tenant_id, count(*) {joined} WHERE c.present AND NOT c.context AND c.category IN ({})
                   AND {}
                 GROUP BY c.tenant_id",
                sql_list(FLOW_CATEGORIES),
                fleet::NO_CO_OWNER
            ),
            None,
        )?,
    })
}

fn load_tenants(conn: &Connection) -> Result<Vec<TenantRecord>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id, name, created_at FROM tenants ORDER BY id")?;
    let rows = stmt.query_map([], |row| Ok(TenantRecord { id: row.get(0)?, name: row.get(1)?, created_at: row.get(2)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A suspicious decision opens (or reopens) the connector's critical
/// finding; an expected one resolves it.
fn review_finding(tx: &Connection, tenant_id: &str, change: &ChangeRecord, d: &Decision) -> Result<(), StoreError> {
    let f = review::suspicious_finding(tenant_id, &change.connector_key, &change.site_id, d);
    if d.decision == "suspicious" {
        tx.execute(
            "INSERT INTO findings (tenant_id, id, check_id, connector_key, severity, plugin, site_id, status, entry,
                                   first_seen, last_seen, resolved_at, reopened_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8, ?9, ?9, NULL, 0)
             ON CONFLICT (tenant_id, id) DO UPDATE SET status = CASE WHEN findings.status = 'resolved'
                 THEN 'reopened' ELSE findings.status END, entry = excluded.entry, last_seen = excluded.last_seen,
                 resolved_at = NULL, reopened_count = findings.reopened_count
                     + CASE WHEN findings.status = 'resolved' THEN 1 ELSE 0 END",
            params![
                tenant_id,
                f.entry.id,
                f.entry.check_id,
                f.entry.connector_key,
                f.entry.severity.as_str(),
                f.entry.plugin,
                f.site_id,
                to_json(&f.entry),
                f.first_seen
            ],
        )?;
    } else {
        tx.execute(
            "UPDATE findings SET status = 'resolved', resolved_at = ?3
             WHERE tenant_id = ?1 AND id = ?2 AND status <> 'resolved'",
            params![tenant_id, f.entry.id, d.at],
        )?;
    }
    Ok(())
}

#[async_trait]
impl ConsoleStore for SqliteStore {
    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        self.read(|conn| load_tenants(conn)).await
    }

    async fn add_tenant_group(&self, tenant_id: &str, group: &str) -> Result<(), StoreError> {
        let (tenant_id, group) = (tenant_id.to_string(), group.to_string());
        self.with(move |conn| {
            let known: bool =
                conn.query_row("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?1)", params![tenant_id], |r| r.get(0))?;
            if !known {
                return Err(StoreError::UnknownTenant(tenant_id));
            }
            conn.execute(
                "INSERT INTO tenant_groups (tenant_id, group_name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![tenant_id, group],
            )?;
            Ok(())
        })
        .await
    }

    async fn fleet(&self, tenant_ids: Option<&[String]>, today: &str) -> Result<Vec<TenantSummary>, StoreError> {
        let (only, today) = (tenant_ids.map(<[String]>::to_vec), today.to_string());
        self.read(move |conn| {
            // One read transaction: the counts agree with each other.
            let tx = conn.unchecked_transaction()?;
            let tenants = load_tenants(&tx)?;
            let mut stmt = tx.prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY tenant_id, site_id, id"))?;
            let agents = stmt.query_map([], agent_row)?.collect::<Result<Vec<_>, _>>()?;
            drop(stmt);
            let counted = count_fleet(&tx, &today)?;
            Ok(fleet::assemble(tenants, agents, counted, only.as_deref()))
        })
        .await
    }

    async fn connector_changes(&self, tenant_id: &str, key: &str) -> Result<Vec<ReviewedChange>, StoreError> {
        let (tenant_id, key) = (tenant_id.to_string(), key.to_string());
        self.read(move |conn| {
            query_changes(conn, "tenant_id = ?1 AND connector_key = ?2 ORDER BY id DESC", &[&tenant_id, &key])
        })
        .await
    }

    async fn review_queue(&self, tenant_id: &str) -> Result<Vec<ReviewedChange>, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.read(move |conn| {
            query_changes(conn, "tenant_id = ?1 AND needs_review AND decision IS NULL ORDER BY id", &[&tenant_id])
        })
        .await
    }

    async fn decided_changes(&self, tenant_id: &str) -> Result<Vec<ReviewedChange>, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.read(move |conn| {
            query_changes(conn, "tenant_id = ?1 AND decision IS NOT NULL ORDER BY id DESC", &[&tenant_id])
        })
        .await
    }

    async fn decide_change(&self, tenant_id: &str, change_id: i64, d: Decision) -> Result<DecideOutcome, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            let found = query_changes(&tx, "tenant_id = ?1 AND id = ?2 AND needs_review", &[&tenant_id, &change_id])?.pop();
            let Some(current) = found else { return Ok(DecideOutcome::NotFound) };
            if current.decision.is_some() {
                return Ok(DecideOutcome::AlreadyDecided(current));
            }
            tx.execute(
                "UPDATE changes SET decision = ?3, decision_note = ?4, decided_by = ?5, decided_at = ?6
                 WHERE tenant_id = ?1 AND id = ?2 AND decision IS NULL",
                params![tenant_id, change_id, d.decision, d.note, d.by, d.at],
            )?;
            review_finding(&tx, &tenant_id, &current.change, &d)?;
            let after = crate::store::rows::decision_json(change_id, &d);
            super::annotations::audit(
                &tx,
                &tenant_id,
                Some(&current.change.connector_key),
                &d.by,
                &d.at,
                "review",
                None,
                Some(&after),
            )?;
            tx.commit()?;
            Ok(DecideOutcome::Decided(ReviewedChange { change: current.change, decision: Some(d) }))
        })
        .await
    }

    async fn audit(&self, tenant_id: &str, connector_key: &str) -> Result<Vec<AuditRecord>, StoreError> {
        let (tenant_id, key) = (tenant_id.to_string(), connector_key.to_string());
        self.read(move |conn| {
            query_audit(conn, "tenant_id = ?1 AND connector_key = ?2 ORDER BY id DESC", &[&tenant_id, &key])
        })
        .await
    }

    async fn accept_risk(&self, tenant_id: &str, finding_id: &str, a: Acceptance) -> Result<bool, StoreError> {
        let (tenant_id, finding_id) = (tenant_id.to_string(), finding_id.to_string());
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            let key: Option<String> = tx
                .query_row(
                    "SELECT connector_key FROM findings WHERE tenant_id = ?1 AND id = ?2 AND status <> 'resolved'",
                    params![tenant_id, finding_id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(key) = key else { return Ok(false) };
            tx.execute(
                "INSERT INTO risk_acceptances (tenant_id, finding_id, rationale, approver, expires_on, accepted_by, accepted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (tenant_id, finding_id) DO UPDATE SET rationale = excluded.rationale,
                     approver = excluded.approver, expires_on = excluded.expires_on,
                     accepted_by = excluded.accepted_by, accepted_at = excluded.accepted_at",
                params![tenant_id, finding_id, a.rationale, a.approver, a.expires_on, a.accepted_by, a.accepted_at],
            )?;
            super::events::accepted(&tx, &tenant_id, &finding_id, &a.accepted_at, &a.expires_on)?;
            let after = crate::store::rows::acceptance_json(&finding_id, &a);
            super::annotations::audit(&tx, &tenant_id, Some(&key), &a.accepted_by, &a.accepted_at, "accept-risk", None, Some(&after))?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn acceptances(&self, tenant_id: &str) -> Result<Vec<(String, Acceptance)>, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.read(move |conn| load_acceptances(conn, &tenant_id, None)).await
    }

    async fn audit_between(&self, tenant_id: &str, from: &str, to: &str) -> Result<Vec<AuditRecord>, StoreError> {
        let (tenant_id, from, to) = (tenant_id.to_string(), from.to_string(), to.to_string());
        self.read(move |conn| query_audit(conn, "tenant_id = ?1 AND at >= ?2 AND at < ?3 ORDER BY id", &[&tenant_id, &from, &to]))
            .await
    }
}

fn query_audit(conn: &Connection, condition: &str, args: &[&dyn ToSql]) -> Result<Vec<AuditRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, tenant_id, connector_key, actor, at, action, before, after FROM audit WHERE {condition}"
    ))?;
    let rows = stmt.query_map(args, |r| {
        Ok(AuditRecord {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            connector_key: r.get(2)?,
            actor: r.get(3)?,
            at: r.get(4)?,
            action: r.get(5)?,
            before: r.get(6)?,
            after: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A tenant's acceptances (or those of the findings `ids`), expired ones
/// too, by finding id.
pub(super) fn load_acceptances(
    conn: &Connection,
    tenant_id: &str,
    ids: Option<&[String]>,
) -> Result<Vec<(String, Acceptance)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT finding_id, rationale, approver, expires_on, accepted_by, accepted_at
         FROM risk_acceptances WHERE tenant_id = ?1 AND (?2 IS NULL OR finding_id IN (SELECT value FROM json_each(?2)))
         ORDER BY finding_id",
    )?;
    let rows = stmt.query_map(params![tenant_id, ids.map(to_json)], |r| {
        Ok((
            r.get(0)?,
            Acceptance {
                rationale: r.get(1)?,
                approver: r.get(2)?,
                expires_on: r.get(3)?,
                accepted_by: r.get(4)?,
                accepted_at: r.get(5)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
