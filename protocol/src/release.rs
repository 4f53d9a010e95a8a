//! Agent releases: the manifest an MSP signs with its release key (offline),
//! the collector serves, and the agent checks before it replaces itself.
//!
//! A release key is an Ed25519 key in the format of the plugin publishers'
//! ([`crate::plugin_signature`]: `plumbline release keygen` is the same
//! keygen, `"ed25519:BASE64"` in the agent's `[update] release_keys`). The
//! manifest travels as a DSSE envelope ([`crate::envelope`]) of type
//! [`RELEASE_PAYLOAD_TYPE`]: the signature covers the payload bytes exactly as
//! signed, so no JSON canonicalisation is needed, and the type keeps a
//! release signature from passing as a batch's or a plugin's. The agent
//! verifies (strictly) before it parses anything in the payload.

use crate::envelope::{self, Envelope};
use crate::plugin_signature::{PublisherKey, PublisherSecret};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The DSSE payload type of a release manifest.
pub const RELEASE_PAYLOAD_TYPE: &str = "application/vnd.plumbline.release+json";
/// The platforms releases are built for, as manifests name them.
pub const PLATFORMS: &[&str] = &["x86_64-linux", "x86_64-windows"];
/// The channel a manifest is on when it does not say.
pub const DEFAULT_CHANNEL: &str = "stable";
/// Largest signed manifest read: a manifest is a few hundred bytes; this
/// keeps a hostile answer from filling memory before it is refused.
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024;
/// Largest release binary: the agent is about 25 MB; this leaves room for
/// growth, and keeps a mistaken `--binary` (a disk image) off the collector
/// and out of an agent's memory.
pub const MAX_RELEASE_BYTES: u64 = 256 * 1024 * 1024;
/// Longest a manifest may be valid for: a signed manifest that never
/// expires could be replayed for ever to hold a fleet on an old release
/// (a freeze attack), so an MSP re-signs at least this often.
pub const MAX_VALIDITY_DAYS: i64 = 366;

/// What the MSP signs about one release binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Semantic version, as the binary's `--self-check` prints it.
    pub version: String,
    /// One of [`PLATFORMS`].
    pub platform: String,
    /// The update channel, e.g. `stable` (the agent's `[update] channel`).
    #[serde(default = "default_channel")]
    pub channel: String,
    /// sha256 of the binary, 64 lowercase hex digits.
    pub sha256: String,
    /// The binary's size in bytes.
    pub size: u64,
    /// When it was signed, RFC 3339.
    pub issued_at: String,
    /// After this (RFC 3339) agents refuse it.
    pub expires_at: String,
}

fn default_channel() -> String {
    DEFAULT_CHANNEL.to_string()
}

/// Why a manifest was refused. Each message says what was expected and
/// what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// Not a signed manifest at all.
    #[error("the release manifest is unreadable: {0}; sign it again with `plumbline release sign`")]
    Malformed(String),
    /// Signed by no key this agent trusts.
    #[error(
        "the release manifest is signed by key {claimed}, which is not in [update] release_keys (trusted: {trusted}); \
         if the MSP changed its release key, add the new public key to release_keys"
    )]
    Untrusted {
        /// The key id(s) it claims.
        claimed: String,
        /// The key ids trusted.
        trusted: String,
    },
    /// The signature does not verify: changed after signing, or forged.
    #[error(
        "the release manifest's signature by key {0} does not verify: it was changed after signing or is forged; \
         nothing was installed. Publish the manifest exactly as `plumbline release sign` wrote it"
    )]
    BadSignature(String),
    /// Signed, but a field makes no sense.
    #[error("the release manifest is signed but invalid: {0}")]
    Invalid(String),
}

/// A release's version, compared as semantic versions (`0.10.0` > `0.9.0`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(semver::Version);

impl Version {
    /// `MAJOR.MINOR.PATCH[-PRE][+BUILD]`.
    pub fn parse(text: &str) -> Result<Version, String> {
        semver::Version::parse(text.trim())
            .map(Version)
            .map_err(|e| format!("{text:?} is not a semantic version ({e}); write it like \"1.4.2\""))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The platform this build runs on, as manifests name it.
pub fn this_platform() -> &'static str {
    if cfg!(all(target_arch = "x86_64", windows)) {
        "x86_64-windows"
    } else if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        "x86_64-linux"
    } else {
        "unsupported"
    }
}

