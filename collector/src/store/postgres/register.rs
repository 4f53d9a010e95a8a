//! The register's rows in PostgreSQL: whole, with `last_seen` the later of
//! the row's column and its agents' scan records, for the reads and for what
//! a batch changes; and light (key, plugin, site, state, digest), for the
//! comparison that finds what it does not change.

use crate::crosscheck::{rules::PREFIX as CROSS_CHECK, RELAY_CATEGORY};
use crate::register::incremental::Light;
use crate::register::review::EXCHANGE_CATEGORY;
use crate::register::ConnectorState;
use crate::store::rows::{connector_scanned, finding_condition, finding_scanned, from_json};
use crate::store::{FindingFilter, StoreError};
use deadpool_postgres::GenericClient;
use plumbline_protocol::read_api::FindingRecord;
use std::collections::HashMap;
use tokio_postgres::types::ToSql;

pub(super) type Params<'a> = [&'a (dyn ToSql + Sync)];

pub(super) async fn connectors_where(
    c: &impl GenericClient,
    condition: &str,
    params: &Params<'_>,
) -> Result<Vec<ConnectorState>, StoreError> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT c.entry, c.site_id, c.present, c.first_seen, GREATEST(c.last_seen, {}), c.disappeared_at
             FROM connectors c WHERE c.tenant_id = $1 {condition} ORDER BY c.key",
            connector_scanned("c")
        ))
        .await?;
    let mut out = Vec::new();
    for row in c.query(&stmt, params).await? {
        out.push(ConnectorState {
            entry: from_json("connector entry", row.get(0))?,
            site_id: row.get(1),
            present: row.get(2),
            first_seen: row.get(3),
            last_seen: row.get(4),
            disappeared_at: row.get(5),
        });
    }
    Ok(out)
}

pub(super) async fn findings_where(
    c: &impl GenericClient,
    condition: &str,
    params: &Params<'_>,
) -> Result<Vec<FindingRecord>, StoreError> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT f.entry, f.status, f.site_id, f.first_seen, GREATEST(f.last_seen, {}), f.resolved_at,
                    f.reopened_count
             FROM findings f WHERE f.tenant_id = $1 {condition} ORDER BY f.id",
            finding_scanned("f")
        ))
        .await?;
    let mut out = Vec::new();
    for row in c.query(&stmt, params).await? {
        out.push(FindingRecord {
            entry: from_json("finding entry", row.get(0))?,
            status: row.get(1),
            site_id: row.get(2),
            first_seen: row.get(3),
            last_seen: row.get(4),
            resolved_at: row.get(5),
            reopened_count: u32::try_from(row.get::<_, i64>(6)).unwrap_or(u32::MAX),
        });
    }
    Ok(out)
}

/// A tenant's connectors.
pub(super) async fn load_connectors(
    c: &impl GenericClient,
    tenant_id: &str,
) -> Result<Vec<ConnectorState>, StoreError> {
    connectors_where(c, "", &[&tenant_id]).await
}

/// A tenant's findings.
pub(super) async fn load_findings(
    c: &impl GenericClient,
    tenant_id: &str,
    filter: FindingFilter,
) -> Result<Vec<FindingRecord>, StoreError> {
    let condition = finding_condition(filter);
    findings_where(c, condition, &[&tenant_id]).await
}

/// The connectors named, and the mail entries the cross-check reads, by key.
pub(super) async fn connectors_named(
    c: &impl GenericClient,
    tenant_id: &str,
    keys: &[String],
) -> Result<HashMap<String, ConnectorState>, StoreError> {
    let condition = "AND (c.key = ANY($2) OR c.category = ANY($3))";
    let mail = [RELAY_CATEGORY, EXCHANGE_CATEGORY];
    let rows = connectors_where(c, condition, &[&tenant_id, &keys, &&mail[..]]).await?;
    Ok(rows.into_iter().map(|c| (c.entry.key.clone(), c)).collect())
}

/// The findings named, and the cross-check's own (which it derives anew each
/// batch), by id.
pub(super) async fn findings_named(
    c: &impl GenericClient,
    tenant_id: &str,
    ids: &[String],
) -> Result<HashMap<String, FindingRecord>, StoreError> {
    let condition = "AND (f.id = ANY($2) OR left(f.check_id, length($3)) = $3)";
    let rows = findings_where(c, condition, &[&tenant_id, &ids, &CROSS_CHECK]).await?;
    Ok(rows.into_iter().map(|f| (f.entry.id.clone(), f)).collect())
}

/// Every connector of the tenant, light.
pub(super) async fn light_connectors(
    c: &impl GenericClient,
    tenant_id: &str,
) -> Result<HashMap<String, Light>, StoreError> {
    let sql = "SELECT key, plugin, site_id, present, digest FROM connectors WHERE tenant_id = $1";
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query(&stmt, &[&tenant_id]).await?.iter().map(light).collect())
}

/// `(key, Light)` of a row selecting key, plugin, site, live, digest.
fn light(r: &tokio_postgres::Row) -> (String, Light) {
    (r.get(0), Light { plugin: r.get(1), site_id: r.get(2), live: r.get(3), digest: r.get(4) })
}

/// The findings that may change, light: not resolved, reported in `ids`,
/// or still seen by `agent_id` (whose sighting may stop). A resolved one
/// nobody reports stays on disk.
pub(super) async fn light_findings(
    c: &impl GenericClient,
    tenant_id: &str,
    agent_id: &str,
    ids: &[&str],
) -> Result<HashMap<String, Light>, StoreError> {
    let stmt = c
        .prepare_cached(
            "SELECT id, plugin, site_id, status <> 'resolved', digest FROM findings
             WHERE tenant_id = $1 AND (status <> 'resolved' OR id = ANY($2)
                 OR id IN (SELECT key FROM sightings
                           WHERE tenant_id = $1 AND agent_id = $3 AND subject = 'finding' AND present))",
        )
        .await?;
    Ok(c.query(&stmt, &[&tenant_id, &ids, &agent_id]).await?.iter().map(light).collect())
}

/// The agent's latest recorded scan per plugin.
pub(super) async fn scans(
    c: &impl GenericClient,
    tenant_id: &str,
    agent_id: &str,
) -> Result<HashMap<String, String>, StoreError> {
    let sql = "SELECT plugin, MAX(at) FROM plugin_scans WHERE tenant_id = $1 AND agent_id = $2 GROUP BY plugin";
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query(&stmt, &[&tenant_id, &agent_id]).await?.iter().map(|r| (r.get(0), r.get(1))).collect())
}
