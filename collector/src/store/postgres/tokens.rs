//! API and enrollment tokens on PostgreSQL: issue, look up, list, revoke, touch.

use super::{exists, PostgresStore};
use crate::store::tokens::{enroll_token_columns, minute, EnrollTokenRecord, TokenStore, TOKEN_ID_CHARS};
use crate::store::{ApiTokenRecord, NewApiToken, StoreError};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

fn api_columns() -> String {
    format!("substr(token_hash, 1, {TOKEN_ID_CHARS}), name, tenant_id, scope, created_at, expires_at, last_used_at, revoked_at")
}

fn api_row(row: &Row) -> ApiTokenRecord {
    ApiTokenRecord {
        id: row.get(0),
        name: row.get(1),
        tenant_id: row.get(2),
        scope: row.get(3),
        created_at: row.get(4),
        expires_at: row.get(5),
        last_used_at: row.get(6),
        revoked_at: row.get(7),
    }
}

pub(super) async fn create_api_token(store: &PostgresStore, t: &NewApiToken) -> Result<(), StoreError> {
    let client = store.pool.get().await?;
    if let Some(tenant) = &t.tenant_id {
        if !exists(&client, "SELECT 1 FROM tenants WHERE id = $1", &[tenant]).await? {
            return Err(StoreError::UnknownTenant(tenant.clone()));
        }
    }
    client
        .execute(
            "INSERT INTO api_tokens (token_hash, name, tenant_id, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&t.token_hash, &t.name, &t.tenant_id, &t.scope, &t.created_at, &t.expires_at],
        )
        .await?;
    Ok(())
}

pub(super) async fn api_token(store: &PostgresStore, token_hash: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
    let client = store.pool.get().await?;
    let stmt = client.prepare_cached(&format!("SELECT {} FROM api_tokens WHERE token_hash = $1", api_columns())).await?;
    Ok(client.query_opt(&stmt, &[&token_hash]).await?.map(|row| api_row(&row)))
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn api_tokens(&self) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client.query(&format!("SELECT {} FROM api_tokens ORDER BY created_at, name", api_columns()), &[]).await?;
        Ok(rows.iter().map(api_row).collect())
    }

    async fn revoke_api_token(&self, id: &str, now: &str) -> Result<bool, StoreError> {
        revoke(self, "api_tokens", id, now).await
    }

    async fn touch_api_token(&self, token_hash: &str, now: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
                &[&token_hash, &minute(now)],
            )
            .await?;
        Ok(())
    }

    async fn enroll_tokens(&self, tenant_id: Option<&str>) -> Result<Vec<EnrollTokenRecord>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {} FROM enroll_tokens WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY created_at DESC",
                    enroll_token_columns()
                ),
                &[&tenant_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| EnrollTokenRecord {
                id: row.get(0),
                tenant_id: row.get(1),
                site_id: row.get(2),
                created_at: row.get(3),
                expires_at: row.get(4),
                used_at: row.get(5),
                used_by: row.get(6),
                revoked_at: row.get(7),
                reusable: row.get(8),
                uses: row.get(9),
                last_used_at: row.get(10),
            })
            .collect())
    }

    async fn enroll_token_tenant(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let row = client.query_opt("SELECT tenant_id FROM enroll_tokens WHERE token_hash = $1", &[&token_hash]).await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn revoke_enroll_token(&self, id: &str, now: &str) -> Result<bool, StoreError> {
        revoke(self, "enroll_tokens", id, now).await
    }
}

/// Revoke the token of `table` whose public id is `id` (first revocation wins).
async fn revoke(store: &PostgresStore, table: &'static str, id: &str, now: &str) -> Result<bool, StoreError> {
    let id = id.to_ascii_lowercase();
    let client = store.pool.get().await?;
    let matching = format!("substr(token_hash, 1, {TOKEN_ID_CHARS}) = $1");
    client
        .execute(&format!("UPDATE {table} SET revoked_at = $2 WHERE {matching} AND revoked_at IS NULL"), &[&id, &now])
        .await?;
    exists(&client, &format!("SELECT 1 FROM {table} WHERE {matching}"), &[&id]).await
}
