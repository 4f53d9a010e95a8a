//! The SIEM feed in SQLite. Every write transaction starts with `BEGIN
//! IMMEDIATE`, so writers are serialised and AUTOINCREMENT ids are handed
//! out in commit order already.

use super::{write_tx, SqliteStore};
use crate::store::events::{change, expired_at, EventStore, FindingEventRecord};
use crate::store::rows::{from_json, to_json};
use crate::store::StoreError;
use async_trait::async_trait;
use plumbline_protocol::ocsf::Change;
use plumbline_protocol::read_api::FindingRecord;
use rusqlite::{params, Connection, Row};

const COLUMNS: &str = "tenant_id, finding_id, connector_key, kind, at, accepted_until, status, site_id, entry, first_seen,
     last_seen, resolved_at, reopened_count";

/// The finding's row copied as the event's, in the same transaction.
const FROM_FINDING: &str = "status, site_id, entry, first_seen, last_seen, resolved_at, reopened_count FROM findings
     WHERE tenant_id = ?1 AND id = ?2 AND status <> 'resolved'";

/// Ingest's events, in the ingest transaction. An acceptance still held
/// today marks the event suppressed.
pub(super) fn append(conn: &Connection, tenant_id: &str, at: &str, events: &[(Change, &FindingRecord)]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let today = crate::timestamp::today();
    let mut insert = conn.prepare_cached(&format!(
        "INSERT INTO finding_events ({COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, (SELECT expires_on FROM risk_acceptances
                                      WHERE tenant_id = ?1 AND finding_id = ?2 AND expires_on >= ?6),
                 ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))?;
    for (change, f) in events {
        insert.execute(params![
            tenant_id,
            f.entry.id,
            f.entry.connector_key,
            change.as_str(),
            at,
            today,
            f.status,
            f.site_id,
            to_json(&f.entry),
            f.first_seen,
            f.last_seen,
            f.resolved_at,
            i64::from(f.reopened_count)
        ])?;
    }
    Ok(())
}

/// A risk accepted (anew), in `accept_risk`'s transaction: its event, and
/// its expiry to be announced again. One that ran out already (a date in
/// the past) suppresses nothing and has no expiry left to announce.
pub(super) fn accepted(conn: &Connection, tenant_id: &str, finding_id: &str, at: &str, until: &str) -> Result<(), StoreError> {
    let live = until >= crate::timestamp::today().as_str();
    conn.execute(
        "UPDATE risk_acceptances SET expiry_announced = ?3 WHERE tenant_id = ?1 AND finding_id = ?2",
        params![tenant_id, finding_id, !live],
    )?;
    conn.execute(
        &format!("INSERT INTO finding_events ({COLUMNS}) SELECT ?1, ?2, connector_key, 'accepted', ?3, ?4, {FROM_FINDING}"),
        params![tenant_id, finding_id, at, live.then_some(until)],
    )?;
    Ok(())
}

/// Acceptances that ran out before `today`, each announced once: an event
/// for a finding still open, none for one resolved meanwhile.
fn announce_expiries(conn: &mut Connection, today: &str) -> Result<(), StoreError> {
    let due: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM risk_acceptances WHERE expires_on < ?1 AND NOT expiry_announced)",
        params![today],
        |r| r.get(0),
    )?;
    if !due {
        return Ok(());
    }
    let tx = write_tx(conn)?;
    let expired: Vec<(String, String, String)> = tx
        .prepare(
            "SELECT tenant_id, finding_id, expires_on FROM risk_acceptances WHERE expires_on < ?1 AND NOT expiry_announced
             ORDER BY expires_on, tenant_id, finding_id",
        )?
        .query_map(params![today], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (tenant_id, finding_id, expires_on) in expired {
        let at = expired_at(&expires_on).unwrap_or_else(crate::timestamp::now);
        tx.execute(
            &format!(
                "INSERT INTO finding_events ({COLUMNS})
                 SELECT ?1, ?2, connector_key, 'acceptance-expired', ?3, NULL, {FROM_FINDING}"
            ),
            params![tenant_id, finding_id, at],
        )?;
        tx.execute(
            "UPDATE risk_acceptances SET expiry_announced = 1 WHERE tenant_id = ?1 AND finding_id = ?2",
            params![tenant_id, finding_id],
        )?;
    }
    tx.commit()?;
    Ok(())
}

type EventRow = (i64, String, String, String, String, Option<String>, String, String, String, String, String, Option<String>, i64, Option<String>);

fn event_row(r: &Row<'_>) -> rusqlite::Result<EventRow> {
    Ok((
        r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?,
        r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?,
    ))
}

fn record(row: EventRow) -> Result<FindingEventRecord, StoreError> {
    let (id, tenant_id, tenant_name, kind, at, accepted_until, entry, status, site_id, first_seen, last_seen, resolved_at, reopened, connector) =
        row;
    Ok(FindingEventRecord {
        id,
        tenant_id,
        tenant_name,
        change: change(&kind)?,
        at,
        accepted_until,
        finding: FindingRecord {
            entry: from_json("finding event entry", &entry)?,
            status,
            site_id,
            first_seen,
            last_seen,
            resolved_at,
            reopened_count: u32::try_from(reopened).unwrap_or(u32::MAX),
        },
        connector: connector.map(|c| from_json("connector entry", &c)).transpose()?,
    })
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn finding_events(
        &self,
        tenant_ids: Option<&[String]>,
        after: i64,
        limit: u32,
        today: &str,
    ) -> Result<Vec<FindingEventRecord>, StoreError> {
        let tenants = tenant_ids.map(to_json);
        let today = today.to_string();
        self.with(move |conn| {
            announce_expiries(conn, &today)?;
            let mut stmt = conn.prepare_cached(
                "SELECT e.id, e.tenant_id, t.name, e.kind, e.at, e.accepted_until, e.entry, e.status, e.site_id, e.first_seen,
                        e.last_seen, e.resolved_at, e.reopened_count, c.entry
                 FROM finding_events e JOIN tenants t ON t.id = e.tenant_id
                 LEFT JOIN connectors c ON c.tenant_id = e.tenant_id AND c.key = e.connector_key
                 WHERE e.id > ?1 AND (?2 IS NULL OR e.tenant_id IN (SELECT value FROM json_each(?2)))
                 ORDER BY e.id LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![after, tenants, i64::from(limit)], event_row)?;
            rows.map(|r| record(r?)).collect()
        })
        .await
    }
}
