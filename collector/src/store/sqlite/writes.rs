//! What applying a batch writes in SQLite: the plan's rows, each with its
//! entry's digest; the `last_seen` that stopping sightings and stepping-back
//! scan records would otherwise lose; and the agent's scan records.

use crate::register::Plan;
use crate::store::egress::sqlite_form;
use crate::store::rows::{digest, settle_sql, to_json, Settle};
use crate::store::StoreError;
use rusqlite::{params, Connection};

/// Who wrote the plan: tenant, batch digest, agent, site.
pub(super) struct Source<'a> {
    pub tenant_id: &'a str,
    pub digest: &'a str,
    pub agent_id: &'a str,
    pub site_id: &'a str,
}

/// Before sightings stop or scan records step back: write into each row the
/// `last_seen` they stood for, where it is later than the row's own.
pub(super) fn settle(tx: &Connection, src: &Source<'_>, settle: &Settle) -> Result<(), StoreError> {
    // SQLite takes the arrays as JSON.
    let sqlite = |sql: &str| sqlite_form(sql).replace("= ANY(?2)", "IN (SELECT value FROM json_each(?2))");
    for ((by_key, by_plugin), keys) in settle_sql().iter().zip([&settle.connectors, &settle.findings]) {
        if !keys.is_empty() {
            tx.prepare_cached(&sqlite(by_key))?.execute(params![src.tenant_id, to_json(keys)])?;
        }
        if !settle.plugins.is_empty() {
            tx.prepare_cached(&sqlite(by_plugin))?.execute(params![src.tenant_id, to_json(&settle.plugins), src.agent_id])?;
        }
    }
    Ok(())
}

/// The plan's connectors, history, findings and sightings.
pub(super) fn plan(tx: &Connection, src: &Source<'_>, plan: &Plan) -> Result<(), StoreError> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO connectors (tenant_id, key, category, plugin, site_id, entry, present, first_seen, last_seen,
                                 disappeared_at, co_owner_count, context, digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (tenant_id, key) DO UPDATE SET category = excluded.category, plugin = excluded.plugin,
             site_id = excluded.site_id, entry = excluded.entry, present = excluded.present,
             first_seen = excluded.first_seen, last_seen = excluded.last_seen, disappeared_at = excluded.disappeared_at,
             co_owner_count = excluded.co_owner_count, context = excluded.context, digest = excluded.digest",
    )?;
    for c in &plan.connectors {
        let entry = to_json(&c.entry);
        upsert.execute(params![
            src.tenant_id,
            c.entry.key,
            c.entry.category,
            c.entry.plugin,
            c.site_id,
            entry,
            c.present,
            c.first_seen,
            c.last_seen,
            c.disappeared_at,
            c.entry.co_owners.len() as i64,
            c.entry.is_context(),
            digest(&entry)
        ])?;
    }
    let mut change = tx.prepare_cached(
        "INSERT INTO changes (tenant_id, connector_key, kind, at, batch_digest, agent_id, site_id, needs_review,
                              review_reason, fields, entry)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for c in &plan.changes {
        change.execute(params![
            src.tenant_id,
            c.connector_key,
            c.kind.as_str(),
            plan.at,
            src.digest,
            src.agent_id,
            src.site_id,
            c.needs_review,
            c.review_reason,
            to_json(&c.fields),
            c.entry.as_ref().map(to_json)
        ])?;
    }
    let mut finding = tx.prepare_cached(
        "INSERT INTO findings (tenant_id, id, check_id, connector_key, severity, plugin, site_id, status, entry,
                               first_seen, last_seen, resolved_at, reopened_count, digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (tenant_id, id) DO UPDATE SET check_id = excluded.check_id,
             connector_key = excluded.connector_key, severity = excluded.severity, plugin = excluded.plugin,
             site_id = excluded.site_id, status = excluded.status, entry = excluded.entry,
             first_seen = excluded.first_seen, last_seen = excluded.last_seen,
             resolved_at = excluded.resolved_at, reopened_count = excluded.reopened_count, digest = excluded.digest",
    )?;
    for f in &plan.findings {
        let entry = to_json(&f.entry);
        finding.execute(params![
            src.tenant_id,
            f.entry.id,
            f.entry.check_id,
            f.entry.connector_key,
            f.entry.severity.as_str(),
            f.entry.plugin,
            f.site_id,
            f.status,
            entry,
            f.first_seen,
            f.last_seen,
            f.resolved_at,
            i64::from(f.reopened_count),
            digest(&entry)
        ])?;
    }
    let mut sighting = tx.prepare_cached(
        "INSERT INTO sightings (tenant_id, subject, key, agent_id, present) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (tenant_id, subject, key, agent_id) DO UPDATE SET present = excluded.present",
    )?;
    for x in &plan.sightings {
        sighting.execute(params![src.tenant_id, x.subject.as_str(), x.key, src.agent_id, x.present])?;
    }
    Ok(())
}

/// The agent's scan records: `(plugin, subject)` scanned at `at`.
pub(super) fn scans(tx: &Connection, src: &Source<'_>, records: &[(&str, &str)], at: &str) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO plugin_scans (tenant_id, agent_id, plugin, subject, site_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (tenant_id, agent_id, plugin, subject)
             DO UPDATE SET site_id = excluded.site_id, at = excluded.at",
    )?;
    for (plugin, subject) in records {
        stmt.execute(params![src.tenant_id, src.agent_id, plugin, subject, src.site_id, at])?;
    }
    Ok(())
}
