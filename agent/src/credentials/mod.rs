//! OAuth2 client-credentials tokens for plugins' HTTP requests.
//!
//! A plugin names a profile; the host fetches a token (client secret or
//! certificate assertion) from the profile's authority, caches it until
//! shortly before it expires, and attaches it only to hosts in the profile's
//! audience. Plugins never see secrets or tokens.

use crate::endpoints::Endpoints;
use crate::config::{CredentialConfig, HostPattern};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ring::signature::RsaKeyPair;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use std::time::{Duration, Instant};

pub mod roles;

/// Renew a cached token this long before it expires.
const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(120);
/// Lifetime of a certificate client assertion.
const ASSERTION_LIFETIME_SECS: i64 = 600;
/// Largest token endpoint answer read.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;
/// Longest token lifetime believed: Entra ID tokens live about an hour; an
/// authority claiming more (up to 2^64 s) is not trusted beyond a day.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// No such profile in the config.
    #[error("credential profile `{0}` is not configured; add a [credentials.{0}] section")]
    Unknown(String),
    /// The secret or key could not be loaded.
    #[error("credential profile `{profile}`: {message}")]
    Secret {
        /// Profile name.
        profile: String,
        /// What is missing and where it was looked for.
        message: String,
    },
    /// The authority refused or failed.
    #[error("credential profile `{profile}`: token request to {authority} failed: {message}")]
    Token {
        /// Profile name.
        profile: String,
        /// The authority's origin.
        authority: String,
        /// Status and the authority's error description.
        message: String,
    },
}

struct Profile {
    config: CredentialConfig,
    tenant: String,
    audience: Vec<HostPattern>,
}

struct Cached {
    token: String,
    renew_at: Instant,
}

/// Tokens per credential profile.
pub struct CredentialStore {
    profiles: BTreeMap<String, Profile>,
    /// One lock per profile, so a slow authority holds up only requests
    /// that need its token (and one fetch serves all of them).
    cache: HashMap<String, tokio::sync::Mutex<Option<Cached>>>,
    client: reqwest::Client,
    endpoints: Endpoints,
    requests: std::sync::atomic::AtomicUsize,
}

