//! Applying a verified batch in SQLite: load the tenant's register and the
//! agents' sightings, plan, and write the plan, in one `BEGIN IMMEDIATE`
//! transaction.

use super::{load_connectors, load_findings, write_tx};
use crate::register::{Current, Sightings, Subject};
use crate::store::rows::{last_part_scan, plan, refuse_replayed, refuse_revoked, seq_from_db, seq_to_db, sequence_gap, to_json, trusted_since};
use crate::store::{FindingFilter, IngestOutcome, StoreError, VerifiedBatch};
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

pub(super) fn ingest_tx(conn: &mut Connection, vb: &VerifiedBatch) -> Result<IngestOutcome, StoreError> {
    let tx = write_tx(conn)?;
    let b = &vb.batch;
    let agent = tx
        .query_row(
            "SELECT revoked_at IS NOT NULL, last_sequence, enrolled_at FROM agents WHERE id = ?1",
            params![b.agent_id],
            |row| Ok((row.get::<_, bool>(0)?, row.get::<_, Option<i64>>(1)?, row.get::<_, String>(2)?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::UnknownAgent(b.agent_id.clone()))?;
    let (revoked, last, enrolled_at) = agent;
    refuse_revoked(&b.agent_id, revoked)?;
    let stored: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM batches WHERE digest = ?1)", params![vb.digest], |row| row.get(0))?;
    if stored {
        return Ok(IngestOutcome::Duplicate);
    }
    refuse_replayed(seq_from_db(last), b.sequence)?;
    let gap = sequence_gap(seq_from_db(last), b.sequence);
    let sequence = seq_to_db(b.sequence)?;

    let current = Current {
        connectors: load_connectors(&tx, &b.tenant_id)?.into_iter().map(|c| (c.entry.key.clone(), c)).collect(),
        findings: load_findings(&tx, &b.tenant_id, FindingFilter::All)?
            .into_iter()
            .map(|f| (f.entry.id.clone(), f))
            .collect(),
        sightings: load_sightings(&tx, &b.tenant_id, &b.agent_id, &trusted_since(&vb.received_at))?,
    };
    let earlier = match last_part_scan(b) {
        Some(scan) => {
            let mut stmt = tx.prepare_cached("SELECT envelope FROM batches WHERE agent_id = ?1 AND scan_id = ?2")?;
            let rows = stmt.query_map(params![b.agent_id, scan], |r| r.get::<_, Vec<u8>>(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        }
        None => Vec::new(),
    };
    let mut plan = plan(&current, vb, &enrolled_at, &earlier)?;
    super::egress::cross_check(&tx, vb, &current, &mut plan)?;
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
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO connectors (tenant_id, key, category, plugin, site_id, entry, present, first_seen, last_seen,
                                     disappeared_at, co_owner_count, context)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (tenant_id, key) DO UPDATE SET category = excluded.category, plugin = excluded.plugin,
                 site_id = excluded.site_id, entry = excluded.entry, present = excluded.present,
                 first_seen = excluded.first_seen, last_seen = excluded.last_seen, disappeared_at = excluded.disappeared_at,
                 co_owner_count = excluded.co_owner_count, context = excluded.context",
        )?;
        for c in &plan.connectors {
            upsert.execute(params![
                b.tenant_id,
                c.entry.key,
                c.entry.category,
                c.entry.plugin,
                c.site_id,
                to_json(&c.entry),
                c.present,
                c.first_seen,
                c.last_seen,
                c.disappeared_at,
                c.entry.co_owners.len() as i64,
                c.entry.is_context()
            ])?;
        }
        let mut change = tx.prepare_cached(
            "INSERT INTO changes (tenant_id, connector_key, kind, at, batch_digest, agent_id, site_id, needs_review,
                                  review_reason, fields, entry)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for c in &plan.changes {
            change.execute(params![
                b.tenant_id,
                c.connector_key,
                c.kind.as_str(),
                plan.at,
                vb.digest,
                b.agent_id,
                b.site_id,
                c.needs_review,
                c.review_reason,
                to_json(&c.fields),
                c.entry.as_ref().map(to_json)
            ])?;
        }
        let mut finding = tx.prepare_cached(
            "INSERT INTO findings (tenant_id, id, check_id, connector_key, severity, plugin, site_id, status, entry,
                                   first_seen, last_seen, resolved_at, reopened_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (tenant_id, id) DO UPDATE SET check_id = excluded.check_id,
                 connector_key = excluded.connector_key, severity = excluded.severity, plugin = excluded.plugin,
                 site_id = excluded.site_id, status = excluded.status, entry = excluded.entry,
                 first_seen = excluded.first_seen, last_seen = excluded.last_seen,
                 resolved_at = excluded.resolved_at, reopened_count = excluded.reopened_count",
        )?;
        for f in &plan.findings {
            finding.execute(params![
                b.tenant_id,
                f.entry.id,
                f.entry.check_id,
                f.entry.connector_key,
                f.entry.severity.as_str(),
                f.entry.plugin,
                f.site_id,
                f.status,
                to_json(&f.entry),
                f.first_seen,
                f.last_seen,
                f.resolved_at,
                i64::from(f.reopened_count)
            ])?;
        }
        let mut sighting = tx.prepare_cached(
            "INSERT INTO sightings (tenant_id, subject, key, agent_id, present) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant_id, subject, key, agent_id) DO UPDATE SET present = excluded.present",
        )?;
        for x in &plan.sightings {
            sighting.execute(params![b.tenant_id, x.subject.as_str(), x.key, b.agent_id, x.present])?;
        }
    }
    // The SIEM feed: the findings' changes of state, in this transaction.
    super::events::append(&tx, &b.tenant_id, &plan.at, &crate::register::events::of_plan(&current, &plan))?;
    if !vb.alerts.is_empty() {
        let groups = if vb.alerts.needs_groups() { tenant_groups(&tx, &b.tenant_id)? } else { Vec::new() };
        let alerts = crate::alerts::evaluate::alerts(&vb.alerts, &b.tenant_id, &groups, &current, &plan);
        super::alerts::queue(&tx, &alerts, now, &vb.alerts.due_at(now))?;
    }
    tx.execute(
        "UPDATE agents SET last_sequence = ?2, last_seen_at = ?3, missing_batches = missing_batches + ?4 WHERE id = ?1",
        params![b.agent_id, sequence, now, gap],
    )?;
    tx.commit()?;
    Ok(IngestOutcome::Stored)
}
