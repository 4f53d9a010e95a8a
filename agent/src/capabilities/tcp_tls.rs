//! STARTTLS for inspection: accept any certificate so its facts can be
//! reported, and separately say whether it would have been trusted.

use crate::runtime::wit::latest::plumbline::plugin::tcp::TlsInfo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use tokio::net::TcpStream;

#[derive(Debug)]
struct Inspecting(Arc<CryptoProvider>);

impl ServerCertVerifier for Inspecting {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config that completes the handshake with any certificate.
pub fn inspecting_config() -> rustls::ClientConfig {
    let provider = provider();
    rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Inspecting(provider)))
        .with_no_client_auth()
}

/// Facts about the session and the peer's leaf certificate.
pub fn describe(tls: &tokio_rustls::client::TlsStream<TcpStream>, server_name: &str) -> TlsInfo {
    let session = tls.get_ref().1;
    let protocol = match session.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_string(),
    };
    let cipher = session
        .negotiated_cipher_suite()
        .map(|c| format!("{:?}", c.suite()))
        .unwrap_or_default();
    let mut info = TlsInfo {
        protocol,
        cipher,
        subject: String::new(),
        issuer: String::new(),
        not_before: 0,
        not_after: 0,
        self_signed: false,
        trusted: false,
    };
    let Some(chain) = session.peer_certificates() else { return info };
    let Some(leaf) = chain.first() else { return info };
    if let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf.as_ref()) {
        info.subject = cert.subject().to_string();
        info.issuer = cert.issuer().to_string();
        info.not_before = cert.validity().not_before.timestamp();
        info.not_after = cert.validity().not_after.timestamp();
        info.self_signed = cert.subject() == cert.issuer() && cert.verify_signature(None).is_ok();
    }
    info.trusted = trusted(leaf, &chain[1..], server_name);
    info
}

fn trusted(leaf: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], server_name: &str) -> bool {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let Ok(verifier) = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider()).build()
    else {
        return false;
    };
    let Ok(name) = ServerName::try_from(server_name.to_string()) else { return false };
    verifier
        .verify_server_cert(leaf, intermediates, &name, &[], UnixTime::now())
        .is_ok()
}
