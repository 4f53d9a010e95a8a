//! Applying a verified batch in PostgreSQL: lock the tenant and the agent,
//! load the register and the agents' sightings, plan, and write the plan
//! with one array statement per table, in one transaction.

use super::{load_connectors, load_findings, PostgresStore};
use crate::register::{Current, Sightings, Subject};
use crate::store::rows::{last_part_scan, plan, refuse_replayed, refuse_revoked, seq_from_db, seq_to_db, sequence_gap, to_json, trusted_since};
use crate::store::{FindingFilter, IngestOutcome, StoreError, VerifiedBatch};
use deadpool_postgres::GenericClient;

/// What the batch's agent still sees, and what any other live agent of the
/// tenant (not revoked, delivered since `trusted_since`) still sees.
async fn load_sightings(
    c: &impl GenericClient,
    tenant_id: &str,
    agent_id: &str,
    trusted_since: &str,
) -> Result<Sightings, StoreError> {
    let mut s = Sightings::default();
    let mine = c
        .query("SELECT subject, key FROM sightings WHERE tenant_id = $1 AND agent_id = $2 AND present", &[&tenant_id, &agent_id])
        .await?;
    for row in mine {
        let (subject, key): (String, String) = (row.get(0), row.get(1));
        if subject == Subject::Connector.as_str() { s.mine.insert(key) } else { s.findings_mine.insert(key) };
    }
    let others = c
        .query(
            "SELECT DISTINCT s.subject, s.key FROM sightings s JOIN agents a ON a.id = s.agent_id
             WHERE s.tenant_id = $1 AND s.agent_id <> $2 AND s.present AND a.revoked_at IS NULL AND a.last_seen_at >= $3",
            &[&tenant_id, &agent_id, &trusted_since],
        )
        .await?;
    for row in others {
        let (subject, key): (String, String) = (row.get(0), row.get(1));
        if subject == Subject::Connector.as_str() { s.others.insert(key) } else { s.findings_others.insert(key) };
    }
    Ok(s)
}

