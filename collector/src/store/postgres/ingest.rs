//! Applying a verified batch in PostgreSQL: lock the tenant and the agent,
//! load the register and the agents' sightings, plan, and write the plan
//! with one array statement per table, in one transaction.

use super::{register, writes, PostgresStore};
use crate::register::{incremental, Current, Sightings, Subject};
use crate::store::rows::{last_part_scan, refuse_replayed, refuse_revoked, scan_records, seq_from_db, seq_to_db};
use crate::store::rows::{sequence_gap, to_apply, trusted_since, unnamed, Settle};
use crate::store::{IngestOutcome, Ingested, StoreError, VerifiedBatch};
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

/// Rows written by this transaction so far, in every table.
const WRITTEN_SQL: &str =
    "SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint FROM pg_stat_xact_user_tables";

pub(super) async fn ingest(store: &PostgresStore, vb: VerifiedBatch) -> Result<Ingested, StoreError> {
    let b = &vb.batch;
    let now = &vb.received_at;
    let sequence = seq_to_db(b.sequence)?;
    let mut client = store.pool.get().await?;
    let tx = client.transaction().await?;
    let written = tx.prepare_cached(WRITTEN_SQL).await?;
    let before: i64 = tx.query_one(&written, &[]).await?.get(0);

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
        return Ok(Ingested { outcome: IngestOutcome::Duplicate, rows_written: 0 });
    }
    refuse_replayed(seq_from_db(agent.get(1)), b.sequence)?;
    let gap = sequence_gap(seq_from_db(agent.get(1)), b.sequence);

    let enrolled_at: String = agent.get(2);
    let earlier: Vec<Vec<u8>> = match last_part_scan(b) {
        Some(scan) => {
            let stmt = tx.prepare_cached("SELECT envelope FROM batches WHERE agent_id = $1 AND scan_id = $2").await?;
            tx.query(&stmt, &[&b.agent_id, &scan]).await?.iter().map(|r| r.get(0)).collect()
        }
        None => Vec::new(),
    };
    let (mut whole, at) = to_apply(&vb, &enrolled_at, &earlier)?;
    let sightings = load_sightings(&tx, &b.tenant_id, &b.agent_id, &trusted_since(now)).await?;
    let scans = register::scans(&tx, &b.tenant_id, &b.agent_id).await?;
    let covering = incremental::covering(&whole, &at, &scans);
    let stepping = incremental::stepping_back(&whole, &at, &scans);
    let light = register::light_connectors(&tx, &b.tenant_id).await?;
    let ids: Vec<&str> = whole.findings.iter().map(|f| f.id.as_str()).collect();
    let light_findings = register::light_findings(&tx, &b.tenant_id, &b.agent_id, &ids).await?;
    let split = incremental::split(&mut whole, &light, &light_findings, &covering, &sightings);
    let mut current = Current {
        connectors: register::connectors_named(&tx, &b.tenant_id, &split.connectors).await?,
        findings: register::findings_named(&tx, &b.tenant_id, &split.findings).await?,
        sightings,
        unchanged: split.unchanged,
        plugins: light.into_values().map(|l| l.plugin).collect(),
    };
    let mut plan = crate::register::plan(&current, &whole, &at);
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
    let (tenant_id, digest, agent_id, site_id) = (&b.tenant_id, &vb.digest, &b.agent_id, &b.site_id);
    let src = writes::Source { tenant_id, digest, agent_id, site_id };
    writes::settle(&tx, &src, &Settle::of(&plan, &stepping)).await?;
    writes::plan(&tx, &src, &plan).await?;
    writes::scans(&tx, &src, &scan_records(&covering, &stepping), &at).await?;
    // The SIEM feed: the findings' changes of state, in this transaction.
    super::events::append(&tx, &b.tenant_id, &plan.at, &crate::register::events::of_plan(&current, &plan)).await?;
    if !vb.alerts.is_empty() {
        let groups: Vec<String> = if vb.alerts.needs_groups() {
            let rows = tx.query("SELECT group_name FROM tenant_groups WHERE tenant_id = $1", &[&b.tenant_id]).await?;
            rows.iter().map(|r| r.get(0)).collect()
        } else {
            Vec::new()
        };
        current.connectors.extend(register::connectors_named(&tx, &b.tenant_id, &unnamed(&current, &plan)).await?);
        let alerts = crate::alerts::evaluate::alerts(&vb.alerts, &b.tenant_id, &groups, &current, &plan);
        super::alerts::queue(&tx, &alerts, now, &vb.alerts.due_at(now)).await?;
    }
    let advance =
        tx.prepare_cached(
            "UPDATE agents SET last_sequence = $2, last_seen_at = $3, missing_batches = missing_batches + $4 WHERE id = $1",
        )
        .await?;
    tx.execute(&advance, &[&b.agent_id, &sequence, now, &gap]).await?;
    let after: i64 = tx.query_one(&written, &[]).await?.get(0);
    tx.commit().await?;
    Ok(Ingested { outcome: IngestOutcome::Stored, rows_written: u64::try_from(after - before).unwrap_or(0) })
}
