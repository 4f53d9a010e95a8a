//! TLS to PostgreSQL: libpq's `sslmode` and `sslrootcert` in the database
//! URL, over rustls (ring), as tokio-postgres's `MakeTlsConnect`.
//!
//! What each `sslmode` does here (libpq's meaning):
//! - `disable`: plaintext only.
//! - `prefer` (the default, as in libpq): TLS when the server offers it,
//!   else plaintext; the certificate is not checked.
//! - `require`: TLS or no connection; the certificate is not checked, so it
//!   keeps out eavesdroppers but not a man in the middle. With
//!   `sslrootcert` given, the chain is checked against it (libpq does the
//!   same, for `prefer` too), as `verify-ca`.
//! - `verify-ca`: TLS, and the server's certificate must chain to a trusted
//!   CA; the host name is not compared.
//! - `verify-full`: `verify-ca`, and the certificate must name the host the
//!   URL connects to.
//!
//! Trusted CAs: those in `sslrootcert=PATH` (PEM) alone when given, else the
//! public roots (webpki-roots). The SCRAM channel binding
//! (`tls-server-end-point`) is offered, so even `require` keeps a password
//! exchange from being relayed by a man in the middle.

use super::super::StoreError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::Socket;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plaintext.
    Disable,
    /// TLS when offered, unchecked.
    Prefer,
    /// TLS, unchecked (checked against `sslrootcert` when given).
    Require,
    /// TLS, the chain checked.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, StoreError> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(StoreError::Backend(format!(
                    "postgres URL: sslmode={other:?} is not one of disable, prefer, require, verify-ca, verify-full: \
                     use sslmode=verify-full (with sslrootcert=PATH for a private CA)"
                )))
            }
        })
    }
}

/// The TLS half of a database URL.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// `sslmode`.
    pub mode: SslMode,
    /// `sslrootcert`: the only CAs trusted when given.
    pub root_cert: Option<PathBuf>,
    /// The host connected to, for messages.
    pub host: String,
}

/// Parse a `postgres://` URL: `sslmode` (all five of libpq's) and
/// `sslrootcert` here, the rest by tokio-postgres, which knows neither.
pub fn parse_url(url: &str) -> Result<(tokio_postgres::Config, TlsSettings), StoreError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let (mut mode, mut root_cert) = (SslMode::Prefer, None);
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => mode = SslMode::parse(&percent_decode(value)?)?,
            "sslrootcert" => root_cert = Some(PathBuf::from(percent_decode(value)?)),
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
    let mut config: tokio_postgres::Config =
        url.parse().map_err(|e| StoreError::Backend(format!("postgres URL: {e}")))?;
    config.ssl_mode(match mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Prefer => PgSslMode::Prefer,
        _ => PgSslMode::Require,
    });
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => String::new(),
    };
    Ok((config, TlsSettings { mode, root_cert, host }))
}

fn percent_decode(value: &str) -> Result<String, StoreError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err(StoreError::Backend(format!("postgres URL: {value:?} has a bad %-escape: write % as %25")));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| StoreError::Backend(format!("postgres URL: {value:?} is not UTF-8 once decoded")))
}

/// The connector the pool uses.
#[derive(Clone)]
pub struct MakeRustls {
    config: Arc<ClientConfig>,
}

impl MakeRustls {
    /// The rustls client for `settings` (reads `sslrootcert`).
    pub fn new(settings: &TlsSettings) -> Result<MakeRustls, StoreError> {
        let provider = Arc::new(ring::default_provider());
        let roots = Arc::new(roots(settings)?);
        let verifier: Arc<dyn ServerCertVerifier> = match (settings.mode, &settings.root_cert) {
            (SslMode::VerifyFull, _) => {
                rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| StoreError::Backend(format!("postgres TLS: {e}")))?
            }
            (SslMode::VerifyCa, _) | (SslMode::Require | SslMode::Prefer, Some(_)) => {
                Arc::new(Checked { roots: Some(roots), provider: provider.clone() })
            }
            _ => Arc::new(Checked { roots: None, provider: provider.clone() }),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Backend(format!("postgres TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustls { config: Arc::new(config) })
    }
}

fn roots(settings: &TlsSettings) -> Result<RootCertStore, StoreError> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    let Some(path) = &settings.root_cert else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(roots);
    };
    let shown = path.display();
    let refuse = |why: String| {
        StoreError::Backend(format!(
            "postgres TLS: sslrootcert={shown}: {why}: give the PEM file of the CA that signed the server's certificate"
        ))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| refuse(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| refuse(e.to_string()))?;
    if certs.is_empty() {
        return Err(refuse("it holds no PEM certificate".into()));
    }
    for cert in certs {
        roots.add(cert).map_err(|e| refuse(format!("a certificate in it is refused: {e}")))?;
    }
    Ok(roots)
}

/// `verify-ca` (with `roots`): the chain, not the name. Without `roots`:
/// nothing but the handshake's own signature (`require`, `prefer`).
#[derive(Debug)]
struct Checked {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            let algorithms = self.provider.signature_verification_algorithms.all;
            rustls::client::verify_server_cert_signed_by_trust_anchor(&cert, roots, intermediates, now, algorithms)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect { config: self.config.clone(), name: ServerName::try_from(domain.to_string())? })
    }
}

/// One handshake.
pub struct RustlsConnect {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let stream = tokio_rustls::TlsConnector::from(self.config).connect(self.name, stream).await?;
            Ok(RustlsStream(stream))
        })
    }
}

/// An encrypted connection.
pub struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        let (_, connection) = self.0.get_ref();
        match connection.peer_certificates().and_then(|certs| certs.first()) {
            Some(cert) => ChannelBinding::tls_server_end_point(server_end_point(cert)),
            None => ChannelBinding::none(),
        }
    }
}