pub(super) async fn ingest(store: &PostgresStore, vb: VerifiedBatch) -> Result<IngestOutcome, StoreError> {
    let b = &vb.batch;
    let now = &vb.received_at;
    let sequence = seq_to_db(b.sequence)?;
    let mut client = store.pool.get().await?;
    let tx = client.transaction().await?;

    let lock_tenant = tx.prepare_cached("SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE").await?;
    if tx.query_opt(&lock_tenant, &[&b.tenant_id]).await?.is_none() {
        return Err(StoreError::UnknownTenant(b.tenant_id.clone()));
    }
    let lock_agent = tx
        .prepare_cached(
            "SELECT revoked_at IS NOT NULL, last_sequence, enrolled_at FROM agents WHERE id = $1 FOR NO KEY UPDATE",
        )
        .await?;
    let agent = tx
        .query_opt(&lock_agent, &[&b.agent_id])
        .await?
        .ok_or_else(|| StoreError::UnknownAgent(b.agent_id.clone()))?;
    refuse_revoked(&b.agent_id, agent.get(0))?;
    let is_stored = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM batches WHERE digest = $1)").await?;
    if tx.query_one(&is_stored, &[&vb.digest]).await?.get::<_, bool>(0) {
        return Ok(IngestOutcome::Duplicate);
    }
    refuse_replayed(seq_from_db(agent.get(1)), b.sequence)?;
    let gap = sequence_gap(seq_from_db(agent.get(1)), b.sequence);

    let current = Current {
        connectors: load_connectors(&tx, &b.tenant_id)
            .await?
            .into_iter()
            .map(|c| (c.entry.key.clone(), c))
            .collect(),
        findings: load_findings(&tx, &b.tenant_id, FindingFilter::All)
            .await?
            .into_iter()
            .map(|f| (f.entry.id.clone(), f))
            .collect(),
        sightings: load_sightings(&tx, &b.tenant_id, &b.agent_id, &trusted_since(now)).await?,
    };
    let enrolled_at: String = agent.get(2);
    let earlier: Vec<Vec<u8>> = match last_part_scan(b) {
        Some(scan) => {
            let stmt = tx.prepare_cached("SELECT envelope FROM batches WHERE agent_id = $1 AND scan_id = $2").await?;
            tx.query(&stmt, &[&b.agent_id, &scan]).await?.iter().map(|r| r.get(0)).collect()
        }
        None => Vec::new(),
    };
    let mut plan = plan(&current, &vb, &enrolled_at, &earlier)?;
    super::egress::cross_check(&tx, &vb, &current, &mut plan).await?;

    let insert_batch = tx
        .prepare_cached(
            "INSERT INTO batches (digest, tenant_id, site_id, agent_id, sequence, scan_started_at, scan_finished_at,
                                  received_at, connector_count, finding_count, envelope, scan_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .await?;
    let (nc, nf) = (b.connectors.len() as i64, b.findings.len() as i64);
    let scan_id = b.part.as_ref().map(|p| p.scan_id.as_str());
    tx.execute(
        &insert_batch,
        &[
            &vb.digest,
            &b.tenant_id,
            &b.site_id,
            &b.agent_id,
            &sequence,
            &b.scan_started_at,
            &b.scan_finished_at,
            now,
            &nc,
            &nf,
            &vb.envelope,
            &scan_id,
        ],
    )
    .await?;
    write_plan(&tx, &b.tenant_id, &vb.digest, &b.agent_id, &b.site_id, &plan).await?;
    // The SIEM feed: the findings' changes of state, in this transaction.
    super::events::append(&tx, &b.tenant_id, &plan.at, &crate::register::events::of_plan(&current, &plan)).await?;
    if !vb.alerts.is_empty() {
        let groups: Vec<String> = if vb.alerts.needs_groups() {
            let rows = tx.query("SELECT group_name FROM tenant_groups WHERE tenant_id = $1", &[&b.tenant_id]).await?;
            rows.iter().map(|r| r.get(0)).collect()
        } else {
            Vec::new()
        };
        let alerts = crate::alerts::evaluate::alerts(&vb.alerts, &b.tenant_id, &groups, &current, &plan);
        super::alerts::queue(&tx, &alerts, now, &vb.alerts.due_at(now)).await?;
    }
    let advance =
        tx.prepare_cached(
            "UPDATE agents SET last_sequence = $2, last_seen_at = $3, missing_batches = missing_batches + $4 WHERE id = $1",
        )
        .await?;
    tx.execute(&advance, &[&b.agent_id, &sequence, now, &gap]).await?;
    tx.commit().await?;
    Ok(IngestOutcome::Stored)
}

