//! Policy serials on PostgreSQL.

use super::PostgresStore;
use crate::store::policy::{PolicyStore, POLICY_EDIT_SQL, SERIAL_SQL};
use crate::store::StoreError;
use async_trait::async_trait;

#[async_trait]
impl PolicyStore for PostgresStore {
    async fn policy_serial(&self, tenant_id: &str, content_sha256: &str, now: &str) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        let row = client.query_one(SERIAL_SQL, &[&tenant_id, &content_sha256, &now]).await?;
        Ok(row.get::<_, i64>(0).max(0) as u64)
    }

    async fn record_policy_edit(
        &self,
        tenant_id: &str,
        actor: &str,
        at: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.execute(POLICY_EDIT_SQL, &[&tenant_id, &actor, &at, &before, &after]).await?;
        Ok(())
    }
}
