//! What applying a batch writes in PostgreSQL: the plan's rows, each with
//! its entry's digest, one array statement per table; the `last_seen` that
//! stopping sightings and stepping-back scan records would otherwise lose;
//! and the agent's scan records.

use crate::register::Plan;
use crate::store::rows::{self, settle_sql, to_json, Settle};
use crate::store::StoreError;
use deadpool_postgres::GenericClient;

/// Who wrote the plan: tenant, batch digest, agent, site.
#[derive(Clone, Copy)]
pub(super) struct Source<'a> {
    pub tenant_id: &'a str,
    pub digest: &'a str,
    pub agent_id: &'a str,
    pub site_id: &'a str,
}

/// Before sightings stop or scan records step back: write into each row the
/// `last_seen` they stood for, where it is later than the row's own.
pub(super) async fn settle(tx: &impl GenericClient, src: &Source<'_>, settle: &Settle) -> Result<(), StoreError> {
    for ((by_key, by_plugin), keys) in settle_sql().iter().zip([&settle.connectors, &settle.findings]) {
        if !keys.is_empty() {
            let stmt = tx.prepare_cached(by_key).await?;
            tx.execute(&stmt, &[&src.tenant_id, keys]).await?;
        }
        if !settle.plugins.is_empty() {
            let stmt = tx.prepare_cached(by_plugin).await?;
            tx.execute(&stmt, &[&src.tenant_id, &settle.plugins, &src.agent_id]).await?;
        }
    }
    Ok(())
}

/// The agent's scan records: `(plugin, subject)` scanned at `at`.
pub(super) async fn scans(
    tx: &impl GenericClient,
    src: &Source<'_>,
    records: &[(&str, &str)],
    at: &str,
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO plugin_scans (tenant_id, agent_id, plugin, subject, site_id, at)
             SELECT $1, $2, u.plugin, u.subject, $3, $4 FROM UNNEST($5::text[], $6::text[]) AS u (plugin, subject)
             ON CONFLICT (tenant_id, agent_id, plugin, subject)
                 DO UPDATE SET site_id = excluded.site_id, at = excluded.at",
        )
        .await?;
    let plugins: Vec<&str> = records.iter().map(|r| r.0).collect();
    let subjects: Vec<&str> = records.iter().map(|r| r.1).collect();
    tx.execute(&stmt, &[&src.tenant_id, &src.agent_id, &src.site_id, &at, &plugins, &subjects]).await?;
    Ok(())
}

/// Write a plan with one statement per table: each column travels as an
/// array and `UNNEST` turns them back into rows, so a batch costs a handful
/// of round trips however many connectors and findings it holds.
pub(super) async fn plan(tx: &impl GenericClient, src: &Source<'_>, plan: &Plan) -> Result<(), StoreError> {
    let Source { tenant_id, digest, agent_id, site_id } = *src;
    if !plan.connectors.is_empty() {
        let c = &plan.connectors;
        let entries: Vec<String> = c.iter().map(|c| to_json(&c.entry)).collect();
        let stmt = tx
            .prepare_cached(
                "INSERT INTO connectors (tenant_id, key, category, plugin, site_id, entry, present, first_seen, last_seen,
                                         disappeared_at, co_owner_count, context, digest)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[],
                                          $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bool[], $13::text[])
                 ON CONFLICT (tenant_id, key) DO UPDATE SET category = excluded.category, plugin = excluded.plugin,
                     site_id = excluded.site_id, entry = excluded.entry, present = excluded.present,
                     first_seen = excluded.first_seen, last_seen = excluded.last_seen, disappeared_at = excluded.disappeared_at,
                     co_owner_count = excluded.co_owner_count, context = excluded.context, digest = excluded.digest",
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
                &entries,
                &c.iter().map(|c| c.present).collect::<Vec<_>>(),
                &c.iter().map(|c| c.first_seen.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|c| c.last_seen.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|c| c.disappeared_at.as_deref()).collect::<Vec<_>>(),
                &c.iter().map(|c| c.entry.co_owners.len() as i64).collect::<Vec<_>>(),
                &c.iter().map(|c| c.entry.is_context()).collect::<Vec<_>>(),
                &entries.iter().map(|e| rows::digest(e)).collect::<Vec<_>>(),
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
        let entries: Vec<String> = f.iter().map(|f| to_json(&f.entry)).collect();
        let stmt = tx
            .prepare_cached(
                "INSERT INTO findings (tenant_id, id, check_id, connector_key, severity, plugin, site_id, status, entry,
                                       first_seen, last_seen, resolved_at, reopened_count, digest)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                          $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[],
                                          $14::text[])
                 ON CONFLICT (tenant_id, id) DO UPDATE SET check_id = excluded.check_id,
                     connector_key = excluded.connector_key, severity = excluded.severity, plugin = excluded.plugin,
                     site_id = excluded.site_id, status = excluded.status, entry = excluded.entry,
                     first_seen = excluded.first_seen, last_seen = excluded.last_seen,
                     resolved_at = excluded.resolved_at, reopened_count = excluded.reopened_count,
                     digest = excluded.digest",
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
                &entries,
                &f.iter().map(|f| f.first_seen.as_str()).collect::<Vec<_>>(),
                &f.iter().map(|f| f.last_seen.as_str()).collect::<Vec<_>>(),
                &f.iter().map(|f| f.resolved_at.as_deref()).collect::<Vec<_>>(),
                &f.iter().map(|f| i64::from(f.reopened_count)).collect::<Vec<_>>(),
                &entries.iter().map(|e| rows::digest(e)).collect::<Vec<_>>(),
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