/// RFC 5929's `tls-server-end-point`: the certificate hashed with its
/// signature's hash, SHA-256 for MD5, SHA-1 and any other.
fn server_end_point(cert: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    // sha384WithRSAEncryption, ecdsa-with-SHA384; sha512WithRSAEncryption, ecdsa-with-SHA512 (DER bodies).
    const SHA384: [&[u8]; 2] = [&[42, 134, 72, 134, 247, 13, 1, 1, 12], &[42, 134, 72, 206, 61, 4, 3, 3]];
    const SHA512: [&[u8]; 2] = [&[42, 134, 72, 134, 247, 13, 1, 1, 13], &[42, 134, 72, 206, 61, 4, 3, 4]];
    let oid = signature_oid(cert).unwrap_or_default();
    if SHA384.contains(&oid) {
        sha2::Sha384::digest(cert).to_vec()
    } else if SHA512.contains(&oid) {
        sha2::Sha512::digest(cert).to_vec()
    } else {
        sha2::Sha256::digest(cert).to_vec()
    }
}

/// The OID of `Certificate.signatureAlgorithm`: SEQUENCE { tbs, SEQUENCE { OID, .. }, .. }.
fn signature_oid(cert: &[u8]) -> Option<&[u8]> {
    let (_, outer, _) = der_tlv(cert)?;
    let (_, _, after_tbs) = der_tlv(outer)?;
    let (_, algorithm, _) = der_tlv(after_tbs)?;
    let (tag, oid, _) = der_tlv(algorithm)?;
    (tag == 0x06).then_some(oid)
}

/// One DER tag-length-value: (tag, value, what follows).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (rest[..n].iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b)), &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

impl AsyncRead for RustlsStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// What to tell the user when the first connection fails for a TLS reason
/// (or for want of TLS); `None` for other failures.
pub fn explain(e: &tokio_postgres::Error, settings: &TlsSettings) -> Option<String> {
    if let Some(db) = e.as_db_error() {
        let refused_plaintext = db.code() == &tokio_postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            && db.message().contains("no encryption");
        return (refused_plaintext && settings.mode == SslMode::Disable).then(|| {
            "the server refuses unencrypted connections (its pg_hba.conf allows only hostssl): put \
             sslmode=verify-full in the database URL (with sslrootcert=PATH when its certificate is from a private \
             CA), or sslmode=require to encrypt without checking the certificate"
                .to_string()
        });
    }
    if e.to_string().contains("server does not support TLS") {
        return Some(
            "the server does not offer TLS (ssl = off in its postgresql.conf): turn ssl on there, or, on a trusted \
             network only, use sslmode=prefer"
                .into(),
        );
    }
    let tls = rustls_error(e)?;
    let host = &settings.host;
    let ca = match &settings.root_cert {
        Some(path) => format!("the CA in sslrootcert={}", path.display()),
        None => "a public CA (no sslrootcert= is given)".into(),
    };
    let fix_ca = match &settings.root_cert {
        Some(_) => "give the CA that signed it",
        None => "give the CA that signed it with sslrootcert=PATH in the database URL",
    };
    Some(match tls {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            format!("the server's certificate is not signed by {ca}: {fix_ca}")
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { presented, .. }) => format!(
            "the server's certificate is not for the host {host} (it names {}): connect by a name in it, or use \
             sslmode=verify-ca to check only that the CA signed it",
            presented.join(", ")
        ),
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => format!(
            "the server's certificate is not for the host {host}: connect by a name in it, or use sslmode=verify-ca \
             to check only that the CA signed it"
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        ) => "the server's certificate has expired or is not valid yet: renew it on the server, or check this \
              machine's clock"
            .into(),
        rustls::Error::InvalidCertificate(other) => {
            format!("the server's certificate is refused ({other:?}): give the server a certificate signed by {ca}")
        }
        other => format!("TLS with the server failed ({other}): check its ssl settings and the sslmode in the URL"),
    })
}

/// The rustls error under tokio-postgres's, which tokio-rustls wraps in an
/// `io::Error` (whose `source()` skips it, hence the downcasts).
fn rustls_error(e: &tokio_postgres::Error) -> Option<&rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
        }
        current = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_the_url() {
        let url = "postgres://u:pw@db.example:5433/plumbline?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem\
                   &connect_timeout=5";
        let (config, tls) = parse_url(url).unwrap();
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(tls.host, "db.example");
        assert_eq!(config.get_ssl_mode(), PgSslMode::Require);
        assert_eq!(config.get_connect_timeout(), Some(&std::time::Duration::from_secs(5)));
        let (config, tls) = parse_url("postgres://u@h/db").unwrap();
        assert_eq!((tls.mode, config.get_ssl_mode()), (SslMode::Prefer, PgSslMode::Prefer));
        let e = parse_url("postgres://u@h/db?sslmode=verify").unwrap_err().to_string();
        assert!(e.contains("\"verify\"") && e.contains("sslmode=verify-full"), "{e}");
    }

    #[test]
    fn a_missing_root_cert_names_the_file_and_what_to_give() {
        let (_, tls) = parse_url("postgres://u@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem").unwrap();
        let e = MakeRustls::new(&tls).err().unwrap().to_string();
        assert!(e.contains("sslrootcert=/nonexistent/ca.pem") && e.contains("PEM file of the CA"), "{e}");
    }

    #[test]
    fn the_channel_binding_hash_follows_the_signature() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db.example".into()]).unwrap().self_signed(&key).unwrap();
        assert_eq!(server_end_point(cert.der()).len(), 48);
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db.example".into()]).unwrap().self_signed(&key).unwrap();
        assert_eq!(server_end_point(cert.der()).len(), 32);
    }
}
