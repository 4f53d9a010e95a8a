//! `plumbline enroll`: make a key, register its public half with the
//! collector against the site's enrollment token, and remember what the
//! collector said in `enrollment.json` beside the key.
//!
//! Order, so that no step can strand the other: the new key is written
//! (privately, durably) as `KEY.new`; then the collector is asked; only on
//! its yes does `KEY.new` become the key, and `enrollment.json` is written.
//! A refusal leaves the previous key, if any, untouched.

use super::client::Collector;
use super::{keys, DeliveryError};
use crate::config::DeliverySettings;
use crate::platform::private::{self, Access};
use plumbline_protocol::identity::{public_key_b64, AgentKey};
use plumbline_protocol::messages::{EnrollRequest, EnrollResponse, ErrorBody};
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
    /// The agent id of the key this one replaced (`--force`).
    pub replaced: Option<String>,
}

/// Enroll with the collector at `collector` using `token`. Refuses to
/// replace an existing key unless `force`.
pub async fn enroll(
    settings: &DeliverySettings,
    collector: &url::Url,
    token: &str,
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
    let client = Collector::new(collector.clone(), settings.collector_ca_file.as_deref())?;
    let key = AgentKey::generate();
    keys::stage(key_file, &key)?;
    let answer = ask(&client, &key, token).await;
    let response = match answer {
        Ok(r) => r,
        Err(e) => {
            keys::discard_staged(key_file);
            return Err(e);
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
    };
    enrollment.save(&settings.enrollment_file())?;
    Ok(Enrolled {
        enrollment,
        key_file: key_file.clone(),
        public_key_file: settings.public_key_file(),
        replaced,
    })
}

async fn ask(client: &Collector, key: &AgentKey, token: &str) -> Result<EnrollResponse, DeliveryError> {
    let request = EnrollRequest {
        token: token.to_string(),
        public_key: public_key_b64(&key.verifying()),
        hostname: keys::hostname(),
    };
    let url = client.endpoint("v1/enroll").to_string();
    let fail = |message: String| DeliveryError::Collector { url: url.clone(), message };
    let body = serde_json::to_vec(&request).expect("an enroll request serializes");
    let answer = client.post_json("v1/enroll", body).await.map_err(&fail)?;
    match answer.status {
        200 => serde_json::from_slice::<EnrollResponse>(&answer.body)
            .map_err(|e| fail(format!("answered 200 but not with an enrollment ({e}): {}", answer.text()))),
        s if (300..400).contains(&s) => Err(fail(format!(
            "answered HTTP {s}, a redirect to {}; give that URL to --collector",
            answer.location.as_deref().unwrap_or("(no location)")
        ))),
        s => Err(match serde_json::from_slice::<ErrorBody>(&answer.body) {
            Ok(e) => DeliveryError::Enrollment(format!(
                "the collector refused the enrollment (HTTP {s}, {}): {}",
                e.error, e.message
            )),
            Err(_) => fail(format!("answered HTTP {s}: {}", answer.text())),
        }),
    }
}