/// Write a plan with one statement per table: each column travels as an
/// array and `UNNEST` turns them back into rows, so a batch costs a handful
/// of round trips however many connectors and findings it holds.
async fn write_plan(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant_id: &str,
    digest: &str,
    agent_id: &str,
    site_id: &str,
    plan: &crate::register::Plan,
) -> Result<(), StoreError> {
    if !plan.connectors.is_empty() {
        let c = &plan.connectors;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO connectors (tenant_id, key, category, plugin, site_id, entry, present, first_seen, last_seen,
                                         disappeared_at, co_owner_count, context)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[],
                                          $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bool[])
                 ON CONFLICT (tenant_id, key) DO UPDATE SET category = excluded.category, plugin = excluded.plugin,
                     site_id = excluded.site_id, entry = excluded.entry, present = excluded.present,
                     first_seen = excluded.first_seen, last_seen = excluded.last_seen, disappeared_at = excluded.disappeared_at,
                     co_owner_count = excluded.co_owner_count, context = excluded.context",
            )
            .await?;
        tx.execute(
            &stmt,
            &[
                &tenant_id,
                &c.iter().map(|c| c.entry.key.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|c| c.entry.category.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|c| c.entry.plugin.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|c| c.site_id.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|c| to_json(&c.entry)).collect::<Vec<_>>(),
                &c.iter().map(|c| c.present).collect::<Vec<_>>(),
                &c.iter().map(|c| c.first_seen.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|c| c.last_seen.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|c| c.disappeared_at.as_deref()).collect::<Vec<_>>(),
                &c.iter().map(|c| c.entry.co_owners.len() as i64).collect::<Vec<_>>(),
                &c.iter().map(|c| c.entry.is_context()).collect::<Vec<_>>(),
            ],
        )
        .await?;
    }
    if !plan.changes.is_empty() {
        let c = &plan.changes;
        // WITH ORDINALITY: ids follow the plan's order.
        let stmt = tx
            .prepare_cached(
                "INSERT INTO changes (tenant_id, connector_key, kind, at, batch_digest, agent_id, site_id, needs_review,
                                      review_reason, fields, entry)
                 SELECT $1, u.key, u.kind, $2, $3, $4, $5, u.review, u.reason, u.fields, u.entry
                 FROM UNNEST($6::text[], $7::text[], $8::bool[], $9::text[], $10::text[], $11::text[])
                      WITH ORDINALITY AS u (key, kind, review, reason, fields, entry, n)
                 ORDER BY u.n",
            )
            .await?;
        tx.execute(
            &stmt,
            &[
                &tenant_id,
                &plan.at,
                &digest,
                &agent_id,
                &site_id,
                &c.iter().map(|c| c.connector_key.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|c| c.needs_review).collect::<Vec<_>>(),
                &c.iter().map(|c| c.review_reason.as_deref()).collect::<Vec<_>>(),
                &c.iter().map(|c| to_json(&c.fields)).collect::<Vec<_>>(),
                &c.iter().map(|c| c.entry.as_ref().map(to_json)).collect::<Vec<_>>(),
            ],
        )
        .await?;
    }
    if !plan.findings.is_empty() {
        let f = &plan.findings;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO findings (tenant_id, id, check_id, connector_key, severity, plugin, site_id, status, entry,
                                       first_seen, last_seen, resolved_at, reopened_count)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                          $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])
                 ON CONFLICT (tenant_id, id) DO UPDATE SET check_id = excluded.check_id,
                     connector_key = excluded.connector_key, severity = excluded.severity, plugin = excluded.plugin,
                     site_id = excluded.site_id, status = excluded.status, entry = excluded.entry,
                     first_seen = excluded.first_seen, last_seen = excluded.last_seen,
                     resolved_at = excluded.resolved_at, reopened_count = excluded.reopened_count",
            )
            .await?;
        tx.execute(
            &stmt,
            &[
                &tenant_id,
                &f.iter().map(|f| f.entry.id.as_str()).collect::<Vec<_>>(),
                &f.iter().map(|f| f.entry.check_id.as_str()).collect::<Vec<_>>(),
                &f.iter().map(|f| f.entry.connector_key.as_str()).collect::<Vec<_>>(),
                &f.iter().map(|f| f.entry.severity.as_str()).collect::<Vec<_>>(),
                &f.iter().map(|f| f.entry.plugin.as_str()).collect::<Vec<_>>(),
                &f.iter().map(|f| f.site_id.as_str()).collect::<Vec<_>>(),
                &f.iter().map(|f| f.status.as_str()).collect::<Vec<_>>(),
                &f.iter().map(|f| to_json(&f.entry)).collect::<Vec<_>>(),
                &f.iter().map(|f| f.first_seen.as_str()).collect::<Vec<_>>(),
                &f.iter().map(|f| f.last_seen.as_str()).collect::<Vec<_>>(),
                &f.iter().map(|f| f.resolved_at.as_deref()).collect::<Vec<_>>(),
                &f.iter().map(|f| i64::from(f.reopened_count)).collect::<Vec<_>>(),
            ],
        )
        .await?;
    }
    if !plan.sightings.is_empty() {
        let x = &plan.sightings;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO sightings (tenant_id, agent_id, subject, key, present)
                 SELECT $1, $2, * FROM UNNEST($3::text[], $4::text[], $5::bool[])
                 ON CONFLICT (tenant_id, subject, key, agent_id) DO UPDATE SET present = excluded.present",
            )
            .await?;
        tx.execute(
            &stmt,
            &[
                &tenant_id,
                &agent_id,
                &x.iter().map(|x| x.subject.as_str()).collect::<Vec<_>>(),
                &x.iter().map(|x| x.key.as_str()).collect::<Vec<_>>(),
                &x.iter().map(|x| x.present).collect::<Vec<_>>(),
            ],
        )
        .await?;
    }
    Ok(())
}
