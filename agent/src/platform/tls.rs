//! The rustls client configuration every outbound HTTPS connection uses:
//! plugins' requests, token requests and delivery alike.

use std::sync::Arc;

/// Client configuration trusting the public web roots.
pub fn client_config() -> rustls::ClientConfig {
    client_config_with_roots(web_roots())
}

/// The public web roots (Mozilla's), which every client trusts.
pub fn web_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// [`client_config`] with other trust anchors: the delivery client adds a
/// private collector CA to [`web_roots`].
pub fn client_config_with_roots(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}
