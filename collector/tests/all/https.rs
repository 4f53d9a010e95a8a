//! Agent to collector over HTTPS on loopback: rustls (ring) on both ends,
//! the client trusting the collector's self-signed certificate.

use crate::support::Backend;
use plumbline_collector::api::{app, AppState};
use plumbline_collector::serve::Server;
use plumbline_collector::{admin, tls};
use plumbline_protocol::identity::{public_key_b64, AgentKey};
use plumbline_protocol::messages::{EnrollRequest, EnrollResponse, IngestResponse};
use plumbline_protocol::read_api::RegisterView;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// A reqwest client (rustls, ring) that trusts exactly `cert_pem`.
pub fn client_trusting(cert_pem: &str) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder().use_preconfigured_tls(config).build().unwrap()
}

async fn agent_to_collector_over_https(backend: Backend) {
    let t = backend.store().await;
    let (cert, key) = tls::generate(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let config = tls::server_config(cert.as_bytes(), key.as_bytes()).unwrap();
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), Some(config)).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(app(AppState::new(t.store.clone())), async {
        let _ = stopped.await;
    }));

    t.tenant("contoso").await;
    let issued = admin::create_enroll_token(t.dyn_store(), "contoso", "hq", 1).await.unwrap();
    let api_token = admin::create_api_token(t.dyn_store(), Some("contoso"), None).await.unwrap();
    let key = AgentKey::generate();
    let client = client_trusting(&cert);
    let base = format!("https://localhost:{}", addr.port());

    let enrolled: EnrollResponse = client
        .post(format!("{base}/v1/enroll"))
        .json(&EnrollRequest {
            token: issued.token,
            public_key: public_key_b64(&key.verifying()),
            hostname: "gw".into(),
            replaces: None,
            site: None,
            tenant: None,
        })
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(enrolled.agent_id, key.agent_id());

    let agent = crate::support::TestAgent { key, tenant: "contoso".into(), site: "hq".into() };
    let body = agent.sign(&agent.typical(1, 4));
    let by_ip = format!("https://127.0.0.1:{}", addr.port());
    let stored: IngestResponse =
        client.post(format!("{by_ip}/v1/ingest")).body(body).send().await.unwrap().json().await.unwrap();
    assert_eq!(stored.status, "stored");

    let view: RegisterView = client
        .get(format!("{base}/v1/tenants/contoso/register"))
        .bearer_auth(&api_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view.connectors.len(), 4);

    // A client that does not trust the certificate gets nowhere.
    let (other_cert, _) = tls::generate(vec!["localhost".into()]).unwrap();
    let stranger = client_trusting(&other_cert);
    assert!(stranger.get(format!("{base}/v1/health")).send().await.is_err());
    // Plain HTTP to the TLS port is not served.
    let plain = client.get(format!("http://127.0.0.1:{}/v1/health", addr.port())).send().await;
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));

    // Graceful shutdown.
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), serving).await.unwrap().unwrap().unwrap();
}

crate::both_backends!(agent_to_collector_over_https);
