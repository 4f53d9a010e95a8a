//! The SQLite store's unit tests' starting point: a migrated store with one
//! tenant, a single-use token for it, and an agent made from that token.

use super::SqliteStore;
use crate::store::{NewAgent, NewEnrollToken, Store};
use std::path::PathBuf;

/// The time every fixture row is made at.
pub(super) const AT: &str = "2026-01-01T00:00:00Z";

/// A migrated store in `dir` with tenant `acme`, and its file.
pub(super) async fn store_with_tenant(dir: &tempfile::TempDir) -> (SqliteStore, PathBuf) {
    let path = dir.path().join("c.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    store.add_tenant("acme", "Acme", AT).await.unwrap();
    (store, path)
}

/// A single-use token of `acme`'s site `hq`, valid until 2027, by its hash.
pub(super) async fn add_token(store: &SqliteStore, token_hash: &str) {
    let token = NewEnrollToken {
        token_hash: token_hash.into(),
        tenant_id: "acme".into(),
        site_id: "hq".into(),
        created_at: AT.into(),
        expires_at: "2027-01-01T00:00:00Z".into(),
        reusable: false,
    };
    store.create_enroll_token(token).await.unwrap();
}

/// An agent `id` asking to enroll (key `key-ID`), naming no site.
pub(super) fn agent(id: &str, enrolled_at: &str) -> NewAgent {
    NewAgent {
        id: id.into(),
        site_id: None,
        public_key: format!("key-{id}"),
        hostname: "h".into(),
        enrolled_at: enrolled_at.into(),
        replaces: None,
    }
}
