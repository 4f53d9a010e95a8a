//! Applying a verified batch in SQLite: load the tenant's register and the
//! agents' sightings, plan, and write the plan, inside a `BEGIN IMMEDIATE`
//! transaction that may hold other batches too ([`super::group`]).

use super::{register, write_tx, writes};
use crate::register::{incremental, Current, Sightings, Subject};
use crate::store::rows::{last_part_scan, refuse_replayed, refuse_revoked, scan_records, seq_from_db, seq_to_db};
use crate::store::rows::{sequence_gap, to_apply, trusted_since, unnamed, Settle};
use crate::store::{IngestOutcome, Ingested, StoreError, VerifiedBatch};
use rusqlite::{params, Connection, OptionalExtension};

fn tenant_groups(conn: &Connection, tenant_id: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT group_name FROM tenant_groups WHERE tenant_id = ?1")?;
    let rows = stmt.query_map(params![tenant_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What the batch's agent still sees, and what any other live agent of the
/// tenant (not revoked, delivered since `trusted_since`) still sees.
fn load_sightings(conn: &Connection, tenant_id: &str, agent_id: &str, trusted_since: &str) -> Result<Sightings, StoreError> {
    let mut s = Sightings::default();
    let mut mine = conn.prepare_cached("SELECT subject, key FROM sightings WHERE tenant_id = ?1 AND agent_id = ?2 AND present")?;
    for row in mine.query_map(params![tenant_id, agent_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (subject, key) = row?;
        if subject == Subject::Connector.as_str() { s.mine.insert(key) } else { s.findings_mine.insert(key) };
    }
    let mut others = conn.prepare_cached(
        "SELECT DISTINCT s.subject, s.key FROM sightings s JOIN agents a ON a.id = s.agent_id
         WHERE s.tenant_id = ?1 AND s.agent_id <> ?2 AND s.present AND a.revoked_at IS NULL AND a.last_seen_at >= ?3",
    )?;
    let rows = others.query_map(params![tenant_id, agent_id, trusted_since], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (subject, key) = row?;
        if subject == Subject::Connector.as_str() { s.others.insert(key) } else { s.findings_others.insert(key) };
    }
    Ok(s)
}

/// One batch in a transaction of its own.
pub(super) fn ingest_tx(conn: &mut Connection, vb: &VerifiedBatch) -> Result<Ingested, StoreError> {
    let tx = write_tx(conn)?;
    let ingested = apply(&tx, vb)?;
    tx.commit()?;
    Ok(ingested)
}

/// One batch in the write transaction `tx` is in: nothing here begins or
/// ends it, so a group of batches can share one commit.
pub(super) fn apply(tx: &Connection, vb: &VerifiedBatch) -> Result<Ingested, StoreError> {
    let before = tx.total_changes();
    let b = &vb.batch;
    // Every statement of this path is cached (see STATEMENT_CACHE).
    let agent = tx
        .prepare_cached("SELECT revoked_at IS NOT NULL, last_sequence, enrolled_at FROM agents WHERE id = ?1")?
        .query_row(params![b.agent_id], |row| {
            Ok((row.get::<_, bool>(0)?, row.get::<_, Option<i64>>(1)?, row.get::<_, String>(2)?))
        })
        .optional()?
        .ok_or_else(|| StoreError::UnknownAgent(b.agent_id.clone()))?;
    let (revoked, last, enrolled_at) = agent;
    refuse_revoked(&b.agent_id, revoked)?;
    let stored: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM batches WHERE digest = ?1)")?
        .query_row(params![vb.digest], |row| row.get(0))?;
    if stored {
        return Ok(Ingested { outcome: IngestOutcome::Duplicate, rows_written: 0 });
    }
    refuse_replayed(seq_from_db(last), b.sequence)?;
    let gap = sequence_gap(seq_from_db(last), b.sequence);
    let sequence = seq_to_db(b.sequence)?;

    let earlier = match last_part_scan(b) {
        Some(scan) => {
            let mut stmt = tx.prepare_cached("SELECT envelope FROM batches WHERE agent_id = ?1 AND scan_id = ?2")?;
            let rows = stmt.query_map(params![b.agent_id, scan], |r| r.get::<_, Vec<u8>>(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        }
        None => Vec::new(),
    };
    let (mut whole, at) = to_apply(vb, &enrolled_at, &earlier)?;
    let sightings = load_sightings(tx, &b.tenant_id, &b.agent_id, &trusted_since(&vb.received_at))?;
    let scans = register::scans(tx, &b.tenant_id, &b.agent_id)?;
    let covering = incremental::covering(&whole, &at, &scans);
    let stepping = incremental::stepping_back(&whole, &at, &scans);
    let light = register::light_connectors(tx, &b.tenant_id)?;
    let ids: Vec<&str> = whole.findings.iter().map(|f| f.id.as_str()).collect();
    let light_findings = register::light_findings(tx, &b.tenant_id, &b.agent_id, &ids)?;
    let split = incremental::split(&mut whole, &light, &light_findings, &covering, &sightings);
    let mut current = Current {
        connectors: register::connectors_named(tx, &b.tenant_id, &split.connectors)?,
        findings: register::findings_named(tx, &b.tenant_id, &split.findings)?,
        sightings,
        unchanged: split.unchanged,
        plugins: light.into_values().map(|l| l.plugin).collect(),
    };
    let mut plan = crate::register::plan(&current, &whole, &at);
    super::egress::cross_check(tx, vb, &current, &mut plan)?;
    let now = &vb.received_at;
    tx.prepare_cached(
        "INSERT INTO batches (digest, tenant_id, site_id, agent_id, sequence, scan_started_at, scan_finished_at,
                              received_at, connector_count, finding_count, envelope, scan_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        vb.digest,
        b.tenant_id,
        b.site_id,
        b.agent_id,
        sequence,
        b.scan_started_at,
        b.scan_finished_at,
        now,
        b.connectors.len() as i64,
        b.findings.len() as i64,
        vb.envelope,
        b.part.as_ref().map(|p| p.scan_id.as_str())
    ])?;
    let (tenant_id, digest, agent_id, site_id) = (&b.tenant_id, &vb.digest, &b.agent_id, &b.site_id);
    let src = writes::Source { tenant_id, digest, agent_id, site_id };
    writes::settle(tx, &src, &Settle::of(&plan, &stepping))?;
    writes::plan(tx, &src, &plan)?;
    writes::scans(tx, &src, &scan_records(&covering, &stepping), &at)?;
    // The SIEM feed: the findings' changes of state, in this transaction.
    super::events::append(tx, &b.tenant_id, &plan.at, &crate::register::events::of_plan(&current, &plan))?;
    if !vb.alerts.is_empty() {
        let groups = if vb.alerts.needs_groups() { tenant_groups(tx, &b.tenant_id)? } else { Vec::new() };
        current.connectors.extend(register::connectors_named(tx, &b.tenant_id, &unnamed(&current, &plan))?);
        let alerts = crate::alerts::evaluate::alerts(&vb.alerts, &b.tenant_id, &groups, &current, &plan);
        super::alerts::queue(tx, &alerts, now, &vb.alerts.due_at(now))?;
    }
    tx.prepare_cached(
        "UPDATE agents SET last_sequence = ?2, last_seen_at = ?3, missing_batches = missing_batches + ?4 WHERE id = ?1",
    )?
    .execute(params![b.agent_id, sequence, now, gap])?;
    Ok(Ingested { outcome: IngestOutcome::Stored, rows_written: tx.total_changes() - before })
}
