//! TLS for the collector: rustls with the ring provider, a certificate and
//! key from PEM files, or a self-signed pair kept in the data dir whose
//! sha256 fingerprint agents can pin.

use rustls::crypto::CryptoProvider;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Which.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not PEM of the expected kind.
    #[error("{0}")]
    Pem(String),
    /// rustls refused the pair.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// rcgen could not make a certificate.
    #[error("generating a certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// The crypto provider: ring (aws-lc-rs stays out of the build).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration from PEM text: the certificate chain and its key.
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem(format!("certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::Pem("no certificate in the certificate PEM".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem(format!("private key PEM: {e}")))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A server configuration from PEM files.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    server_config(&read(cert)?, &read(key)?)
}

/// sha256 of a DER certificate, lower-case hex: what agents pin.
pub fn fingerprint(cert_der: &[u8]) -> String {
    hex::encode(Sha256::digest(cert_der))
}

/// The fingerprint of the first certificate in PEM text.
pub fn pem_fingerprint(cert_pem: &[u8]) -> Result<String, TlsError> {
    let cert = CertificateDer::from_pem_slice(cert_pem).map_err(|e| TlsError::Pem(format!("certificate PEM: {e}")))?;
    Ok(fingerprint(&cert))
}

/// A fresh self-signed certificate for `names` (DNS names or IP addresses):
/// certificate PEM, key PEM.
pub fn generate(names: Vec<String>) -> Result<(String, String), TlsError> {
    let certified = rcgen::generate_simple_self_signed(names)?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

/// A self-signed pair kept in a directory.
#[derive(Debug, Clone)]
pub struct SelfSigned {
    /// Certificate PEM file.
    pub cert: PathBuf,
    /// Key PEM file (mode 0600).
    pub key: PathBuf,
    /// The certificate's sha256.
    pub fingerprint: String,
    /// Made now (rather than found).
    pub created: bool,
}

/// The self-signed pair in `dir` (`tls-cert.pem`, `tls-key.pem`), made on
/// first use for `localhost`, this host's name, 127.0.0.1 and ::1.
pub fn ensure_self_signed(dir: &Path) -> Result<SelfSigned, TlsError> {
    let cert = dir.join("tls-cert.pem");
    let key = dir.join("tls-key.pem");
    let mut created = false;
    if !(cert.exists() && key.exists()) {
        // A key without its certificate (a crash between the two writes)
        // is worth nothing: make the pair again. Each file is written
        // whole under a temporary name and renamed into place, the
        // certificate last, so a pair found complete is one pair.
        std::fs::create_dir_all(dir).map_err(|source| TlsError::Io { path: dir.to_path_buf(), source })?;
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
        names.extend(hostname());
        let (cert_pem, key_pem) = generate(names)?;
        let (key_tmp, cert_tmp) = (dir.join("tls-key.pem.tmp"), dir.join("tls-cert.pem.tmp"));
        for stale in [&key_tmp, &cert_tmp, &cert] {
            let _ = std::fs::remove_file(stale);
        }
        write_private(&key_tmp, key_pem.as_bytes())?;
        rename(&key_tmp, &key)?;
        write_private(&cert_tmp, cert_pem.as_bytes())?;
        rename(&cert_tmp, &cert)?;
        created = true;
    }
    let fingerprint = pem_fingerprint(&read(&cert)?)?;
    Ok(SelfSigned { cert, key, fingerprint, created })
}

fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty() && name != "localhost").then(|| name.to_string())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| TlsError::Io { path: path.to_path_buf(), source })?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|source| TlsError::Io { path: path.to_path_buf(), source })
}

fn rename(from: &Path, to: &Path) -> Result<(), TlsError> {
    std::fs::rename(from, to).map_err(|source| TlsError::Io { path: to.to_path_buf(), source })?;
    if let Some(dir) = to.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_pairs_are_made_once_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_self_signed(dir.path()).unwrap();
        assert!(first.created && first.fingerprint.len() == 64);
        let again = ensure_self_signed(dir.path()).unwrap();
        assert!(!again.created);
        assert_eq!(again.fingerprint, first.fingerprint);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&first.key).unwrap().permissions().mode() & 0o777, 0o600);
        load(&first.cert, &first.key).unwrap();
        assert!(server_config(b"not pem", b"").is_err());
    }

    #[test]
    fn a_crash_between_key_and_certificate_does_not_block_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        // As a crash after the key's write left it (before the fix, the next
        // start failed: the key file already existed).
        std::fs::write(dir.path().join("tls-key.pem"), "half a pair").unwrap();
        std::fs::write(dir.path().join("tls-cert.pem.tmp"), "torn").unwrap();
        let made = ensure_self_signed(dir.path()).unwrap();
        assert!(made.created);
        load(&made.cert, &made.key).unwrap();
        assert!(!dir.path().join("tls-cert.pem.tmp").exists());
    }
}
