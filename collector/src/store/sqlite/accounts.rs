//! Users and sessions in SQLite.

use super::{write_tx, SqliteStore};
use crate::store::accounts::{AccountStore, NewSession, NewUser, SessionRecord, UserRecord};
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row};

const USER_COLUMNS: &str = "id, email, role, password_hash, created_at, disabled_at";

fn user_row(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: row.get(0)?,
        email: row.get(1)?,
        role: row.get(2)?,
        password_hash: row.get(3)?,
        created_at: row.get(4)?,
        disabled_at: row.get(5)?,
        tenants: Vec::new(),
    })
}

fn with_tenants(conn: &Connection, mut user: UserRecord) -> Result<UserRecord, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT tenant_id FROM user_tenants WHERE user_id = ?1 ORDER BY tenant_id")?;
    user.tenants = stmt.query_map(params![user.id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(user)
}

fn find(conn: &Connection, condition: &str, value: &dyn rusqlite::ToSql) -> Result<Option<UserRecord>, StoreError> {
    let user = conn
        .query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE {condition}"), [value], user_row)
        .optional()?;
    user.map(|u| with_tenants(conn, u)).transpose()
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn add_user(&self, user: NewUser) -> Result<UserRecord, StoreError> {
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            let taken: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM users WHERE email = ?1)", params![user.email], |r| r.get(0))?;
            if taken {
                return Err(StoreError::UserExists(user.email));
            }
            for t in &user.tenants {
                let known: bool =
                    tx.query_row("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?1)", params![t], |r| r.get(0))?;
                if !known {
                    return Err(StoreError::UnknownTenant(t.clone()));
                }
            }
            tx.execute(
                "INSERT INTO users (email, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![user.email, user.role, user.password_hash, user.created_at],
            )?;
            let id = tx.last_insert_rowid();
            for t in &user.tenants {
                tx.execute("INSERT INTO user_tenants (user_id, tenant_id) VALUES (?1, ?2)", params![id, t])?;
            }
            let record = find(&tx, "id = ?1", &id)?.ok_or_else(|| StoreError::Backend("the new user vanished".into()))?;
            tx.commit()?;
            Ok(record)
        })
        .await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let email = email.to_string();
        self.read(move |conn| find(conn, "email = ?1", &email)).await
    }

    async fn user(&self, id: i64) -> Result<Option<UserRecord>, StoreError> {
        self.read(move |conn| find(conn, "id = ?1", &id)).await
    }

    async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY email"))?;
            let users: Vec<UserRecord> = stmt.query_map([], user_row)?.collect::<Result<_, _>>()?;
            users.into_iter().map(|u| with_tenants(conn, u)).collect()
        })
        .await
    }

    async fn disable_user(&self, email: &str, now: &str) -> Result<bool, StoreError> {
        let (email, now) = (email.to_string(), now.to_string());
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            let n = tx.execute(
                "UPDATE users SET disabled_at = COALESCE(disabled_at, ?2) WHERE email = ?1",
                params![email, now],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email = ?1)", params![email])?;
            tx.commit()?;
            Ok(n > 0)
        })
        .await
    }

    async fn set_password(&self, email: &str, password_hash: &str) -> Result<bool, StoreError> {
        let (email, hash) = (email.to_string(), password_hash.to_string());
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            let n = tx.execute("UPDATE users SET password_hash = ?2 WHERE email = ?1", params![email, hash])?;
            tx.execute("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email = ?1)", params![email])?;
            tx.commit()?;
            Ok(n > 0)
        })
        .await
    }

    async fn create_session(&self, s: NewSession) -> Result<(), StoreError> {
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![s.token_hash, s.user_id, s.csrf_token, s.created_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let token_hash = token_hash.to_string();
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT user_id, csrf_token, created_at, last_seen_at FROM sessions WHERE token_hash = ?1",
                    params![token_hash],
                    |r| {
                        Ok(SessionRecord {
                            user_id: r.get(0)?,
                            csrf_token: r.get(1)?,
                            created_at: r.get(2)?,
                            last_seen_at: r.get(3)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    async fn touch_session(&self, token_hash: &str, now: &str) -> Result<(), StoreError> {
        let (token_hash, now) = (token_hash.to_string(), now.to_string());
        self.with(move |conn| {
            conn.execute("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1", params![token_hash, now])?;
            Ok(())
        })
        .await
    }

    async fn signin_failures(&self, keys: &[String], window_start: &str) -> Result<Vec<(String, u32, String)>, StoreError> {
        let (keys, start) = (keys.to_vec(), window_start.to_string());
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT failures, since FROM signin_failures WHERE key = ?1 AND since >= ?2")?;
            let mut out = Vec::new();
            for key in keys {
                let row: Option<(i64, String)> = stmt.query_row(params![key, start], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
                out.extend(row.map(|(n, since)| (key, u32::try_from(n).unwrap_or(u32::MAX), since)));
            }
            Ok(out)
        })
        .await
    }

    async fn add_signin_failure(&self, keys: &[String], now: &str, window_start: &str) -> Result<(), StoreError> {
        let (keys, now, start) = (keys.to_vec(), now.to_string(), window_start.to_string());
        self.with(move |conn| {
            let tx = write_tx(conn)?;
            tx.execute("DELETE FROM signin_failures WHERE since < ?1", params![start])?;
            for key in keys {
                tx.execute(
                    "INSERT INTO signin_failures (key, failures, since) VALUES (?1, 1, ?2)
                     ON CONFLICT (key) DO UPDATE SET
                         failures = CASE WHEN signin_failures.since < ?3 THEN 1 ELSE signin_failures.failures + 1 END,
                         since = CASE WHEN signin_failures.since < ?3 THEN excluded.since ELSE signin_failures.since END",
                    params![key, now, start],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn clear_signin_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.with(move |conn| {
            conn.execute("DELETE FROM signin_failures WHERE key = ?1", params![key])?;
            Ok(())
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let token_hash = token_hash.to_string();
        self.with(move |conn| {
            conn.execute("DELETE FROM sessions WHERE token_hash = ?1", params![token_hash])?;
            Ok(())
        })
        .await
    }
}
