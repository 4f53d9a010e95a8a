//! `plumbline enroll`: make a key, register its public half with the
//! collector against the site's enrollment token, and remember what the
//! collector said in `enrollment.json` beside the key.
//!
//! Order, so that no step can strand the other: the new key is written
//! (privately, durably) as `KEY.new`; then the collector is asked; only on
//! its yes does `KEY.new` become the key, and `enrollment.json` is written.
//! A refusal leaves the previous key, if any, untouched.

use super::client::{Answer, Collector};
use super::{keys, DeliveryError};
use crate::config::DeliverySettings;
use crate::platform::private::{self, Access};
use plumbline_protocol::identity::{public_key_b64, sign_rotation, AgentKey};
use plumbline_protocol::messages::{EnrollRequest, EnrollResponse, ErrorBody, Replacement};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the collector said when it enrolled this agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    /// The collector's base URL, used when the config names none.
    pub collector_url: String,
    /// This agent's id (derived from its public key).
    pub agent_id: String,
    /// The tenant the token was for.
    pub tenant_id: String,
    /// The site the token was for.
    pub site_id: String,
    /// When, RFC 3339.
    pub enrolled_at: String,
    /// The collector's policy key, pinned here: only policy it signs is
    /// applied. None when enrolled with a collector that had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_key: Option<String>,
}

impl Enrollment {
    /// Read `path`; `None` if it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, DeliveryError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(DeliveryError::io(format!("reading {}", path.display()))(e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| DeliveryError::Enrollment(format!("{} is not a Plumbline enrollment record: {e}", path.display())))
    }

    /// Write `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), DeliveryError> {
        let mut json = serde_json::to_vec_pretty(self).expect("an enrollment serializes");
        json.push(b'\n');
        private::write_atomic(path, &json, Access::Private).map_err(DeliveryError::io(format!("writing {}", path.display())))
    }
}

/// The outcome of `plumbline enroll`.
#[derive(Debug)]
pub struct Enrolled {
    /// What the collector said.
    pub enrollment: Enrollment,
    /// The private key.
    pub key_file: PathBuf,
    /// The public key, for the MSP and auditors.
    pub public_key_file: PathBuf,
    /// The agent this one replaced (`--force`).
    pub replaced: Option<Replaced>,
}

/// The agent a forced enrollment replaced.
#[derive(Debug)]
pub struct Replaced {
    /// Its id (or "(unreadable key)").
    pub agent_id: String,
    /// Whether the collector revoked it.
    pub revoked: bool,
    /// Whether the old key could sign the hand-over.
    pub proved: bool,
}

/// What the agent says of itself as it enrolls, for the collector to check
/// against the token before it uses it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Claims<'a> {
    /// The site it runs at (needed with a fleet secret).
    pub site: Option<&'a str>,
    /// Its config's `tenant_id`, when it has a config.
    pub tenant: Option<&'a str>,
}

