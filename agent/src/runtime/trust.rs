//! Whether a component may run: its sha256 pin and its publisher signature,
//! checked on the file's bytes at every load, before anything is compiled
//! or taken from the compile cache, so that a cached compile never stands
//! in for a check.

use plumbline_protocol::plugin_signature;
/// A publisher's public key, as `[plugin_trust]` lists it.
pub use plumbline_protocol::plugin_signature::PublisherKey;

/// What the operator trusts for one plugin section.
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    /// The config section (`[plugins.NAME]`), named in refusals.
    pub section: String,
    /// `[plugin_trust] publishers`.
    pub publishers: Vec<PublisherKey>,
    /// The section's `sha256` pin, lowercase hex.
    pub sha256: Option<String>,
    /// The section's `allow_unsigned`: no trusted signature needed.
    pub allow_unsigned: bool,
    /// False only to look at a file (`plugins inspect`): nothing refused.
    enforce: bool,
}

/// What a component carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureState {
    /// No signature section.
    Unsigned,
    /// A signature that verifies, by this key.
    Signed(PublisherKey),
    /// A signature that does not verify, claiming this key.
    Broken(PublisherKey),
}

impl SignatureState {
    /// One line for `plugins inspect`.
    pub fn describe(&self) -> String {
        match self {
            SignatureState::Unsigned => "unsigned".into(),
            SignatureState::Signed(k) => format!("signed by key {} ({k})", k.key_id()),
            SignatureState::Broken(k) => format!("BROKEN: claims key {}, but does not verify (changed after signing)", k.key_id()),
        }
    }

    /// A word or a key id for `plugins list`.
    pub fn short(&self) -> String {
        match self {
            SignatureState::Unsigned => "unsigned".into(),
            SignatureState::Signed(k) => k.key_id(),
            SignatureState::Broken(_) => "BROKEN".into(),
        }
    }
}

impl TrustPolicy {
    /// The policy of one config section.
    pub fn new(section: &str, publishers: Vec<PublisherKey>, sha256: Option<String>, allow_unsigned: bool) -> Self {
        TrustPolicy { section: section.to_string(), publishers, sha256, allow_unsigned, enforce: true }
    }

    /// Refuse nothing, only say what the file carries: for looking at a
    /// file that is not (yet) configured.
    pub fn inspect_only() -> Self {
        TrustPolicy { section: String::new(), publishers: Vec::new(), sha256: None, allow_unsigned: true, enforce: false }
    }

    /// Check `bytes`: the signature state and the file's sha256 (hex), or
    /// why the plugin is refused, with what was expected and what to do.
    pub fn check(&self, bytes: &[u8]) -> Result<(SignatureState, String), Refusal> {
        let parsed = plugin_signature::parse(bytes).map_err(|e| Refusal::Unreadable(e.to_string()))?;
        let sha256 = hex::encode(parsed.file_sha256);
        self.judge(&parsed, &sha256).map(|state| (state, sha256))
    }

    fn judge(&self, parsed: &plugin_signature::Parsed<'_>, sha256: &str) -> Result<SignatureState, Refusal> {
        let state = match &parsed.signature {
            None => SignatureState::Unsigned,
            Some(s) if parsed.verifies() => SignatureState::Signed(s.key.clone()),
            Some(s) => SignatureState::Broken(s.key.clone()),
        };
        if !self.enforce {
            return Ok(state);
        }
        let section = &self.section;
        if let Some(pin) = &self.sha256 {
            if pin.as_str() != sha256 {
                return Err(Refusal::Denied(format!(
                    "its sha256 is {sha256}, but [plugins.{section}] sha256 pins {pin}; install the build that was pinned, \
                     or, if this new build is meant, set the pin to its sha256"
                )));
            }
        }
        let trusted = self.trusted_list();
        match &state {
            // A signature that does not verify is never waved through, not
            // even by allow_unsigned: it says the file was changed.
            SignatureState::Broken(k) => Err(Refusal::Denied(format!(
                "its signature by key {} does not verify: the file was changed after it was signed; get an intact copy \
                 from its publisher, or sign this one again with `plumbline plugin sign FILE --key KEY`",
                k.key_id()
            ))),
            SignatureState::Signed(k) if self.publishers.contains(k) => Ok(state),
            _ if self.allow_unsigned => Ok(state),
            SignatureState::Signed(k) => Err(Refusal::Denied(format!(
                "it is signed by key {} ({k}), which is not in [plugin_trust] publishers (trusted: {trusted}); add that \
                 key if you trust its publisher, or set allow_unsigned = true in [plugins.{section}]",
                k.key_id()
            ))),
            SignatureState::Unsigned => Err(Refusal::Denied(format!(
                "it is not signed, and [plugins.{section}] does not set allow_unsigned; use a build signed by a key in \
                 [plugin_trust] publishers (trusted: {trusted}), sign it with `plumbline plugin sign FILE --key KEY`, \
                 or set allow_unsigned = true in [plugins.{section}]"
            ))),
        }
    }

