//! Policy from the collector. On each run the agent fetches its site's
//! signed policy (`GET /v1/policy`, signed as the agent), and accepts it
//! only when, in order:
//!
//! 1. it verifies with the collector's policy key pinned at enrollment;
//! 2. it is for this agent's tenant and site, and has not expired;
//! 3. its serial is not lower than the last one accepted (rollback);
//! 4. its content holds only `[schedule]` and `[plugins.NAME]` sections
//!    ([`content`]) and every plugin it names is fetched by sha256 and
//!    passes `[plugin_trust]` ([`plugins`]);
//! 5. merged into the local config (`local_override` wins), the whole loads
//!    as a local config does, and each policy plugin describes itself with
//!    the name of its section and settings it declares.
//!
//! A policy that fails is refused with one log line saying why and what to
//! do, and the last good one ([`cache`], checked again the same way) is
//! applied instead; without one, the local config alone. A collector that
//! has no policy for the tenant withdraws it: the local config alone.

mod cache;
pub mod content;
pub mod plugins;

use crate::config::Resolved;
use crate::delivery::Delivery;
use cache::PolicyCache;
use content::PolicyContent;
use plumbline_protocol::policy::{PolicyDocument, PolicyKey};

/// Largest policy answer read: a policy is a few sections; this leaves
/// room for the envelope's base64 and then some.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

/// The last good policy as kept on disk (`policy.json` beside the
/// enrollment): what the long-lived service watches for a new policy.
pub fn policy_file(settings: &crate::config::DeliverySettings) -> std::path::PathBuf {
    PolicyCache::of(settings).envelope_file().to_path_buf()
}

/// Which policy the run applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// None: the local config alone, and why.
    Local(String),
    /// The policy just fetched.
    Fetched {
        /// Its serial.
        serial: u64,
    },
    /// The last good one, because the fetched one was refused or none came.
    LastGood {
        /// Its serial.
        serial: u64,
    },
}

impl Applied {
    /// The serial of the policy applied, if one is.
    pub fn serial(&self) -> Option<u64> {
        match self {
            Applied::Local(_) => None,
            Applied::Fetched { serial } | Applied::LastGood { serial } => Some(*serial),
        }
    }
}

/// What the collector answered.
enum Answer {
    Policy(Vec<u8>),
    Withdrawn(String),
    Failed(String),
}

/// The config this run uses: `local` with the policy merged in, logged.
pub async fn apply(local: Resolved) -> Resolved {
    let (config, applied) = effective(&local).await;
    match &applied {
        Applied::Local(why) => tracing::info!("no policy from the collector applied: {why}"),
        Applied::Fetched { serial } => tracing::info!(serial, "policy from the collector applied"),
        Applied::LastGood { serial } => tracing::warn!(serial, "the last good policy from the collector applied"),
    }
    config
}

/// `local` with the policy merged in, and which policy that is.
pub async fn effective(local: &Resolved) -> (Resolved, Applied) {
    let alone = |why: String| (local.clone(), Applied::Local(why));
    // Not enrolled: there is no collector to ask, and the run says so itself.
    let Ok(delivery) = Delivery::prepare(local) else { return alone("this agent is not enrolled".into()) };
    let Some(pinned) = delivery.enrollment().policy_key.clone() else {
        return alone("no policy key was pinned at enrollment (an older collector); `plumbline enroll --force` pins one".into());
    };
    let key = match PolicyKey::parse(&pinned) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!("the policy key in {}: {e}", local.delivery.enrollment_file().display());
            return alone("the pinned policy key is unusable".into());
        }
    };
    let cache = PolicyCache::of(&local.delivery);
    let source = delivery.collector().endpoint("v1/policy");
    match fetch(&delivery).await {
        Answer::Policy(envelope) => match accept(local, &delivery, &key, &envelope, cache.serial()).await {
            Ok((config, doc)) => {
                if let Err(e) = cache.save(&envelope, doc.serial) {
                    tracing::warn!("keeping the policy as the last good one: {e}; it applies to this run only");
                }
                return (config, Applied::Fetched { serial: doc.serial });
            }
            Err(why) => tracing::error!(
                "refused the policy from {source}: {why}. The last good policy is kept; the policy is fetched again at \
                 the next run"
            ),
        },
        Answer::Withdrawn(message) => {
            cache.withdraw();
            return alone(format!("the collector has none for this agent ({message})"));
        }
        Answer::Failed(why) => tracing::warn!("could not fetch the policy from {source}: {why}; the last good policy is kept"),
    }
    let Some(envelope) = cache.envelope() else { return alone("no policy was accepted yet".into()) };
    match accept(local, &delivery, &key, &envelope, cache.serial()).await {
        Ok((config, doc)) => (config, Applied::LastGood { serial: doc.serial }),
        Err(why) => {
            tracing::error!("the last good policy cannot be applied either: {why}; running on the local config alone");
            alone("the last good policy no longer holds".into())
        }
    }
}