/// Enroll with the collector at `collector` using `token`, saying `claims`
/// (the site is where a tenant's fleet secret enrolls the agent; a
/// single-use token names its own). Refuses to replace an existing key
/// unless `force`.
pub async fn enroll(
    settings: &DeliverySettings,
    collector: &url::Url,
    token: &str,
    claims: Claims<'_>,
    force: bool,
) -> Result<Enrolled, DeliveryError> {
    let key_file = &settings.key_file;
    let replaced = match (key_file.exists(), keys::existing_agent_id(key_file)) {
        (false, _) => None,
        (true, id) if force => Some(id.unwrap_or_else(|| "(unreadable key)".into())),
        (true, id) => {
            return Err(DeliveryError::AlreadyEnrolled {
                key_file: key_file.clone(),
                agent_id: id.unwrap_or_else(|| "an unreadable key".into()),
            })
        }
    };
    let client = Collector::new(collector.clone(), &settings.trust())?;
    // A key staged by an earlier attempt whose answer was lost is asked
    // again: the collector answers the same key with the same enrollment
    // rather than refusing its used token.
    let (key, fresh) = match keys::staged(key_file) {
        Some(k) => (k, false),
        None => {
            let k = AgentKey::generate();
            keys::stage(key_file, &k)?;
            (k, true)
        }
    };
    // The old key, when it is still at hand, signs the hand-over, so the
    // collector revokes the agent it replaces.
    let old = if replaced.is_some() { keys::load(key_file).ok() } else { None };
    let replaces = old.as_ref().map(|old| Replacement {
        agent_id: old.agent_id(),
        signature: sign_rotation(old, &public_key_b64(&key.verifying())),
    });
    let old_key_signed = replaces.is_some();
    let answer = ask(&client, &key, token, claims, replaces).await;
    let response = match answer {
        Ok(r) => r,
        Err(e) => {
            // A refusal ends the staged key, and so does a key made now that
            // never left this machine (no connection was made). After a
            // lost answer it is kept for the next attempt.
            if matches!(e, Asked::Refused(_)) || (fresh && matches!(e, Asked::Unsent(_))) {
                keys::discard_staged(key_file);
            }
            return Err(e.into());
        }
    };
    if response.agent_id != key.agent_id() {
        keys::discard_staged(key_file);
        return Err(DeliveryError::Enrollment(format!(
            "the collector answered agent id {}, but this key's id is {}; is {} a Plumbline collector?",
            response.agent_id,
            key.agent_id(),
            client.base()
        )));
    }
    keys::commit(key_file, &key, &settings.public_key_file())?;
    let enrollment = Enrollment {
        collector_url: collector.to_string(),
        agent_id: response.agent_id,
        tenant_id: response.tenant_id,
        site_id: response.site_id,
        enrolled_at: crate::platform::clock::now_rfc3339(),
        policy_key: response.policy_key.clone(),
    };
    enrollment.save(&settings.enrollment_file())?;
    Ok(Enrolled {
        enrollment,
        key_file: key_file.clone(),
        public_key_file: settings.public_key_file(),
        replaced: match (response.replaced, replaced) {
            (Some(revoked), _) => Some(Replaced { agent_id: revoked, revoked: true, proved: true }),
            (None, Some(old)) => Some(Replaced { agent_id: old, revoked: false, proved: old_key_signed }),
            (None, None) => None,
        },
    })
}

async fn ask(
    client: &Collector,
    key: &AgentKey,
    token: &str,
    claims: Claims<'_>,
    replaces: Option<Replacement>,
) -> Result<EnrollResponse, Asked> {
    let request = EnrollRequest {
        token: token.to_string(),
        public_key: public_key_b64(&key.verifying()),
        hostname: keys::hostname(),
        replaces,
        site: claims.site.map(str::to_string),
        tenant: claims.tenant.map(str::to_string),
    };
    let url = client.endpoint("v1/enroll").to_string();
    let fail = |message: String| DeliveryError::Collector { url: url.clone(), message };
    let body = serde_json::to_vec(&request).expect("an enroll request serializes");
    let answer = match client.post_json("v1/enroll", body).await {
        Ok(answer) => answer,
        Err(e) if !e.sent => return Err(Asked::Unsent(fail(e.message))),
        Err(e) => return Err(Asked::Lost(fail(e.message))),
    };
    answered(answer, fail)
}

/// How an enrollment request failed: the staged key's fate depends on it.
enum Asked {
    /// The collector refused it: the key will never be enrolled.
    Refused(DeliveryError),
    /// No connection was made: the collector never saw the key.
    Unsent(DeliveryError),
    /// Sent, but no usable answer: the collector may have enrolled the key.
    Lost(DeliveryError),
}

impl From<Asked> for DeliveryError {
    fn from(a: Asked) -> DeliveryError {
        match a {
            Asked::Refused(e) | Asked::Unsent(e) | Asked::Lost(e) => e,
        }
    }
}

fn answered(answer: Answer, fail: impl Fn(String) -> DeliveryError) -> Result<EnrollResponse, Asked> {
    let fail = |message: String| Asked::Lost(fail(message));
    match answer.status {
        200 => serde_json::from_slice::<EnrollResponse>(&answer.body)
            .map_err(|e| fail(format!("answered 200 but not with an enrollment ({e}): {}", answer.text()))),
        s if (300..400).contains(&s) => Err(fail(format!(
            "answered HTTP {s}, a redirect to {}; give that URL to --collector",
            answer.location.as_deref().unwrap_or("(no location)")
        ))),
        s => Err(match serde_json::from_slice::<ErrorBody>(&answer.body) {
            Ok(e) => Asked::Refused(DeliveryError::Enrollment(format!(
                "the collector refused the enrollment (HTTP {s}, {}): {}",
                e.error, e.message
            ))),
            Err(_) => fail(format!("answered HTTP {s}: {}", answer.text())),
        }),
    }
}
