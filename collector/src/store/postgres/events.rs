//! The SIEM feed in PostgreSQL. An identity column alone would not do: two
//! transactions can take ids 10 and 11 and commit 11 first, and a poller
//! that read 11 would never see 10. So every writer of events takes one
//! transaction-scoped advisory lock before it takes an id, and keeps it
//! until its commit is visible: ids are handed out in commit order. The
//! lock is taken after the row locks a writer needs (a tenant's, a
//! finding's) and before `risk_acceptances` rows, the same order in every
//! writer, so it adds no deadlock; it is taken only when there is an event.

use super::PostgresStore;
use crate::store::events::{change, expired_at, EventStore, FindingEventRecord};
use crate::store::rows::{from_json, to_json};
use crate::store::StoreError;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use plumbline_protocol::ocsf::Change;
use plumbline_protocol::read_api::FindingRecord;

/// The advisory lock that orders event ids (`plumbevt` in ASCII).
pub const EVENTS_LOCK_KEY: i64 = 0x706c_756d_6265_7674;

const COLUMNS: &str = "tenant_id, finding_id, connector_key, kind, at, accepted_until, status, site_id, entry, first_seen,
     last_seen, resolved_at, reopened_count";

/// The finding's row copied as the event's, in the same transaction.
const FROM_FINDING: &str = "status, site_id, entry, first_seen, last_seen, resolved_at, reopened_count FROM findings
     WHERE tenant_id = $1 AND id = $2 AND status <> 'resolved'";

/// Take the lock that orders event ids, until the transaction ends.
pub(super) async fn lock(tx: &impl GenericClient) -> Result<(), StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENTS_LOCK_KEY]).await?;
    Ok(())
}

/// Ingest's events, in the ingest transaction, with one statement. An
/// acceptance still held today marks the event suppressed.
pub(super) async fn append(
    tx: &impl GenericClient,
    tenant_id: &str,
    at: &str,
    events: &[(Change, &FindingRecord)],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    lock(tx).await?;
    let today = crate::timestamp::today();
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO finding_events ({COLUMNS})
             SELECT $1, u.id, u.key, u.kind, $2,
                    (SELECT r.expires_on FROM risk_acceptances r
                     WHERE r.tenant_id = $1 AND r.finding_id = u.id AND r.expires_on >= $3),
                    u.status, u.site, u.entry, u.first_seen, u.last_seen, u.resolved_at, u.reopened
             FROM UNNEST($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                         $12::text[], $13::bigint[])
                  WITH ORDINALITY AS u (id, key, kind, status, site, entry, first_seen, last_seen, resolved_at, reopened, n)
             ORDER BY u.n"
        ))
        .await?;
    let f: Vec<&FindingRecord> = events.iter().map(|(_, f)| *f).collect();
    tx.execute(
        &stmt,
        &[
            &tenant_id,
            &at,
            &today,
            &f.iter().map(|f| f.entry.id.as_str()).collect::<Vec<_>>(),
            &f.iter().map(|f| f.entry.connector_key.as_str()).collect::<Vec<_>>(),
            &events.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
            &f.iter().map(|f| f.status.as_str()).collect::<Vec<_>>(),
            &f.iter().map(|f| f.site_id.as_str()).collect::<Vec<_>>(),
            &f.iter().map(|f| to_json(&f.entry)).collect::<Vec<_>>(),
            &f.iter().map(|f| f.first_seen.as_str()).collect::<Vec<_>>(),
            &f.iter().map(|f| f.last_seen.as_str()).collect::<Vec<_>>(),
            &f.iter().map(|f| f.resolved_at.as_deref()).collect::<Vec<_>>(),
            &f.iter().map(|f| i64::from(f.reopened_count)).collect::<Vec<_>>(),
        ],
    )
    .await?;
    Ok(())
}

