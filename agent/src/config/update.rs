//! The `[update]` section: whether and how often the agent replaces itself
//! with a newer release from its collector, and whose release signatures it
//! trusts (see [`crate::update`]).

use super::schedule::parse_duration;
use plumbline_protocol::plugin_signature::PublisherKey;
use plumbline_protocol::release::DEFAULT_CHANNEL;
use serde::Deserialize;
use std::time::Duration;

/// How often the service asks for a release when `[update]` does not say:
/// a fix reaches a fleet within a day, and a thousand agents ask the
/// collector for a few hundred bytes each.
pub const DEFAULT_CHECK_EVERY: Duration = Duration::from_secs(24 * 3600);
/// The shortest `check_every`: each check is a signed request the collector
/// verifies; releases do not come more often than this.
pub const MIN_CHECK_EVERY: Duration = Duration::from_secs(10 * 60);

/// `[update]` as written. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    /// Update at all. Default: yes once `release_keys` lists a key; no
    /// otherwise (nothing could be trusted).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Which releases: the channel the MSP published them on. Default `"stable"`.
    #[serde(default)]
    pub channel: Option<String>,
    /// The MSP's release keys, `"ed25519:BASE64"` as `plumbline release
    /// keygen` prints them. Only a manifest signed by one of them is
    /// installed.
    #[serde(default)]
    pub release_keys: Vec<String>,
    /// How often the service asks the collector for a newer release.
    /// Default `"24h"`; at least `"10m"`.
    #[serde(default)]
    pub check_every: Option<String>,
}

/// `[update]` checked, with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSettings {
    /// Whether the agent updates itself.
    pub enabled: bool,
    /// The channel.
    pub channel: String,
    /// The trusted release keys.
    pub release_keys: Vec<PublisherKey>,
    /// How often the service checks.
    pub check_every: Duration,
}

impl UpdateConfig {
    /// Check and apply defaults. Errors name the value and one that works.
    pub(super) fn resolve(&self) -> Result<UpdateSettings, String> {
        let release_keys = self
            .release_keys
            .iter()
            .map(|k| PublisherKey::parse(k).map_err(|e| format!("[update] release_keys: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let enabled = self.enabled.unwrap_or(!release_keys.is_empty());
        if enabled && release_keys.is_empty() {
            return Err("[update] enabled = true, but release_keys lists no key, so no release could be trusted; add \
                        the MSP's release key (release_keys = [\"ed25519:...\"], as `plumbline release keygen` \
                        prints it), or set enabled = false"
                .into());
        }
        let channel = self.channel.clone().unwrap_or_else(|| DEFAULT_CHANNEL.to_string());
        if !plumbline_protocol::release::is_channel(&channel) {
            return Err(format!("[update] channel = {channel:?} is not a channel name (letters, digits and -), e.g. \"stable\""));
        }
        let check_every = match &self.check_every {
            None => DEFAULT_CHECK_EVERY,
            Some(text) => parse_duration(text)
                .map_err(|why| format!("[update] check_every = {text:?}: {why}, e.g. check_every = \"24h\""))?,
        };
        if check_every < MIN_CHECK_EVERY {
            return Err(format!(
                "[update] check_every = {:?} is shorter than the shortest allowed, \"10m\"; the default is \"24h\"",
                self.check_every.as_deref().unwrap_or_default()
            ));
        }
        Ok(UpdateSettings { enabled, channel, release_keys, check_every })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plumbline_protocol::plugin_signature::PublisherSecret;

    fn config(keys: Vec<String>, enabled: Option<bool>, check_every: Option<&str>) -> UpdateConfig {
        UpdateConfig { enabled, channel: None, release_keys: keys, check_every: check_every.map(str::to_string) }
    }

    #[test]
    fn updates_are_on_once_a_key_is_listed_and_never_without_one() {
        let key = PublisherSecret::generate().public();
        let on = config(vec![key.to_string()], None, None).resolve().unwrap();
        assert!(on.enabled && on.release_keys == vec![key.clone()] && on.check_every == DEFAULT_CHECK_EVERY);
        assert!(!config(vec![], None, None).resolve().unwrap().enabled);
        assert!(!config(vec![key.to_string()], Some(false), None).resolve().unwrap().enabled);
        let e = config(vec![], Some(true), None).resolve().unwrap_err();
        assert!(e.contains("release_keys lists no key") && e.contains("enabled = false"), "{e}");
    }

    #[test]
    fn bad_keys_and_durations_are_refused_with_a_good_one() {
        let e = config(vec!["ed25519:nope".into()], None, None).resolve().unwrap_err();
        assert!(e.contains("[update] release_keys") && e.contains("ed25519:BASE64"), "{e}");
        let key = PublisherSecret::generate().public().to_string();
        let e = config(vec![key.clone()], None, Some("1m")).resolve().unwrap_err();
        assert!(e.contains("\"10m\""), "{e}");
        let e = config(vec![key], None, Some("soon")).resolve().unwrap_err();
        assert!(e.contains("check_every = \"24h\""), "{e}");
    }
}
