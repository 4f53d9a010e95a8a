//! The PostgreSQL store over TLS, against a real server that takes only
//! `hostssl` (plumbline_tests::postgres_tls): what each `sslmode` does, and
//! what a user is told when TLS fails.

use crate::support::TestStore;
use plumbline_collector::ingest::ingest;
use plumbline_collector::store;
use plumbline_tests::postgres_tls::{tls_server, TlsPgServer, PASSWORD};
use std::path::Path;

/// The error `store::open` gives for `url`, checked not to show the password.
async fn refusal(url: &str) -> String {
    let e = match store::open(url).await {
        Ok(_) => panic!("{url} connected"),
        Err(e) => e.to_string(),
    };
    assert!(!e.contains(PASSWORD), "the password is shown: {e}");
    e
}

/// (client connections to `database`, how many are encrypted, their TLS versions), as the server sees them.
async fn encryption(server: &TlsPgServer, database: &str) -> (i64, i64, Vec<String>) {
    let (client, connection) = tokio_postgres::connect(server.admin_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl), coalesce(array_agg(DISTINCT s.version), '{}')
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
             WHERE a.datname = $1 AND a.backend_type = 'client backend'",
            &[&database],
        )
        .await
        .unwrap();
    let versions: Vec<Option<String>> = row.get(2);
    (row.get(0), row.get(1), versions.into_iter().flatten().collect())
}

fn write_ca(dir: &Path, pem: &str) -> String {
    let path = dir.join("ca.pem");
    std::fs::write(&path, pem).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_to_a_tls_only_server_is_refused_saying_which_sslmode_to_use() {
    let server = tls_server().await;
    let db = server.fresh_database().await;
    let e = refusal(&server.url("localhost", &db, "sslmode=disable")).await;
    assert!(e.contains("refuses unencrypted connections") && e.contains("sslmode=verify-full"), "{e}");
    assert!(e.contains("sslmode=require"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_encrypts_without_checking_the_certificate() {
    let server = tls_server().await;
    let db = server.fresh_database().await;
    // 127.0.0.1 is not in the certificate and the test CA is not a public one: neither is checked.
    let t = TestStore::at(server.url("127.0.0.1", &db, "sslmode=require")).await;
    t.store.ping().await.unwrap();
    let (connections, encrypted, versions) = encryption(&server, &db).await;
    assert!(connections > 0, "the store holds a connection");
    assert_eq!(encrypted, connections, "every connection of the store is encrypted");
    assert!(versions.iter().all(|v| v.starts_with("TLSv1.")), "{versions:?}");
    // The default, prefer, takes TLS when the server offers it.
    let db = server.fresh_database().await;
    let _prefer = TestStore::at(server.url("127.0.0.1", &db, "connect_timeout=10")).await;
    let (connections, encrypted, _) = encryption(&server, &db).await;
    assert!(connections > 0 && encrypted == connections, "{encrypted} of {connections} encrypted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_private_ca_runs_the_store() {
    let server = tls_server().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = write_ca(dir.path(), server.ca_pem());
    let db = server.fresh_database().await;
    let t = TestStore::at(server.url("localhost", &db, &format!("sslmode=verify-full&sslrootcert={ca}"))).await;
    assert!(!t.store.schema_versions().await.unwrap().is_empty(), "migrated over TLS");
    let agent = t.agent("contoso", "hq").await;
    let outcome = ingest(t.dyn_store(), &agent.sign(&agent.typical(1, 3))).await.unwrap();
    assert_eq!(t.store.connectors("contoso").await.unwrap().len(), 3);
    assert!(t.store.envelope("contoso", &outcome.digest).await.unwrap().is_some());
    let (connections, encrypted, _) = encryption(&server, &db).await;
    assert!(connections > 0 && encrypted == connections, "{encrypted} of {connections} encrypted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_refuses_a_host_name_the_certificate_does_not_name() {
    let server = tls_server().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = write_ca(dir.path(), server.ca_pem());
    let db = server.fresh_database().await;
    let e = refusal(&server.url("127.0.0.1", &db, &format!("sslmode=verify-full&sslrootcert={ca}"))).await;
    assert!(e.contains("not for the host 127.0.0.1") && e.contains("localhost"), "{e}");
    assert!(e.contains("sslmode=verify-ca"), "{e}");
    // verify-ca checks the chain only, so the same address connects.
    TestStore::at(server.url("127.0.0.1", &db, &format!("sslmode=verify-ca&sslrootcert={ca}"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_refuses_a_certificate_of_another_ca_naming_the_file() {
    let server = tls_server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut other = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    other.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other = other.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap();
    let wrong = write_ca(dir.path(), &other.pem());
    let db = server.fresh_database().await;
    for mode in ["verify-full", "verify-ca", "require"] {
        let e = refusal(&server.url("localhost", &db, &format!("sslmode={mode}&sslrootcert={wrong}"))).await;
        assert!(
            e.contains(&format!("not signed by the CA in sslrootcert={wrong}"))
                && e.contains("give the CA that signed it"),
            "{mode}: {e}"
        );
    }
    // Without sslrootcert only the public roots are trusted.
    let e = refusal(&server.url("localhost", &db, "sslmode=verify-full")).await;
    assert!(e.contains("not signed by a public CA") && e.contains("sslrootcert=PATH"), "{e}");
}