impl CredentialStore {
    /// Profiles from the config; `default_tenant` is the agent's tenant.
    pub fn new(
        profiles: &BTreeMap<String, CredentialConfig>,
        default_tenant: &str,
        client: reqwest::Client,
        endpoints: Endpoints,
    ) -> Self {
        let cache = profiles.keys().map(|name| (name.clone(), tokio::sync::Mutex::new(None))).collect();
        let profiles = profiles
            .iter()
            .map(|(name, c)| {
                // Validated by the config loader: every entry parses.
                let audience = c.audience.iter().filter_map(|a| HostPattern::parse_grant(a).ok()).collect();
                let tenant = c.tenant.clone().unwrap_or_else(|| default_tenant.to_string());
                (name.clone(), Profile { config: c.clone(), tenant, audience })
            })
            .collect();
        CredentialStore {
            profiles,
            cache,
            client,
            endpoints,
            requests: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// May a token of `profile` be sent to `host`?
    pub fn audience_allows(&self, profile: &str, host: &str) -> bool {
        self.profiles
            .get(profile)
            .is_some_and(|p| p.audience.iter().any(|a| a.matches(host)))
    }

    /// How many token requests went to authorities (for tests and metrics).
    pub fn token_requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A bearer token for `profile`, from cache when still fresh.
    pub async fn token(&self, profile: &str) -> Result<String, CredentialError> {
        let p = self
            .profiles
            .get(profile)
            .ok_or_else(|| CredentialError::Unknown(profile.to_string()))?;
        let slot = self.cache.get(profile).ok_or_else(|| CredentialError::Unknown(profile.to_string()))?;
        let mut cached = slot.lock().await;
        if let Some(c) = cached.as_ref() {
            if Instant::now() < c.renew_at {
                return Ok(c.token.clone());
            }
        }
        let (token, lifetime) = self.fetch(profile, p).await?;
        let renew_at = renew_time(Instant::now(), lifetime);
        *cached = Some(Cached { token: token.clone(), renew_at });
        Ok(token)
    }

    async fn fetch(&self, name: &str, p: &Profile) -> Result<(String, Duration), CredentialError> {
        let c = &p.config;
        let token_url = format!(
            "{}/{}/oauth2/v2.0/token",
            c.authority.trim_end_matches('/'),
            p.tenant
        );
        let secret_err = |message: String| CredentialError::Secret { profile: name.to_string(), message };
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", c.client_id.clone()),
            ("scope", c.scope.clone()),
        ];
        if let Some(var) = &c.client_secret_env {
            let secret = std::env::var(var)
                .map_err(|_| secret_err(format!("environment variable `{var}` (client_secret_env) is not set")))?;
            form.push(("client_secret", secret));
        } else if let Some(file) = &c.client_secret_file {
            let secret = std::fs::read_to_string(file)
                .map_err(|e| secret_err(format!("cannot read client_secret_file {}: {e}", file.display())))?;
            form.push(("client_secret", secret.trim().to_string()));
        } else if let (Some(cert), Some(key)) = (&c.certificate_file, &c.private_key_file) {
            let assertion = client_assertion(&c.client_id, &token_url, cert, key).map_err(secret_err)?;
            form.push((
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
            ));
            form.push(("client_assertion", assertion));
        }
        let url = url::Url::parse(&token_url).map_err(|e| secret_err(format!("bad authority {}: {e}", c.authority)))?;
        let authority = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
        let fail = |message: String| CredentialError::Token {
            profile: name.to_string(),
            authority: authority.clone(),
            message,
        };
        self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let resp = self
            .client
            .post(self.endpoints.route(&url))
            .form(&form)
            .send()
            .await
            .map_err(|e| fail(e.without_url().to_string()))?;
        let status = resp.status();
        let too_large = || fail(format!("answer over {MAX_TOKEN_RESPONSE_BYTES} bytes"));
        if resp.content_length().is_some_and(|n| n > MAX_TOKEN_RESPONSE_BYTES as u64) {
            return Err(too_large());
        }
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| fail(e.without_url().to_string()))? {
            if body.len() + chunk.len() > MAX_TOKEN_RESPONSE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let json: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| fail(format!("HTTP {status}, not JSON: {e}")))?;
        if !status.is_success() {
            let code = json.get("error").and_then(|v| v.as_str()).unwrap_or("unknown error");
            let desc = json
                .get("error_description")
                .and_then(|v| v.as_str())
                .map(|d| d.lines().next().unwrap_or(d))
                .unwrap_or("");
            return Err(fail(format!("HTTP {status} {code}: {desc}")));
        }
        let token = json
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| fail("answer has no access_token".into()))?;
        let expires = json.get("expires_in").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())).unwrap_or(300);
        Ok((token.to_string(), Duration::from_secs(expires).min(MAX_TOKEN_LIFETIME)))
    }
}

/// When to fetch a token again: shortly before it expires, never in the
/// past, and without overflowing on a hostile lifetime.
fn renew_time(now: Instant, lifetime: Duration) -> Instant {
    let lifetime = lifetime.min(MAX_TOKEN_LIFETIME);
    now.checked_add(lifetime.saturating_sub(TOKEN_EXPIRY_MARGIN)).unwrap_or(now)
}

/// A signed JWT client assertion (RS256, `x5t` = SHA-1 thumbprint of the
/// certificate), as Microsoft Entra ID expects for certificate credentials.
pub fn client_assertion(
    client_id: &str,
    audience: &str,
    cert_file: &PathBuf,
    key_file: &PathBuf,
) -> Result<String, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let cert = CertificateDer::from_pem_file(cert_file)
        .map_err(|e| format!("cannot read certificate_file {}: {e}", cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("cannot read private_key_file {}: {e}", key_file.display()))?;
    let pair = match &key {
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => return Err("private_key_file must hold an RSA key (PKCS#8 or PKCS#1 PEM)".into()),
    }
    .map_err(|e| format!("private_key_file {} is not a usable RSA key: {e}", key_file.display()))?;
    let thumb = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.as_ref());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut jti = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut jti)
        .map_err(|_| "no randomness for the assertion id".to_string())?;
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": B64URL.encode(thumb.as_ref())});
    let claims = serde_json::json!({
        "aud": audience, "iss": client_id, "sub": client_id,
        "jti": hex::encode(jti), "nbf": now, "iat": now, "exp": now + ASSERTION_LIFETIME_SECS,
    });
    let signing_input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| "signing the client assertion failed".to_string())?;
    Ok(format!("{signing_input}.{}", B64URL.encode(sig)))
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_lifetime_does_not_panic() {
        let now = Instant::now();
        let far = renew_time(now, Duration::from_secs(u64::MAX));
        assert!(far > now && far <= now + MAX_TOKEN_LIFETIME);
        assert_eq!(renew_time(now, Duration::from_secs(10)), now, "short tokens are fetched again next time");
    }
}
