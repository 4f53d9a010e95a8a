//! Whom the agent trusts to be its collector. Three ways, strongest first:
//! - `collector_pin`: the sha256 of the collector's certificate or of its
//!   public key. Only that certificate (or key) is accepted, whoever signed
//!   it, so a self-signed collector needs no CA file, and no public or
//!   private CA can stand in for it.
//! - `collector_ca_file` alone: only certificates from the CAs in the file,
//!   not the public roots too (a private CA's collector should not be
//!   impersonated by any public CA's customer).
//! - neither: the public web roots.

use super::DeliveryError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A pin: the sha256 of a certificate (DER) or of its SubjectPublicKeyInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin(pub [u8; 32]);

impl Pin {
    /// `sha256:` and 64 hex digits (colons allowed, as tools print them).
    pub fn parse(text: &str) -> Result<Pin, String> {
        let hexes: String = text.trim().trim_start_matches("sha256:").chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(&hexes).ok().filter(|b| b.len() == 32).ok_or_else(|| {
            format!(
                "{text:?} is not a sha256 pin; write it as the collector prints it at start, e.g. \
                 collector_pin = \"sha256:{}\"",
                "3f".repeat(32)
            )
        })?;
        Ok(Pin(bytes.try_into().expect("32 bytes")))
    }

    fn show(bytes: &[u8]) -> String {
        format!("sha256:{}", hex::encode(bytes))
    }
}

/// The sha256 of a certificate and of its public key, as pins.
pub fn fingerprints(cert: &CertificateDer<'_>) -> (String, Option<String>) {
    let whole = Pin::show(&Sha256::digest(cert.as_ref()));
    let key = x509_parser::parse_x509_certificate(cert.as_ref())
        .ok()
        .map(|(_, c)| Pin::show(&Sha256::digest(c.tbs_certificate.subject_pki.raw)));
    (whole, key)
}

/// Whom to trust.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// `[delivery] collector_ca_file`.
    pub ca_file: Option<PathBuf>,
    /// `[delivery] collector_pin`.
    pub pin: Option<Pin>,
}

/// Accepts exactly the pinned certificate or key; the handshake's
/// signatures are still checked, so only its holder gets through.
#[derive(Debug)]
struct Pinned {
    pin: Pin,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let want = Pin::show(&self.pin.0);
        let (whole, key) = fingerprints(end_entity);
        if whole == want || key.as_deref() == Some(want.as_str()) {
            return Ok(ServerCertVerified::assertion());
        }
        Err(rustls::Error::General(format!(
            "the collector's certificate does not match [delivery] collector_pin ({want}): it is {whole}, its key {}; \
             if the collector's certificate was replaced on purpose, put the new pin in the config",
            key.unwrap_or_else(|| "unreadable".into())
        )))
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

fn ca_roots(path: &Path) -> Result<rustls::RootCertStore, DeliveryError> {
    let ca_error = |message: String| DeliveryError::CaFile { path: path.to_path_buf(), message };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| ca_error(format!("cannot read it: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| ca_error(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(ca_error("holds no certificate (expected -----BEGIN CERTIFICATE-----)".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| ca_error(format!("unusable certificate: {e}")))?;
    }
    Ok(roots)
}

impl Trust {
    /// The rustls configuration for the collector.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, DeliveryError> {
        if let Some(pin) = self.pin {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier = Arc::new(Pinned { pin, provider: provider.clone() });
            return Ok(rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth());
        }
        let roots = match &self.ca_file {
            Some(path) => ca_roots(path)?,
            None => crate::platform::tls::web_roots(),
        };
        Ok(crate::platform::tls::client_config_with_roots(roots))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_as_printed_and_refuse_anything_else() {
        let hex64 = "ab".repeat(32);
        assert_eq!(Pin::parse(&format!("sha256:{hex64}")).unwrap().0, [0xab; 32]);
        let colons: Vec<String> = (0..32).map(|_| "AB".to_string()).collect();
        assert_eq!(Pin::parse(&colons.join(":")).unwrap().0, [0xab; 32]);
        for bad in ["sha256:abcd", "md5:00", "", &format!("sha256:{}zz", "a".repeat(62))] {
            let e = Pin::parse(bad).unwrap_err();
            assert!(e.contains("collector_pin = \"sha256:"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_ca_file_is_trusted_alone_not_beside_the_public_roots() {
        let ca = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/collector-test-ca.crt");
        assert_eq!(ca_roots(&ca).unwrap().len(), 1, "only the file's CA");
        assert!(crate::platform::tls::web_roots().len() > 100);
    }
}
