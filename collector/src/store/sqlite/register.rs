//! The register's rows in SQLite: whole, with `last_seen` the later of the
//! row's column and its agents' scan records, for the reads and for what a
//! batch changes; and light (key, plugin, site, state, digest), for the
//! comparison that finds what it does not change.

use crate::crosscheck::{rules::PREFIX as CROSS_CHECK, RELAY_CATEGORY};
use crate::register::incremental::Light;
use crate::register::review::EXCHANGE_CATEGORY;
use crate::register::ConnectorState;
use crate::store::rows::{connector_scanned, finding_condition, finding_scanned, from_json, to_json};
use crate::store::{FindingFilter, StoreError};
use plumbline_protocol::read_api::FindingRecord;
use rusqlite::{params, Connection, ToSql};
use std::collections::HashMap;

pub(super) fn connectors_where(
    conn: &Connection,
    condition: &str,
    params: &[&dyn ToSql],
) -> Result<Vec<ConnectorState>, StoreError> {
    let last_seen = format!("MAX(c.last_seen, COALESCE({}, ''))", connector_scanned("c"));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.entry, c.site_id, c.present, c.first_seen, {last_seen}, c.disappeared_at
         FROM connectors c WHERE c.tenant_id = ?1 {condition} ORDER BY c.key"
    ))?;
    let rows = stmt.query_map(params, |row| {
        Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (entry, site_id, present, first_seen, last_seen, disappeared_at) = row?;
        out.push(ConnectorState {
            entry: from_json("connector entry", &entry)?,
            site_id,
            present,
            first_seen,
            last_seen,
            disappeared_at,
        });
    }
    Ok(out)
}

pub(super) fn findings_where(
    conn: &Connection,
    condition: &str,
    params: &[&dyn ToSql],
) -> Result<Vec<FindingRecord>, StoreError> {
    let last_seen = format!("MAX(f.last_seen, COALESCE({}, ''))", finding_scanned("f"));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT f.entry, f.status, f.site_id, f.first_seen, {last_seen}, f.resolved_at, f.reopened_count
         FROM findings f WHERE f.tenant_id = ?1 {condition} ORDER BY f.id"
    ))?;
    let rows = stmt.query_map(params, |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get::<_, i64>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (entry, status, site_id, first_seen, last_seen, resolved_at, reopened) = row?;
        out.push(FindingRecord {
            entry: from_json("finding entry", &entry)?,
            status,
            site_id,
            first_seen,
            last_seen,
            resolved_at,
            reopened_count: u32::try_from(reopened).unwrap_or(u32::MAX),
        });
    }
    Ok(out)
}

/// A tenant's connectors.
pub(super) fn load_connectors(conn: &Connection, tenant_id: &str) -> Result<Vec<ConnectorState>, StoreError> {
    connectors_where(conn, "", &[&tenant_id])
}

/// A tenant's findings.
pub(super) fn load_findings(
    conn: &Connection,
    tenant_id: &str,
    filter: FindingFilter,
) -> Result<Vec<FindingRecord>, StoreError> {
    let condition = finding_condition(filter);
    findings_where(conn, condition, &[&tenant_id])
}

/// The connectors named, and the mail entries the cross-check reads, by key.
pub(super) fn connectors_named(
    conn: &Connection,
    tenant_id: &str,
    keys: &[String],
) -> Result<HashMap<String, ConnectorState>, StoreError> {
    let condition = "AND (c.key IN (SELECT value FROM json_each(?2)) OR c.category IN (?3, ?4))";
    let rows = connectors_where(conn, condition, &[&tenant_id, &to_json(keys), &RELAY_CATEGORY, &EXCHANGE_CATEGORY])?;
    Ok(rows.into_iter().map(|c| (c.entry.key.clone(), c)).collect())
}

/// The findings named, and the cross-check's own (which it derives anew each
/// batch), by id.
pub(super) fn findings_named(
    conn: &Connection,
    tenant_id: &str,
    ids: &[String],
) -> Result<HashMap<String, FindingRecord>, StoreError> {
    let condition = "AND (f.id IN (SELECT value FROM json_each(?2)) OR substr(f.check_id, 1, length(?3)) = ?3)";
    let rows = findings_where(conn, condition, &[&tenant_id, &to_json(ids), &CROSS_CHECK])?;
    Ok(rows.into_iter().map(|f| (f.entry.id.clone(), f)).collect())
}

/// Every connector of the tenant, light.
pub(super) fn light_connectors(conn: &Connection, tenant_id: &str) -> Result<HashMap<String, Light>, StoreError> {
    let sql = "SELECT key, plugin, site_id, present, digest FROM connectors WHERE tenant_id = ?1";
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![tenant_id], |r| {
        Ok((r.get(0)?, Light { plugin: r.get(1)?, site_id: r.get(2)?, live: r.get(3)?, digest: r.get(4)? }))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The findings that may change, light: not resolved, reported in `ids`,
/// or still seen by `agent_id` (whose sighting may stop). A resolved one
/// nobody reports stays on disk.
pub(super) fn light_findings(
    conn: &Connection,
    tenant_id: &str,
    agent_id: &str,
    ids: &[&str],
) -> Result<HashMap<String, Light>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, plugin, site_id, status <> 'resolved', digest FROM findings
         WHERE tenant_id = ?1 AND (status <> 'resolved' OR id IN (SELECT value FROM json_each(?2))
             OR id IN (SELECT key FROM sightings
                       WHERE tenant_id = ?1 AND agent_id = ?3 AND subject = 'finding' AND present))",
    )?;
    let rows = stmt.query_map(params![tenant_id, to_json(ids), agent_id], |r| {
        Ok((r.get(0)?, Light { plugin: r.get(1)?, site_id: r.get(2)?, live: r.get(3)?, digest: r.get(4)? }))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The agent's latest recorded scan per plugin.
pub(super) fn scans(conn: &Connection, tenant_id: &str, agent_id: &str) -> Result<HashMap<String, String>, StoreError> {
    let sql = "SELECT plugin, MAX(at) FROM plugin_scans WHERE tenant_id = ?1 AND agent_id = ?2 GROUP BY plugin";
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![tenant_id, agent_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
