//! Agent egress in PostgreSQL: recorded in the ingest transaction (and at
//! enrollment), then read with the register for the cross-check.

use super::PostgresStore;
use crate::register::{Current, Plan};
use crate::store::egress::{self as shared, EgressRecord, EgressStore};
use crate::store::{StoreError, VerifiedBatch};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use std::net::IpAddr;

async fn record(c: &impl GenericClient, agent_id: &str, address: IpAddr, now: &str) -> Result<(), StoreError> {
    let stmt = c.prepare_cached(shared::RECORD_SQL).await?;
    c.execute(&stmt, &[&agent_id, &address.to_string(), &now]).await?;
    Ok(())
}

/// In the ingest transaction: record the batch's egress, then put the
/// tenant's cross-check findings into `plan`.
pub(super) async fn cross_check(
    tx: &impl GenericClient,
    vb: &VerifiedBatch,
    current: &Current,
    plan: &mut Plan,
) -> Result<(), StoreError> {
    if let Some(address) = vb.egress {
        record(tx, &vb.batch.agent_id, address, &vb.received_at).await?;
    }
    if !crate::crosscheck::relevant(current, plan) {
        return Ok(());
    }
    let tenant = &vb.batch.tenant_id;
    let live = tx.prepare_cached(shared::LIVE_SQL).await?;
    let rows = tx.query(&live, &[tenant]).await?.iter().map(|r| (r.get(0), r.get(1))).collect();
    let complete = tx.prepare_cached(shared::COMPLETE_SQL).await?;
    let complete: bool = tx.query_one(&complete, &[tenant]).await?.get(0);
    let explained = tx.prepare_cached(shared::EXPLAINED_SQL).await?;
    let explained = tx.query(&explained, &[tenant]).await?.iter().map(|r| r.get(0)).collect();
    crate::crosscheck::extend(plan, current, tenant, &shared::inputs(rows, complete, explained)?);
    Ok(())
}

#[async_trait]
impl EgressStore for PostgresStore {
    async fn record_egress(&self, agent_id: &str, address: IpAddr, now: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        record(&client, agent_id, address, now).await
    }

    async fn egress(&self, tenant_id: &str) -> Result<Vec<EgressRecord>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(shared::LIST_SQL).await?;
        client
            .query(&stmt, &[&tenant_id])
            .await?
            .iter()
            .map(|r| {
                Ok(EgressRecord {
                    agent_id: r.get(0),
                    tenant_id: r.get(1),
                    site_id: r.get(2),
                    address: shared::address(r.get(3))?,
                    seen_at: r.get(4),
                })
            })
            .collect()
    }
}
