//! `[plugin_trust]` and the per-plugin `sha256` and `allow_unsigned`: which
//! components the agent runs (see [`crate::runtime::trust`]).

use super::Resolved;
use crate::runtime::trust::TrustPolicy;
use plumbline_protocol::plugin_signature::PublisherKey;
use serde::Deserialize;

/// Whose plugins this agent runs.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PluginTrustConfig {
    /// Publisher keys, `"ed25519:BASE64"` as `plumbline plugin keygen`
    /// prints them. A plugin runs when it is signed by one of them, or its
    /// section sets `allow_unsigned = true`.
    #[serde(default)]
    pub publishers: Vec<String>,
}

impl PluginTrustConfig {
    /// The keys, each checked.
    pub(super) fn keys(&self) -> Result<Vec<PublisherKey>, String> {
        self.publishers
            .iter()
            .map(|k| PublisherKey::parse(k).map_err(|e| format!("plugin_trust.publishers: {e}")))
            .collect()
    }
}

/// A `sha256` pin as 64 lowercase hex digits, as `plumbline plugins inspect` shows it.
pub(super) fn pin(section: &str, text: &str) -> Result<String, String> {
    let pin = text.trim().to_ascii_lowercase();
    match pin.len() == 64 && pin.bytes().all(|b| b.is_ascii_hexdigit()) {
        true => Ok(pin),
        false => Err(format!(
            "plugins.{section}.sha256 is {text:?}, which is not a sha256 (64 hex digits); copy it from \
             `plumbline plugins inspect FILE`, or remove it"
        )),
    }
}

impl Resolved {
    /// What must hold of `plugin`'s component before it runs.
    pub fn trust(&self, plugin: &str) -> TrustPolicy {
        let section = self.config.plugins.get(plugin);
        TrustPolicy::new(
            plugin,
            self.publishers.clone(),
            section.and_then(|p| p.sha256.clone()),
            section.is_some_and(|p| p.allow_unsigned),
        )
    }
}
