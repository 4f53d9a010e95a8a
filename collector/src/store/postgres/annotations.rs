//! Annotations in PostgreSQL: what staff entered per connector, written with
//! its audit entry in the same transaction.

use crate::register::annotations;
use crate::store::rows::{from_json, to_json};
use crate::store::StoreError;
use deadpool_postgres::{GenericClient, Transaction};
use plumbline_protocol::read_api::{Annotations, AnnotationsUpdate};

/// A tenant's annotations (or one connector's), by connector key.
pub(super) async fn load(
    c: &impl GenericClient,
    tenant_id: &str,
    key: Option<&str>,
) -> Result<Vec<(String, Annotations)>, StoreError> {
    load_matching(c, tenant_id, key, None).await
}

/// The annotations of the connectors `keys`, by connector key.
pub(super) async fn load_keys(
    c: &impl GenericClient,
    tenant_id: &str,
    keys: &[String],
) -> Result<Vec<(String, Annotations)>, StoreError> {
    load_matching(c, tenant_id, None, Some(keys)).await
}

async fn load_matching(
    c: &impl GenericClient,
    tenant_id: &str,
    key: Option<&str>,
    keys: Option<&[String]>,
) -> Result<Vec<(String, Annotations)>, StoreError> {
    let rows = c
        .query(
            "SELECT connector_key, purpose, owner_override, co_owner_override, review_cadence_days, last_tested,
                    client_decision, evidence_link, updated_by, updated_at, connected_system, data_sensitivity,
                    criticality, migration_status, replacement_key, last_reviewed
             FROM annotations WHERE tenant_id = $1 AND ($2::text IS NULL OR connector_key = $2)
                 AND ($3::text[] IS NULL OR connector_key = ANY($3))
             ORDER BY connector_key",
            &[&tenant_id, &key, &keys],
        )
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let co_owners: Option<String> = row.get(3);
        out.push((
            row.get(0),
            Annotations {
                purpose: row.get(1),
                owner_override: row.get(2),
                co_owner_override: co_owners.map(|c| from_json("co_owner_override", &c)).transpose()?,
                review_cadence_days: row.get::<_, Option<i64>>(4).and_then(|d| u32::try_from(d).ok()),
                last_tested: row.get(5),
                client_decision: row.get(6),
                evidence_link: row.get(7),
                updated_by: row.get(8),
                updated_at: row.get(9),
                connected_system: row.get(10),
                data_sensitivity: row.get(11),
                criticality: row.get(12),
                migration_status: row.get(13),
                replacement_key: row.get(14),
                last_reviewed: row.get(15),
            },
        ));
    }
    Ok(out)
}

/// Apply a partial update, and record before and after in the audit trail.
/// `None` when the tenant has no such connector.
pub(super) async fn update(
    tx: Transaction<'_>,
    tenant_id: &str,
    key: &str,
    update: &AnnotationsUpdate,
    by: &str,
    now: &str,
) -> Result<Option<Annotations>, StoreError> {
    // Lock the connector row: two concurrent partial updates both land.
    let found = tx
        .query_opt("SELECT 1 FROM connectors WHERE tenant_id = $1 AND key = $2 FOR NO KEY UPDATE", &[&tenant_id, &key])
        .await?;
    if found.is_none() {
        return Ok(None);
    }
    let current = load(&tx, tenant_id, Some(key)).await?.pop().map(|(_, a)| a).unwrap_or_default();
    let a = annotations::merge(current.clone(), update, by, now);
    annotations::check_merged(&current, &a)?;
    tx.execute(
        "INSERT INTO annotations (tenant_id, connector_key, purpose, owner_override, co_owner_override,
             review_cadence_days, last_tested, client_decision, evidence_link, updated_by, updated_at,
             connected_system, data_sensitivity, criticality, migration_status, replacement_key, last_reviewed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (tenant_id, connector_key) DO UPDATE SET purpose = excluded.purpose,
             owner_override = excluded.owner_override, co_owner_override = excluded.co_owner_override,
             review_cadence_days = excluded.review_cadence_days, last_tested = excluded.last_tested,
             client_decision = excluded.client_decision, evidence_link = excluded.evidence_link,
             updated_by = excluded.updated_by, updated_at = excluded.updated_at,
             connected_system = excluded.connected_system, data_sensitivity = excluded.data_sensitivity,
             criticality = excluded.criticality, migration_status = excluded.migration_status,
             replacement_key = excluded.replacement_key, last_reviewed = excluded.last_reviewed",
        &[
            &tenant_id,
            &key,
            &a.purpose,
            &a.owner_override,
            &a.co_owner_override.as_ref().map(to_json),
            &a.review_cadence_days.map(i64::from),
            &a.last_tested,
            &a.client_decision,
            &a.evidence_link,
            &a.updated_by,
            &a.updated_at,
            &a.connected_system,
            &a.data_sensitivity,
            &a.criticality,
            &a.migration_status,
            &a.replacement_key,
            &a.last_reviewed,
        ],
    )
    .await?;
    let (before, after) = annotations::audit_pair(&current, &a);
    if before != after {
        audit(&tx, tenant_id, Some(key), by, now, "annotate", Some(&before), Some(&after)).await?;
    }
    tx.commit().await?;
    Ok(Some(a))
}

/// One audit entry, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(super) async fn audit(
    tx: &Transaction<'_>,
    tenant_id: &str,
    key: Option<&str>,
    actor: &str,
    at: &str,
    action: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit (tenant_id, connector_key, actor, at, action, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&tenant_id, &key, &actor, &at, &action, &before, &after],
    )
    .await?;
    Ok(())
}
