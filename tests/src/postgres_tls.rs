//! A real PostgreSQL that takes only TLS, for the collector's `sslmode`
//! tests: `ssl = on` with a server certificate for `localhost` (an
//! end-entity certificate signed by a test CA made here with rcgen), and a
//! `pg_hba.conf` that allows TCP only as `hostssl` with a SCRAM password
//! (`hostnossl ... reject`), so a plaintext client is refused and the
//! channel binding is used. Administration goes over the unix socket.
//!
//! Always a cluster of its own (even with `PLUMBLINE_TEST_PG_URL` set), one
//! per test binary, started on first use like [`crate::postgres::server`].

use crate::postgres::{create_database, start_cluster, Setup};
use std::sync::OnceLock;

/// The password of `postgres` over TCP.
pub const PASSWORD: &str = "tls-test-secret";

/// The TLS-only server.
#[derive(Debug, Clone)]
pub struct TlsPgServer {
    admin_url: String,
    port: u16,
    ca_pem: String,
}

/// The server, started on first use (once per process).
pub async fn tls_server() -> TlsPgServer {
    static SERVER: OnceLock<Result<TlsPgServer, String>> = OnceLock::new();
    let started = tokio::task::spawn_blocking(|| SERVER.get_or_init(start).clone())
        .await
        .expect("starting the TLS PostgreSQL panicked");
    let server = started.unwrap_or_else(|message| panic!("{message}"));
    static PASSWORD_SET: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    PASSWORD_SET
        .get_or_init(|| async {
            let (client, connection) = tokio_postgres::connect(&server.admin_url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("connecting to the TLS test PostgreSQL's socket: {e}"));
            let task = tokio::spawn(connection);
            client
                .batch_execute(&format!("ALTER USER postgres PASSWORD '{PASSWORD}'"))
                .await
                .unwrap_or_else(|e| panic!("setting the password: {e}"));
            drop(client);
            let _ = task.await;
        })
        .await;
    server
}

impl TlsPgServer {
    /// A superuser URL over the unix socket (no TLS there), for checks.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The test CA that signed the server's certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A new, empty database; its name.
    pub async fn fresh_database(&self) -> String {
        create_database(&self.admin_url).await
    }

    /// A TCP URL as `postgres` with its password to `database` on `host`
    /// (`localhost` is the name in the certificate; `127.0.0.1` is not),
    /// with `params` (`sslmode=...`) as the query.
    pub fn url(&self, host: &str, database: &str, params: &str) -> String {
        format!("postgres://postgres:{PASSWORD}@{host}:{}/{database}?{params}", self.port)
    }
}

fn start() -> Result<TlsPgServer, String> {
    let (ca_pem, cert_pem, key_pem) = certificates().map_err(|e| format!("making the test certificates: {e}"))?;
    let setup = Setup {
        hba: "local all all trust\n\
              hostssl all all 127.0.0.1/32 scram-sha-256\n\
              hostnossl all all 127.0.0.1/32 reject\n"
            .into(),
        files: vec![("server.crt", cert_pem), ("server.key", key_pem)],
        settings: vec!["ssl=on".into(), "ssl_cert_file=server.crt".into(), "ssl_key_file=server.key".into()],
    };
    let started = start_cluster(setup)?;
    let admin_url = format!(
        "postgres:///postgres?user=postgres&host={}&port={}",
        started.sockets.display(),
        started.port
    );
    Ok(TlsPgServer { admin_url, port: started.port, ca_pem })
}

/// A test CA, and a certificate for `localhost` it signed, with its key.
fn certificates() -> Result<(String, String, String), rcgen::Error> {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "Plumbline test PostgreSQL CA");
    ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate()?)?;
    let mut server = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
    server.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    server.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate()?;
    let cert = server.signed_by(&key, &ca)?;
    Ok((ca.pem(), cert.pem(), key.serialize_pem()))
}