    fn trusted_list(&self) -> String {
        match self.publishers.is_empty() {
            true => "none listed".into(),
            false => self.publishers.iter().map(PublisherKey::key_id).collect::<Vec<_>>().join(", "),
        }
    }
}

/// Why a component was not let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Its sections could not be read.
    Unreadable(String),
    /// The policy says no.
    Denied(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use plumbline_protocol::plugin_signature::{sign, PublisherSecret};
    use sha2::{Digest, Sha256};

    fn component() -> Vec<u8> {
        b"\0asm\x0d\0\x01\0\0\x04\x03xyz".to_vec()
    }

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    fn denied(policy: &TrustPolicy, bytes: &[u8]) -> String {
        match policy.check(bytes) {
            Err(Refusal::Denied(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_signature_by_a_trusted_key_passes() {
        let secret = PublisherSecret::generate();
        let signed = sign(&component(), &secret).unwrap();
        let policy = TrustPolicy::new("p", vec![secret.public()], None, false);
        assert_eq!(policy.check(&signed).unwrap(), (SignatureState::Signed(secret.public()), sha(&signed)));
    }

    #[test]
    fn unsigned_is_refused_unless_allowed() {
        let trusted = PublisherSecret::generate().public();
        let m = denied(&TrustPolicy::new("p", vec![trusted.clone()], None, false), &component());
        assert!(m.contains("not signed") && m.contains(&trusted.key_id()) && m.contains("allow_unsigned = true"), "{m}");
        let allowed = TrustPolicy::new("p", vec![], None, true);
        assert_eq!(allowed.check(&component()).unwrap().0, SignatureState::Unsigned);
    }

    #[test]
    fn an_untrusted_key_is_named_beside_the_trusted_ones() {
        let (signer, trusted) = (PublisherSecret::generate(), PublisherSecret::generate().public());
        let signed = sign(&component(), &signer).unwrap();
        let m = denied(&TrustPolicy::new("p", vec![trusted.clone()], None, false), &signed);
        assert!(m.contains(&signer.public().key_id()) && m.contains(&format!("trusted: {}", trusted.key_id())), "{m}");
        assert!(denied(&TrustPolicy::new("p", vec![], None, false), &signed).contains("trusted: none listed"));
    }

    #[test]
    fn a_tampered_component_is_refused_even_when_unsigned_ones_are_allowed() {
        let secret = PublisherSecret::generate();
        let mut signed = sign(&component(), &secret).unwrap();
        signed[10] ^= 1;
        for allow in [false, true] {
            let m = denied(&TrustPolicy::new("p", vec![secret.public()], None, allow), &signed);
            assert!(m.contains("does not verify") && m.contains(&secret.public().key_id()), "{m}");
        }
    }

    #[test]
    fn a_pin_mismatch_shows_both_hashes() {
        let pin = "0".repeat(64);
        let m = denied(&TrustPolicy::new("p", vec![], Some(pin.clone()), true), &component());
        assert!(m.contains(&pin) && m.contains(&sha(&component())), "{m}");
        let matching = TrustPolicy::new("p", vec![], Some(sha(&component())), true);
        assert!(matching.check(&component()).is_ok());
    }

    #[test]
    fn inspecting_refuses_nothing_but_tells_the_state() {
        let secret = PublisherSecret::generate();
        let mut signed = sign(&component(), &secret).unwrap();
        signed[10] ^= 1;
        let (state, _) = TrustPolicy::inspect_only().check(&signed).unwrap();
        assert_eq!(state, SignatureState::Broken(secret.public()));
        assert!(state.describe().contains("does not verify"));
    }
}
