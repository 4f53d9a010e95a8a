//! API and enrollment tokens on SQLite: issue, look up, list, revoke, touch.

use super::{write_tx, SqliteStore};
use crate::store::rows::token_refusal;
use crate::store::tokens::{enroll_token_columns, minute, EnrollTokenRecord, TokenStore, TOKEN_ID_CHARS};
use crate::store::{ApiTokenRecord, NewApiToken, StoreError};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row};

fn api_columns() -> String {
    format!("substr(token_hash, 1, {TOKEN_ID_CHARS}), name, tenant_id, scope, created_at, expires_at, last_used_at, revoked_at")
}

fn api_row(row: &Row<'_>) -> rusqlite::Result<ApiTokenRecord> {
    Ok(ApiTokenRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        tenant_id: row.get(2)?,
        scope: row.get(3)?,
        created_at: row.get(4)?,
        expires_at: row.get(5)?,
        last_used_at: row.get(6)?,
        revoked_at: row.get(7)?,
    })
}

pub(super) fn create_api_token(conn: &mut Connection, t: &NewApiToken) -> Result<(), StoreError> {
    let tx = write_tx(conn)?;
    if let Some(tenant) = &t.tenant_id {
        let exists: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?1)", params![tenant], |r| r.get(0))?;
        if !exists {
            return Err(StoreError::UnknownTenant(tenant.clone()));
        }
    }
    tx.execute(
        "INSERT INTO api_tokens (token_hash, name, tenant_id, scope, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![t.token_hash, t.name, t.tenant_id, t.scope, t.created_at, t.expires_at],
    )?;
    tx.commit()?;
    Ok(())
}

pub(super) fn api_token(conn: &Connection, token_hash: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {} FROM api_tokens WHERE token_hash = ?1", api_columns()))?;
    Ok(stmt.query_row(params![token_hash], api_row).optional()?)
}

/// Refuses, without the write lock, a token that cannot enroll `agent_id`
/// whatever the writer sees: unknown, revoked, expired, or used by another
/// key. A token this key already used passes, for the same answer again.
pub(super) fn refuse_early(conn: &Connection, token_hash: &str, agent_id: &str, now: &str) -> Result<(), StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT used_at IS NOT NULL, expires_at, revoked_at IS NOT NULL, used_by, reusable
             FROM enroll_tokens WHERE token_hash = ?1",
        )?
        .query_row(params![token_hash], |r| {
            let used_by: Option<String> = r.get(3)?;
            Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?, used_by, r.get::<_, bool>(4)?))
        })
        .optional()?;
    match row {
        None => Err(StoreError::TokenInvalid),
        Some((_, _, true, _, _)) => Err(StoreError::TokenRevoked),
        Some((true, _, false, Some(by), false)) if by == agent_id => Ok(()),
        Some((used, expires_at, false, _, reusable)) if (used && !reusable) || expires_at.as_str() <= now => {
            Err(token_refusal(used && !reusable, &expires_at, now))
        }
        Some(_) => Ok(()),
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn api_tokens(&self) -> Result<Vec<ApiTokenRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!("SELECT {} FROM api_tokens ORDER BY created_at, name", api_columns()))?;
            let rows = stmt.query_map([], api_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn revoke_api_token(&self, id: &str, now: &str) -> Result<bool, StoreError> {
        revoke(self, "api_tokens", id, now).await
    }

    async fn touch_api_token(&self, token_hash: &str, now: &str) -> Result<(), StoreError> {
        let (token_hash, now) = (token_hash.to_string(), minute(now).to_string());
        self.with(move |conn| {
            conn.execute(
                "UPDATE api_tokens SET last_used_at = ?2 WHERE token_hash = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
                params![token_hash, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn enroll_tokens(&self, tenant_id: Option<&str>) -> Result<Vec<EnrollTokenRecord>, StoreError> {
        let tenant_id = tenant_id.map(str::to_string);
        self.read(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {} FROM enroll_tokens WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY created_at DESC",
                enroll_token_columns()
            ))?;
            let rows = stmt.query_map(params![tenant_id], |row| {
                Ok(EnrollTokenRecord {
                    id: row.get(0)?,
                    tenant_id: row.get(1)?,
                    site_id: row.get(2)?,
                    created_at: row.get(3)?,
                    expires_at: row.get(4)?,
                    used_at: row.get(5)?,
                    used_by: row.get(6)?,
                    revoked_at: row.get(7)?,
                    reusable: row.get(8)?,
                    uses: row.get(9)?,
                    last_used_at: row.get(10)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn enroll_token_tenant(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
        let token_hash = token_hash.to_string();
        self.read(move |conn| {
            Ok(conn
                .query_row("SELECT tenant_id FROM enroll_tokens WHERE token_hash = ?1", params![token_hash], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn revoke_enroll_token(&self, id: &str, now: &str) -> Result<bool, StoreError> {
        revoke(self, "enroll_tokens", id, now).await
    }
}

/// Revoke the token of `table` whose public id is `id` (first revocation wins).
async fn revoke(store: &SqliteStore, table: &'static str, id: &str, now: &str) -> Result<bool, StoreError> {
    let (id, now) = (id.to_ascii_lowercase(), now.to_string());
    store
        .with(move |conn| {
            let tx = write_tx(conn)?;
            let matching = format!("substr(token_hash, 1, {TOKEN_ID_CHARS}) = ?1");
            tx.execute(&format!("UPDATE {table} SET revoked_at = ?2 WHERE {matching} AND revoked_at IS NULL"), params![id, now])?;
            let exists: bool =
                tx.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE {matching})"), params![id], |r| r.get(0))?;
            tx.commit()?;
            Ok(exists)
        })
        .await
}