impl Manifest {
    /// Check every field; the parsed version and expiry.
    pub fn check(&self) -> Result<(Version, OffsetDateTime), String> {
        let version = Version::parse(&self.version)?;
        if !PLATFORMS.contains(&self.platform.as_str()) {
            return Err(format!("platform {:?} is not one of {}", self.platform, PLATFORMS.join(", ")));
        }
        if !is_channel(&self.channel) {
            return Err(format!("channel {:?} is not a name (letters, digits and -, at most 32)", self.channel));
        }
        if !is_sha256(&self.sha256) {
            return Err(format!("sha256 {:?} is not 64 lowercase hex digits", self.sha256));
        }
        if self.size == 0 || self.size > MAX_RELEASE_BYTES {
            return Err(format!("size {} is not between 1 and {MAX_RELEASE_BYTES} bytes", self.size));
        }
        let at = |name: &str, text: &str| {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|e| format!("{name} {text:?} is not an RFC 3339 time ({e})"))
        };
        let (issued, expires) = (at("issued_at", &self.issued_at)?, at("expires_at", &self.expires_at)?);
        if expires <= issued {
            return Err(format!("expires_at {} is not after issued_at {}", self.expires_at, self.issued_at));
        }
        if expires - issued > time::Duration::days(MAX_VALIDITY_DAYS) {
            return Err(format!("it is valid for more than {MAX_VALIDITY_DAYS} days; sign it with a shorter --valid-days"));
        }
        Ok((version, expires))
    }
}

/// Whether `text` names a channel: letters, digits and `-`, at most 32.
pub fn is_channel(text: &str) -> bool {
    !text.is_empty() && text.len() <= 32 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether `text` is a sha256 as manifests and the collector name binaries: 64 lowercase hex digits.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The signed manifest as JSON: what the collector serves.
pub fn sign(manifest: &Manifest, key: &PublisherSecret) -> Result<Vec<u8>, String> {
    manifest.check()?;
    let payload = serde_json::to_vec(manifest).expect("a manifest serialises");
    let envelope = envelope::sign(RELEASE_PAYLOAD_TYPE, &payload, key.signing(), &key.public().key_id());
    Ok(serde_json::to_vec_pretty(&envelope).expect("an envelope serialises"))
}

/// The manifest in `bytes`, if a key in `trusted` signed it and every field
/// is sound. Its expiry is not judged here: that needs the clock
/// ([`is_expired`]).
pub fn verify(bytes: &[u8], trusted: &[PublisherKey]) -> Result<Manifest, ReleaseError> {
    let (envelope, _) = open(bytes)?;
    let trusted_ids: Vec<String> = trusted.iter().map(PublisherKey::key_id).collect();
    let Some((key, keyid)) = envelope
        .signatures
        .iter()
        .find_map(|s| trusted.iter().zip(&trusted_ids).find(|(_, id)| **id == s.keyid))
    else {
        let claimed: Vec<String> = envelope.signatures.iter().map(|s| shown(&s.keyid)).collect();
        return Err(ReleaseError::Untrusted {
            claimed: if claimed.is_empty() { "(none)".into() } else { claimed.join(", ") },
            trusted: if trusted_ids.is_empty() { "none listed".into() } else { trusted_ids.join(", ") },
        });
    };
    let payload = envelope.verify(RELEASE_PAYLOAD_TYPE, keyid, key.verifying()).map_err(|_| ReleaseError::BadSignature(keyid.clone()))?;
    let manifest: Manifest = serde_json::from_slice(&payload).map_err(|e| ReleaseError::Invalid(e.to_string()))?;
    manifest.check().map_err(ReleaseError::Invalid)?;
    Ok(manifest)
}

/// The manifest in `bytes`, its signature NOT checked: for the collector,
/// which files releases by platform and version but holds no release key
/// (agents check the signature themselves).
pub fn read_unverified(bytes: &[u8]) -> Result<Manifest, ReleaseError> {
    let (_, payload) = open(bytes)?;
    let manifest: Manifest = serde_json::from_slice(&payload).map_err(|e| ReleaseError::Malformed(e.to_string()))?;
    manifest.check().map_err(ReleaseError::Malformed)?;
    Ok(manifest)
}

fn open(bytes: &[u8]) -> Result<(Envelope, Vec<u8>), ReleaseError> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(ReleaseError::Malformed(format!("{} bytes, over the {MAX_MANIFEST_BYTES}-byte limit", bytes.len())));
    }
    let envelope = Envelope::from_json(bytes).map_err(|e| ReleaseError::Malformed(e.to_string()))?;
    if envelope.payload_type != RELEASE_PAYLOAD_TYPE {
        return Err(ReleaseError::Malformed(format!(
            "its payload type is {:?}, not {RELEASE_PAYLOAD_TYPE}",
            shown(&envelope.payload_type)
        )));
    }
    let payload = base64::engine::general_purpose::STANDARD
        .decode(&envelope.payload)
        .map_err(|e| ReleaseError::Malformed(format!("the payload is not base64: {e}")))?;
    Ok((envelope, payload))
}