async fn fetch(delivery: &Delivery) -> Answer {
    let answer = match delivery.collector().get_signed("v1/policy", None, delivery.key(), MAX_POLICY_BYTES, crate::delivery::limits::REQUEST_TIMEOUT).await {
        Ok(a) => a,
        Err(e) => return Answer::Failed(e),
    };
    match answer.status {
        200 if answer.body.len() >= MAX_POLICY_BYTES => Answer::Failed(format!("the policy is over {MAX_POLICY_BYTES} bytes")),
        200 => Answer::Policy(answer.body),
        404 if error_code(&answer.body).as_deref() == Some("no_policy") => Answer::Withdrawn(answer.text()),
        s => Answer::Failed(format!("HTTP {s}: {}", answer.text())),
    }
}

fn error_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<plumbline_protocol::messages::ErrorBody>(body).ok().map(|e| e.error)
}

/// Steps 1 to 5 of the module's list; the merged config, or why not.
async fn accept(
    local: &Resolved,
    delivery: &Delivery,
    key: &PolicyKey,
    envelope: &[u8],
    last_serial: u64,
) -> Result<(Resolved, PolicyDocument), String> {
    let doc = key.open(envelope).map_err(|e| e.to_string())?;
    let (tenant, site) = (&local.config.tenant_id, &local.config.site_id);
    if (&doc.tenant_id, &doc.site_id) != (tenant, site) {
        return Err(format!(
            "it is signed for tenant {:?} site {:?}, not this agent's tenant {tenant:?} site {site:?}; the collector \
             answered for another agent (report it to the MSP)",
            doc.tenant_id, doc.site_id
        ));
    }
    let now = time::OffsetDateTime::now_utc();
    let expires = time::OffsetDateTime::parse(&doc.expires_at, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("its expiry {:?} is not a time ({e})", doc.expires_at))?;
    if expires <= now {
        return Err(format!(
            "it expired at {} (serial {}, issued at {}); an old copy replayed, or this machine's clock is wrong: check \
             the clock (NTP) and that the collector is reachable",
            doc.expires_at, doc.serial, doc.issued_at
        ));
    }
    if doc.serial < last_serial {
        return Err(format!(
            "its serial {} is lower than {last_serial}, the last policy this agent accepted: an older policy replayed \
             (rollback); if the collector's policy history was reset on purpose, delete {} to accept it",
            doc.serial,
            local.delivery.enrollment_file().with_file_name("policy-serial").display()
        ));
    }
    let policy = PolicyContent::parse(&doc.content)?;
    let fetched = plugins::dir(&local.cache_dir);
    let merged = policy.merge(&local.config, &local.overrides, &|sha| content::component_path(&fetched, sha));
    let merged = merged
        .resolve(&local.source)
        .map_err(|e| format!("merged with the local config it does not load: {e} (fix the policy on the collector)"))?;
    let wanted = policy.wanted(&local.overrides);
    for (name, sha) in &wanted {
        let file = content::component_path(&fetched, sha);
        plugins::ensure(delivery, name, sha, &file, &merged.trust(name)).await?;
    }
    check_plugins(&merged, wanted.iter().map(|(n, _)| n.as_str())).await?;
    Ok((merged, doc))
}

/// Each named (enabled) plugin loads, describes itself under its section's
/// name and takes the settings it is given, as a scan would check it.
async fn check_plugins(config: &Resolved, names: impl Iterator<Item = &str>) -> Result<(), String> {
    let runtime = crate::scan::runtime_for(config).map_err(|e| format!("starting the plugin runtime to check it: {e:#}"))?;
    for name in names.filter(|n| config.config.plugins.get(*n).is_some_and(|p| p.enabled)) {
        let mut status = crate::scan::pending(name);
        crate::scan::prepare(config, &runtime, name, &mut status, &|| Ok(()))
            .await
            .map_err(|e| format!("{e} (fix the policy on the collector)"))?;
    }
    Ok(())
}
