//! What the network capabilities share: one HTTP client (rustls), endpoint
//! overrides, and the credential store.

use crate::credentials::CredentialStore;
use crate::runtime::limits;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Shared network context for every plugin in a run.
pub struct Network {
    /// HTTP client: rustls with the Mozilla roots, no redirects (a redirect
    /// would bypass the host allowlist), bounded timeouts.
    pub client: reqwest::Client,
    /// Host name -> base URL actually used.
    pub endpoints: Endpoints,
    /// OAuth2 tokens per credential profile.
    pub credentials: CredentialStore,
}

impl Network {
    /// Build from the configuration: one client for plugins and token
    /// requests alike, the same endpoint overrides for both.
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        let client = http_client()?;
        let endpoints = Endpoints::new(config.endpoints.clone());
        let credentials =
            CredentialStore::new(&config.credentials, &config.tenant_id, client.clone(), endpoints.clone());
        Ok(Network { client, endpoints, credentials })
    }
}

/// The rustls configuration every outbound HTTPS connection uses.
pub fn tls_client_config() -> rustls::ClientConfig {
    tls_client_config_with_roots(web_roots())
}

/// The public web roots (Mozilla's), which every client trusts.
pub fn web_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// [`tls_client_config`] with other trust anchors: the delivery client adds
/// a private collector CA to [`web_roots`].
pub fn tls_client_config_with_roots(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// The shared HTTP client.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls_client_config())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(limits::HTTP_TIMEOUT)
        .connect_timeout(std::time::Duration::from_secs(15))
        .user_agent(concat!("plumbline/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// Endpoint overrides: route a host a plugin asked for to another base URL.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    map: BTreeMap<String, url::Url>,
}

impl Endpoints {
    /// From `host -> base URL` (validated by the config loader).
    pub fn new(raw: BTreeMap<String, String>) -> Self {
        Endpoints {
            map: raw
                .into_iter()
                .filter_map(|(h, u)| url::Url::parse(&u).ok().map(|u| (h.to_ascii_lowercase(), u)))
                .collect(),
        }
    }

    /// The URL to really connect to for `url`: the override's scheme, host,
    /// port and path prefix, then the original path and query. Unchanged
    /// when no override matches.
    pub fn route(&self, url: &url::Url) -> url::Url {
        let Some(host) = url.host_str() else { return url.clone() };
        let Some(base) = self.map.get(&host.to_ascii_lowercase()) else { return url.clone() };
        let mut routed = base.clone();
        let prefix = base.path().trim_end_matches('/');
        routed.set_path(&format!("{prefix}{}", url.path()));
        routed.set_query(url.query());
        routed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_keep_path_and_query() {
        let e = Endpoints::new(BTreeMap::from([(
            "outlook.office365.com".to_string(),
            "http://127.0.0.1:8080/exo/".to_string(),
        )]));
        let u = url::Url::parse("https://Outlook.Office365.com/adminapi/beta/t/InvokeCommand?$skiptoken=2").unwrap();
        assert_eq!(
            e.route(&u).as_str(),
            "http://127.0.0.1:8080/exo/adminapi/beta/t/InvokeCommand?$skiptoken=2"
        );
        let other = url::Url::parse("https://graph.microsoft.com/v1.0/teams").unwrap();
        assert_eq!(e.route(&other), other);
    }
}