/// A value from the wire, cut for a message.
fn shown(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// Whether `manifest` (already checked) expired by `now`.
pub fn is_expired(manifest: &Manifest, now: OffsetDateTime) -> bool {
    OffsetDateTime::parse(&manifest.expires_at, &Rfc3339).map_or(true, |at| at <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            version: "1.2.3".into(),
            platform: "x86_64-linux".into(),
            channel: "stable".into(),
            sha256: "ab".repeat(32),
            size: 10,
            issued_at: "2026-01-01T00:00:00Z".into(),
            expires_at: "2026-02-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn a_trusted_signature_verifies_and_every_change_is_refused() {
        let key = PublisherSecret::generate();
        let signed = sign(&manifest(), &key).unwrap();
        assert_eq!(verify(&signed, &[key.public()]).unwrap(), manifest());

        let mut envelope: Envelope = serde_json::from_slice(&signed).unwrap();
        let mut changed = manifest();
        changed.version = "9.9.9".into();
        envelope.payload = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&changed).unwrap());
        let tampered = serde_json::to_vec(&envelope).unwrap();
        assert_eq!(verify(&tampered, &[key.public()]), Err(ReleaseError::BadSignature(key.public().key_id())));
        assert_eq!(read_unverified(&tampered).unwrap().version, "9.9.9", "the collector files what it says");
    }

    #[test]
    fn an_untrusted_key_is_named_beside_the_trusted_ones() {
        let (signer, trusted) = (PublisherSecret::generate(), PublisherSecret::generate());
        let e = verify(&sign(&manifest(), &signer).unwrap(), &[trusted.public()]).unwrap_err().to_string();
        assert!(e.contains(&signer.public().key_id()) && e.contains(&trusted.public().key_id()) && e.contains("release_keys"), "{e}");
    }

    #[test]
    fn a_plugin_or_batch_envelope_is_not_a_manifest() {
        let key = PublisherSecret::generate();
        let payload = serde_json::to_vec(&manifest()).unwrap();
        let other = envelope::sign(envelope::SCAN_PAYLOAD_TYPE, &payload, key.signing(), &key.public().key_id());
        let e = verify(&serde_json::to_vec(&other).unwrap(), &[key.public()]).unwrap_err().to_string();
        assert!(e.contains("payload type") && e.contains(RELEASE_PAYLOAD_TYPE), "{e}");
    }

    #[test]
    fn unsound_fields_are_refused_at_signing() {
        let key = PublisherSecret::generate();
        let cases: [(fn(&mut Manifest), &str); 5] = [
            (|m| m.version = "1.2".into(), "semantic version"),
            (|m| m.platform = "arm64-mac".into(), "x86_64-windows"),
            (|m| m.sha256 = "AB".repeat(32), "lowercase hex"),
            (|m| m.expires_at = m.issued_at.clone(), "not after"),
            (|m| m.expires_at = "2099-01-01T00:00:00Z".into(), "366 days"),
        ];
        for (change, says) in cases {
            let mut m = manifest();
            change(&mut m);
            let e = sign(&m, &key).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn versions_compare_as_semver_and_expiry_is_by_the_clock() {
        assert!(Version::parse("0.10.0").unwrap() > Version::parse("0.9.9").unwrap());
        assert!(Version::parse("1.0.0-rc.1").unwrap() < Version::parse("1.0.0").unwrap());
        let at = |t: &str| OffsetDateTime::parse(t, &Rfc3339).unwrap();
        assert!(!is_expired(&manifest(), at("2026-01-31T23:59:59Z")));
        assert!(is_expired(&manifest(), at("2026-02-01T00:00:00Z")));
    }
}
