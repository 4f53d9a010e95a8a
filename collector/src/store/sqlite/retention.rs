//! Retention and tenant off-boarding on SQLite.

use super::{write_tx, SqliteStore};
use crate::store::egress::sqlite_form;
use crate::store::retention::{delete_sql, Cutoffs, Pruned, RetentionStore, DELETE_TENANT_SQL, RULES, TENANT_TABLES};
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn prune(&self, cutoffs: &Cutoffs, dry_run: bool) -> Result<Pruned, StoreError> {
        let cutoffs = cutoffs.clone();
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            let mut pruned = Pruned::default();
            for rule in &RULES {
                let Some(cutoff) = rule.cutoff(&cutoffs) else { continue };
                let sql = sqlite_form(&rule.sql(dry_run));
                let n = if dry_run {
                    tx.query_row(&sql, params![cutoff], |r| r.get::<_, i64>(0))?.max(0) as u64
                } else if sql.contains("?2") {
                    tx.execute(&sql, params![cutoff, Vec::<u8>::new()])? as u64
                } else {
                    tx.execute(&sql, params![cutoff])? as u64
                };
                pruned.add(rule.kind, n);
            }
            tx.commit()?;
            Ok(pruned)
        })
        .await
    }

    async fn delete_tenant(&self, tenant_id: &str) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            let mut deleted = Vec::new();
            for table in TENANT_TABLES {
                deleted.push((*table, tx.execute(&sqlite_form(&delete_sql(table)), params![tenant_id])? as u64));
            }
            if tx.execute(&sqlite_form(DELETE_TENANT_SQL), params![tenant_id])? == 0 {
                return Err(StoreError::UnknownTenant(tenant_id));
            }
            tx.commit()?;
            Ok(deleted)
        })
        .await
    }
}