/// A risk accepted (anew), in `accept_risk`'s transaction after [`lock`]:
/// its event, and its expiry to be announced again. One that ran out
/// already (a date in the past) suppresses nothing and has no expiry left
/// to announce.
pub(super) async fn accepted(
    tx: &impl GenericClient,
    tenant_id: &str,
    finding_id: &str,
    at: &str,
    until: &str,
) -> Result<(), StoreError> {
    let live = until >= crate::timestamp::today().as_str();
    tx.execute(
        "UPDATE risk_acceptances SET expiry_announced = $3 WHERE tenant_id = $1 AND finding_id = $2",
        &[&tenant_id, &finding_id, &!live],
    )
    .await?;
    tx.execute(
        &format!("INSERT INTO finding_events ({COLUMNS}) SELECT $1, $2, connector_key, 'accepted', $3, $4, {FROM_FINDING}"),
        &[&tenant_id, &finding_id, &at, &live.then_some(until)],
    )
    .await?;
    Ok(())
}

/// Acceptances that ran out before `today`, each announced once: an event
/// for a finding still open, none for one resolved meanwhile.
async fn announce_expiries(store: &PostgresStore, today: &str) -> Result<(), StoreError> {
    let mut client = store.pool.get().await?;
    let due: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM risk_acceptances WHERE expires_on < $1 AND NOT expiry_announced)",
            &[&today],
        )
        .await?
        .get(0);
    if !due {
        return Ok(());
    }
    let tx = client.transaction().await?;
    lock(&tx).await?;
    // Read again under the lock: another replica may have announced them.
    let expired = tx
        .query(
            "SELECT tenant_id, finding_id, expires_on FROM risk_acceptances WHERE expires_on < $1 AND NOT expiry_announced
             ORDER BY expires_on, tenant_id, finding_id",
            &[&today],
        )
        .await?;
    for row in expired {
        let (tenant_id, finding_id, expires_on): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let at = expired_at(&expires_on).unwrap_or_else(crate::timestamp::now);
        tx.execute(
            &format!(
                "INSERT INTO finding_events ({COLUMNS})
                 SELECT $1, $2, connector_key, 'acceptance-expired', $3, NULL, {FROM_FINDING}"
            ),
            &[&tenant_id, &finding_id, &at],
        )
        .await?;
        tx.execute(
            "UPDATE risk_acceptances SET expiry_announced = TRUE WHERE tenant_id = $1 AND finding_id = $2",
            &[&tenant_id, &finding_id],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn finding_events(
        &self,
        tenant_ids: Option<&[String]>,
        after: i64,
        limit: u32,
        today: &str,
    ) -> Result<Vec<FindingEventRecord>, StoreError> {
        announce_expiries(self, today).await?;
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT e.id, e.tenant_id, t.name, e.kind, e.at, e.accepted_until, e.entry, e.status, e.site_id, e.first_seen,
                        e.last_seen, e.resolved_at, e.reopened_count, c.entry
                 FROM finding_events e JOIN tenants t ON t.id = e.tenant_id
                 LEFT JOIN connectors c ON c.tenant_id = e.tenant_id AND c.key = e.connector_key
                 WHERE e.id > $1 AND ($2::text[] IS NULL OR e.tenant_id = ANY($2::text[]))
                 ORDER BY e.id LIMIT $3",
            )
            .await?;
        let tenants: Option<Vec<&str>> = tenant_ids.map(|ids| ids.iter().map(String::as_str).collect());
        let rows = client.query(&stmt, &[&after, &tenants, &i64::from(limit)]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: String = row.get(3);
            let entry: String = row.get(6);
            let connector: Option<String> = row.get(13);
            out.push(FindingEventRecord {
                id: row.get(0),
                tenant_id: row.get(1),
                tenant_name: row.get(2),
                change: change(&kind)?,
                at: row.get(4),
                accepted_until: row.get(5),
                finding: FindingRecord {
                    entry: from_json("finding event entry", &entry)?,
                    status: row.get(7),
                    site_id: row.get(8),
                    first_seen: row.get(9),
                    last_seen: row.get(10),
                    resolved_at: row.get(11),
                    reopened_count: u32::try_from(row.get::<_, i64>(12)).unwrap_or(u32::MAX),
                },
                connector: connector.map(|c| from_json("connector entry", &c)).transpose()?,
            });
        }
        Ok(out)
    }
}
