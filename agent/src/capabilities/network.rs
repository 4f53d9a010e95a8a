//! What the network capabilities share: one HTTP client (rustls), the
//! endpoint overrides, and the credential store.

use crate::credentials::CredentialStore;
use crate::endpoints::Endpoints;
use crate::runtime::limits;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Shared network context for every plugin in a run.
pub struct Network {
    /// HTTP client: rustls with the Mozilla roots, no redirects (a redirect
    /// would bypass the host allowlist), bounded timeouts.
    pub client: reqwest::Client,
    /// Host name -> base URL actually used.
    pub endpoints: Endpoints,
    /// OAuth2 tokens per credential profile.
    pub credentials: CredentialStore,
    /// Requests in flight per destination host, over every plugin.
    pub host_slots: HostSlots,
    /// Set by `plumbline plugin test`: calls recorded, or answered from a recording.
    pub tape: Option<Arc<super::tape::Tape>>,
}

/// One semaphore of [`limits::MAX_HTTP_IN_FLIGHT_PER_HOST`] per destination
/// host, made when a host is first asked for (only granted hosts get here).
#[derive(Default)]
pub struct HostSlots(Mutex<HashMap<String, Arc<Semaphore>>>);

impl HostSlots {
    /// The slots of `host` (normalised, as the grant check saw it).
    pub fn of(&self, host: &str) -> Arc<Semaphore> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(limits::MAX_HTTP_IN_FLIGHT_PER_HOST)))
            .clone()
    }
}

impl Network {
    /// Build from the configuration: one client for plugins and token
    /// requests alike, the same endpoint overrides for both.
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        let client = http_client()?;
        let endpoints = Endpoints::new(config.endpoints.clone());
        let credentials =
            CredentialStore::new(&config.credentials, &config.tenant_id, client.clone(), endpoints.clone());
        Ok(Network { client, endpoints, credentials, host_slots: HostSlots::default(), tape: None })
    }
}

/// The shared HTTP client.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(crate::platform::tls::client_config())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(limits::HTTP_TIMEOUT)
        .connect_timeout(std::time::Duration::from_secs(15))
        .user_agent(concat!("plumbline/", env!("CARGO_PKG_VERSION")))
        .build()?)
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_destination_host_has_its_own_bounded_slots() {
        let slots = HostSlots::default();
        let a = slots.of("api.flow.microsoft.com");
        assert!(Arc::ptr_eq(&a, &slots.of("api.flow.microsoft.com")), "one semaphore per host, shared by every plugin");
        assert_eq!(a.available_permits(), limits::MAX_HTTP_IN_FLIGHT_PER_HOST);
        let held: Vec<_> = (0..limits::MAX_HTTP_IN_FLIGHT_PER_HOST).map(|_| a.clone().try_acquire_owned().unwrap()).collect();
        assert!(a.clone().try_acquire_owned().is_err(), "the next request to that host waits");
        assert!(slots.of("graph.microsoft.com").try_acquire_owned().is_ok(), "another host does not");
        drop(held);
    }
}
