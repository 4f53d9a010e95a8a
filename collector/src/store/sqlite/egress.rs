//! Agent egress in SQLite: recorded in the ingest transaction (and at
//! enrollment), then read with the register for the cross-check.

use super::SqliteStore;
use crate::register::{Current, Plan};
use crate::store::egress::{self as shared, EgressRecord, EgressStore};
use crate::store::{StoreError, VerifiedBatch};
use async_trait::async_trait;
use rusqlite::{params, Connection};
use std::net::IpAddr;

fn record(conn: &Connection, agent_id: &str, address: IpAddr, now: &str) -> Result<(), StoreError> {
    conn.prepare_cached(&shared::sqlite_form(shared::RECORD_SQL))?.execute(params![agent_id, address.to_string(), now])?;
    Ok(())
}

/// In the ingest transaction: record the batch's egress, then put the
/// tenant's cross-check findings into `plan`.
pub(super) fn cross_check(conn: &Connection, vb: &VerifiedBatch, current: &Current, plan: &mut Plan) -> Result<(), StoreError> {
    if let Some(address) = vb.egress {
        record(conn, &vb.batch.agent_id, address, &vb.received_at)?;
    }
    if !crate::crosscheck::relevant(current, plan) {
        return Ok(());
    }
    let tenant = &vb.batch.tenant_id;
    let mut live = conn.prepare_cached(&shared::sqlite_form(shared::LIVE_SQL))?;
    let rows = live.query_map(params![tenant], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let rows = rows.collect::<Result<Vec<_>, _>>()?;
    let complete: bool = conn.prepare_cached(&shared::sqlite_form(shared::COMPLETE_SQL))?.query_row(params![tenant], |r| r.get(0))?;
    let mut explained = conn.prepare_cached(&shared::sqlite_form(shared::EXPLAINED_SQL))?;
    let explained = explained.query_map(params![tenant], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    crate::crosscheck::extend(plan, current, tenant, &shared::inputs(rows, complete, explained)?);
    Ok(())
}

#[async_trait]
impl EgressStore for SqliteStore {
    async fn record_egress(&self, agent_id: &str, address: IpAddr, now: &str) -> Result<(), StoreError> {
        let (agent_id, now) = (agent_id.to_string(), now.to_string());
        self.with(move |conn| record(conn, &agent_id, address, &now)).await
    }

    async fn egress(&self, tenant_id: &str) -> Result<Vec<EgressRecord>, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&shared::sqlite_form(shared::LIST_SQL))?;
            let rows = stmt.query_map(params![tenant_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (agent_id, tenant_id, site_id, address, seen_at) = row?;
                out.push(EgressRecord { agent_id, tenant_id, site_id, address: shared::address(&address)?, seen_at });
            }
            Ok(out)
        })
        .await
    }
}
