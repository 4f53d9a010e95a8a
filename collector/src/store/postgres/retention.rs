//! Retention and tenant off-boarding on PostgreSQL.

use super::PostgresStore;
use crate::store::retention::{delete_sql, Cutoffs, Pruned, RetentionStore, DELETE_TENANT_SQL, RULES, TENANT_TABLES};
use crate::store::StoreError;
use async_trait::async_trait;

#[async_trait]
impl RetentionStore for PostgresStore {
    async fn prune(&self, cutoffs: &Cutoffs, dry_run: bool) -> Result<Pruned, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut pruned = Pruned::default();
        let empty: &[u8] = &[];
        for rule in &RULES {
            let Some(cutoff) = rule.cutoff(cutoffs) else { continue };
            let sql = rule.sql(dry_run);
            let n = if dry_run {
                tx.query_one(&sql, &[&cutoff]).await?.get::<_, i64>(0).max(0) as u64
            } else if sql.contains("$2") {
                tx.execute(&sql, &[&cutoff, &empty]).await?
            } else {
                tx.execute(&sql, &[&cutoff]).await?
            };
            pruned.add(rule.kind, n);
        }
        tx.commit().await?;
        Ok(pruned)
    }

    async fn delete_tenant(&self, tenant_id: &str) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Like ingest, under the tenant's row lock: no batch of it lands half-way.
        if tx.query_opt("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE", &[&tenant_id]).await?.is_none() {
            return Err(StoreError::UnknownTenant(tenant_id.to_string()));
        }
        let mut deleted = Vec::new();
        for table in TENANT_TABLES {
            deleted.push((*table, tx.execute(&delete_sql(table), &[&tenant_id]).await?));
        }
        tx.execute(DELETE_TENANT_SQL, &[&tenant_id]).await?;
        tx.commit().await?;
        Ok(deleted)
    }
}
