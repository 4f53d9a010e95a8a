//! Policy serials on SQLite.

use super::{write_tx, SqliteStore};
use crate::store::egress::sqlite_form;
use crate::store::policy::{PolicyStore, POLICY_EDIT_SQL, SERIAL_SQL};
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl PolicyStore for SqliteStore {
    async fn policy_serial(&self, tenant_id: &str, content_sha256: &str, now: &str) -> Result<u64, StoreError> {
        let (tenant_id, digest, now) = (tenant_id.to_string(), content_sha256.to_string(), now.to_string());
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            let serial: i64 = tx.query_row(&sqlite_form(SERIAL_SQL), params![tenant_id, digest, now], |r| r.get(0))?;
            tx.commit()?;
            Ok(serial.max(0) as u64)
        })
        .await
    }

    async fn record_policy_edit(
        &self,
        tenant_id: &str,
        actor: &str,
        at: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Result<(), StoreError> {
        let (tenant_id, actor, at) = (tenant_id.to_string(), actor.to_string(), at.to_string());
        let (before, after) = (before.map(str::to_string), after.map(str::to_string));
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            tx.execute(&sqlite_form(POLICY_EDIT_SQL), params![tenant_id, actor, at, before, after])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
