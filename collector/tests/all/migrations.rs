//! Schema migrations: applied once, idempotent, safe when collectors start at once.

use crate::support::Backend;
use plumbline_collector::store::{self, migrations::MIGRATIONS};

async fn migrations_are_idempotent(backend: Backend) {
    let t = backend.store().await;
    let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(t.store.schema_versions().await.unwrap(), all);
    assert_eq!(t.store.migrate().await.unwrap(), 0, "a second run applies nothing");
    let again = store::open(&t.url).await.unwrap();
    assert_eq!(again.migrate().await.unwrap(), 0);
    assert_eq!(again.schema_versions().await.unwrap(), all);
}

async fn collectors_starting_at_once_migrate_once(backend: Backend) {
    let (url, _dir) = backend.fresh_url().await;
    let opens = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { store::open(&url).await.map(|s| s.backend()) })
    });
    for opened in futures::future::join_all(opens).await {
        opened.unwrap().unwrap();
    }
    let s = store::open(&url).await.unwrap();
    let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(s.schema_versions().await.unwrap(), all);
}

crate::both_backends!(migrations_are_idempotent, collectors_starting_at_once_migrate_once);

#[tokio::test]
async fn unknown_database_urls_are_refused() {
    let e = store::open("mysql://x").await.err().expect("refused");
    assert!(e.to_string().contains("sqlite:PATH or postgres://"), "{e}");
}
