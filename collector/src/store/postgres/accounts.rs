//! Users and sessions in PostgreSQL.

use super::PostgresStore;
use crate::store::accounts::{AccountStore, NewSession, NewUser, SessionRecord, UserRecord};
use crate::store::StoreError;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

const USER_COLUMNS: &str = "id, email, role, password_hash, created_at, disabled_at";

fn user_row(row: &Row) -> UserRecord {
    UserRecord {
        id: row.get(0),
        email: row.get(1),
        role: row.get(2),
        password_hash: row.get(3),
        created_at: row.get(4),
        disabled_at: row.get(5),
        tenants: Vec::new(),
    }
}

async fn with_tenants(c: &impl GenericClient, mut user: UserRecord) -> Result<UserRecord, StoreError> {
    let rows = c.query("SELECT tenant_id FROM user_tenants WHERE user_id = $1 ORDER BY tenant_id", &[&user.id]).await?;
    user.tenants = rows.iter().map(|r| r.get(0)).collect();
    Ok(user)
}

async fn find_by_email(c: &impl GenericClient, email: &str) -> Result<Option<UserRecord>, StoreError> {
    match c.query_opt(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"), &[&email]).await? {
        Some(row) => Ok(Some(with_tenants(c, user_row(&row)).await?)),
        None => Ok(None),
    }
}

#[async_trait]
impl AccountStore for PostgresStore {
    async fn add_user(&self, user: NewUser) -> Result<UserRecord, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if tx.query_opt("SELECT 1 FROM users WHERE email = $1", &[&user.email]).await?.is_some() {
            return Err(StoreError::UserExists(user.email));
        }
        for t in &user.tenants {
            if tx.query_opt("SELECT 1 FROM tenants WHERE id = $1", &[t]).await?.is_none() {
                return Err(StoreError::UnknownTenant(t.clone()));
            }
        }
        let id: i64 = tx
            .query_one(
                "INSERT INTO users (email, role, password_hash, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (email) DO NOTHING RETURNING id",
                &[&user.email, &user.role, &user.password_hash, &user.created_at],
            )
            .await
            .map_err(|_| StoreError::UserExists(user.email.clone()))?
            .get(0);
        for t in &user.tenants {
            tx.execute("INSERT INTO user_tenants (user_id, tenant_id) VALUES ($1, $2)", &[&id, t]).await?;
        }
        let record =
            find_by_email(&tx, &user.email).await?.ok_or_else(|| StoreError::Backend("the new user vanished".into()))?;
        tx.commit().await?;
        Ok(record)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let client = self.pool.get().await?;
        find_by_email(&client, email).await
    }

    async fn user(&self, id: i64) -> Result<Option<UserRecord>, StoreError> {
        let client = self.pool.get().await?;
        match client.query_opt(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"), &[&id]).await? {
            Some(row) => Ok(Some(with_tenants(&client, user_row(&row)).await?)),
            None => Ok(None),
        }
    }

    async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let client = self.pool.get().await?;
        let mut out = Vec::new();
        for row in client.query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY email"), &[]).await? {
            out.push(with_tenants(&client, user_row(&row)).await?);
        }
        Ok(out)
    }

    async fn disable_user(&self, email: &str, now: &str) -> Result<bool, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute("UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE email = $1", &[&email, &now])
            .await?;
        tx.execute("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email = $1)", &[&email]).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn set_password(&self, email: &str, password_hash: &str) -> Result<bool, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx.execute("UPDATE users SET password_hash = $2 WHERE email = $1", &[&email, &password_hash]).await?;
        tx.execute("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email = $1)", &[&email]).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn create_session(&self, s: NewSession) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)",
                &[&s.token_hash, &s.user_id, &s.csrf_token, &s.created_at],
            )
            .await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT user_id, csrf_token, created_at, last_seen_at FROM sessions WHERE token_hash = $1",
                &[&token_hash],
            )
            .await?;
        Ok(row.map(|r| SessionRecord {
            user_id: r.get(0),
            csrf_token: r.get(1),
            created_at: r.get(2),
            last_seen_at: r.get(3),
        }))
    }

    async fn touch_session(&self, token_hash: &str, now: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.execute("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1", &[&token_hash, &now]).await?;
        Ok(())
    }

    async fn signin_failures(&self, keys: &[String], window_start: &str) -> Result<Vec<(String, u32, String)>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT key, failures, since FROM signin_failures WHERE key = ANY($1) AND since >= $2 ORDER BY key",
                &[&keys, &window_start],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), u32::try_from(r.get::<_, i64>(1)).unwrap_or(u32::MAX), r.get(2))).collect())
    }

    async fn add_signin_failure(&self, keys: &[String], now: &str, window_start: &str) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM signin_failures WHERE since < $1", &[&window_start]).await?;
        for key in keys {
            tx.execute(
                "INSERT INTO signin_failures (key, failures, since) VALUES ($1, 1, $2)
                 ON CONFLICT (key) DO UPDATE SET
                     failures = CASE WHEN signin_failures.since < $3 THEN 1 ELSE signin_failures.failures + 1 END,
                     since = CASE WHEN signin_failures.since < $3 THEN excluded.since ELSE signin_failures.since END",
                &[key, &now, &window_start],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn clear_signin_failures(&self, key: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.execute("DELETE FROM signin_failures WHERE key = $1", &[&key]).await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash]).await?;
        Ok(())
    }
}
