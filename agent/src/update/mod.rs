//! Signed self-update: the agent asks its collector for the newest release
//! of its platform and channel, and replaces itself only with a binary the
//! MSP signed for ([`plumbline_protocol::release`]).
//!
//! In order, each step refusing with what was expected and what to do, and
//! nothing changed on a refusal:
//! 1. `GET /v1/releases/latest` (signed as this agent, like a batch);
//! 2. the manifest's signature by a key in `[update] release_keys`, strict;
//! 3. its platform and channel are this agent's, and it has not expired
//!    (a replayed old manifest would freeze the fleet on an old release);
//! 4. its version is above the highest this agent has verified
//!    ([`state`], against rollback) and not below the running one;
//! 5. `GET /v1/releases/{sha256}`: the size and sha256 the manifest names;
//! 6. staged beside the executable, the new binary's own `self-check` must
//!    print the manifest's version ([`stage`]); else it is deleted;
//! 7. the swap ([`swap`]), then the self-check again at the executable's
//!    own path; a failure puts the old binary back;
//! 8. the new release is on probation until the service has finished a scan
//!    on it: one that crashes in a loop is put back ([`probation`]).

pub mod probation;
pub mod stage;
pub mod state;
pub mod swap;

use crate::config::Resolved;
use crate::delivery::{limits, Delivery};
use crate::platform::clock::now_rfc3339;
use plumbline_protocol::release::{self, Manifest, Version, MAX_MANIFEST_BYTES};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// This build's version: what `self-check` prints and updates compare to.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// What `plumbline self-check` prints before its version.
pub const SELF_CHECK_PREFIX: &str = "plumbline-self-check";
/// Longest the download of a release binary may take: 25 MB on a slow
/// site link (2 Mbit/s) is under two minutes; this leaves room.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The line `plumbline self-check` prints for `version` on this platform.
pub fn self_check_line(version: &str) -> String {
    format!("{SELF_CHECK_PREFIX} {version} {}", release::this_platform())
}

/// Why an update did not happen. A refusal changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// Not set up for updates (no keys, not enrolled).
    #[error("{0}")]
    Setup(String),
    /// The collector could not be reached or answered nonsense: the next
    /// check tries again.
    #[error("collector {url}: {message}")]
    Collector {
        /// The endpoint.
        url: String,
        /// What happened.
        message: String,
    },
    /// The release is not to be trusted: nothing was installed.
    #[error("update refused: {0}")]
    Refused(String),
    /// The new binary did not pass its self-check: the old one stays.
    #[error("update rolled back: {0}")]
    RolledBack(String),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl UpdateError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> UpdateError {
        let what = what.into();
        move |source| UpdateError::Io { what, source }
    }
}

/// What an update check came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The collector publishes nothing for this platform and channel.
    NoRelease,
    /// The newest release is the one this agent runs (or has verified).
    UpToDate(String),
    /// A newer release verified; only checking, so nothing was installed.
    Available {
        /// The running version.
        from: String,
        /// The release's.
        to: String,
    },
    /// Installed: the executable is the new release.
    Installed {
        /// The version that was running.
        from: String,
        /// The version installed.
        to: String,
        /// The executable replaced.
        exe: PathBuf,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::NoRelease => write!(f, "the collector publishes no release for {}", release::this_platform()),
            Outcome::UpToDate(v) => write!(f, "up to date: {v} is the newest release"),
            Outcome::Available { from, to } => write!(f, "update available: {from} -> {to} (`plumbline update` installs it)"),
            Outcome::Installed { from, to, exe } => write!(f, "updated {} from {from} to {to}", exe.display()),
        }
    }
}

/// Check the collector for a newer release and, unless `check_only`,
/// install it over `exe`. What came of it is recorded for the service.
pub async fn update(config: &Resolved, exe: &Path, check_only: bool) -> Result<Outcome, UpdateError> {
    let result = run(config, exe, check_only).await;
    // Read after `run`, which records the highest version it verified.
    if let Ok(mut remembered) = state::load(&config.delivery.spool_dir) {
        remembered.last_check_at = Some(now_rfc3339());
        remembered.last_result = Some(match &result {
            Ok(o) => o.to_string(),
            Err(e) => e.to_string(),
        });
        if let Err(e) = state::save(&config.delivery.spool_dir, &remembered) {
            tracing::warn!("{e}");
        }
    }
    result
}

/// Whether `[update] check_every` has passed since the last check.
pub fn is_due(config: &Resolved) -> bool {
    let last = state::load(&config.delivery.spool_dir).ok().and_then(|s| s.last_check_at);
    let parsed = last.and_then(|t| time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok());
    match parsed {
        None => true,
        Some(at) => time::OffsetDateTime::now_utc() - at >= config.update.check_every,
    }
}

async fn run(config: &Resolved, exe: &Path, check_only: bool) -> Result<Outcome, UpdateError> {
    let settings = &config.update;
    if settings.release_keys.is_empty() {
        return Err(UpdateError::Setup(format!(
            "{} lists no [update] release_keys, so no release could be trusted; add the MSP's release key \
             (release_keys = [\"ed25519:...\"], as `plumbline release keygen` prints it)",
            config.source.display()
        )));
    }
    let delivery = Delivery::prepare(config).map_err(|e| UpdateError::Setup(e.to_string()))?;
    let platform = release::this_platform();
    let query = format!("platform={platform}&channel={}", settings.channel);
    let answer = get(&delivery, "v1/releases/latest", Some(&query), MAX_MANIFEST_BYTES + 1, limits::REQUEST_TIMEOUT).await?;
    if answer.status == 404 && answer.text().contains("no_release") {
        return Ok(Outcome::NoRelease);
    }
    let manifest_url = delivery.collector().endpoint("v1/releases/latest").to_string();
    if answer.status != 200 {
        return Err(UpdateError::Collector { url: manifest_url, message: format!("answered {}: {}", answer.status, answer.text()) });
    }
    let manifest = release::verify(&answer.body, &settings.release_keys).map_err(|e| UpdateError::Refused(e.to_string()))?;
    let version = judge(config, &manifest)?;
    let running = VERSION.to_string();
    let floor = highest_verified(config)?;
    if version <= floor {
        return Ok(Outcome::UpToDate(manifest.version));
    }
    if check_only {
        return Ok(Outcome::Available { from: running, to: manifest.version });
    }
    let bytes = download(&delivery, &manifest).await?;
    let staged = stage::stage(exe, &bytes)?;
    drop(bytes);
    if let Err(why) = stage::self_check(&staged, &manifest.version).await {
        let _ = std::fs::remove_file(&staged);
        // Authentic but broken: remembered, so it is not fetched again and
        // again; the MSP publishes a fixed, higher version.
        remember(config, &manifest.version)?;
        return Err(UpdateError::RolledBack(format!(
            "the new binary (release {}) failed its self-check: {why}; it was deleted and {} still runs {running}. \
             Publish a fixed release with a higher version",
            manifest.version,
            exe.display()
        )));
    }
    swap::swap(exe, &staged)?;
    if let Err(why) = stage::self_check(exe, &manifest.version).await {
        swap::restore(exe)?;
        remember(config, &manifest.version)?;
        return Err(UpdateError::RolledBack(format!(
            "release {} failed its self-check after the swap: {why}; the old binary ({running}) was put back in {}",
            manifest.version,
            exe.display()
        )));
    }
    let mut s = state::load(&config.delivery.spool_dir)?;
    s.highest_verified = Some(manifest.version.clone());
    s.probation = Some(state::Probation { version: manifest.version.clone(), from: running.clone(), starts: 0 });
    state::save(&config.delivery.spool_dir, &s)?;
    Ok(Outcome::Installed { from: running, to: manifest.version, exe: exe.to_path_buf() })
}

/// The manifest's platform, channel, expiry and version, judged; its version.
fn judge(config: &Resolved, manifest: &Manifest) -> Result<Version, UpdateError> {
    let refuse = |m: String| Err(UpdateError::Refused(m));
    let platform = release::this_platform();
    if manifest.platform != platform || manifest.channel != config.update.channel {
        return refuse(format!(
            "the collector answered a manifest for {} on channel {:?}, but this agent is {platform} on {:?}; \
             check the release published with `plumbline-collector release list`",
            manifest.platform, manifest.channel, config.update.channel
        ));
    }
    if release::is_expired(manifest, time::OffsetDateTime::now_utc()) {
        return refuse(format!(
            "the manifest of release {} expired at {} (now {}); an expired manifest may be an old one replayed to \
             keep this agent on an old release, so it is never installed. The MSP signs it again with a new expiry \
             (`plumbline release sign`) and publishes it (`plumbline-collector release add`)",
            manifest.version,
            manifest.expires_at,
            now_rfc3339()
        ));
    }
    let version = Version::parse(&manifest.version).map_err(UpdateError::Refused)?;
    let running = Version::parse(VERSION).expect("the crate version is semver");
    let floor = highest_verified(config)?;
    if version < running || version < floor {
        return refuse(format!(
            "the collector offers release {}, lower than this agent's {VERSION} or the highest it has verified \
             ({floor}); installing it would be a downgrade (a rollback attack replays an old signed release), so \
             it is refused. To go back on purpose, install the old binary by hand",
            manifest.version
        ));
    }
    Ok(version)
}

/// The highest version verified here; the running one before any.
fn highest_verified(config: &Resolved) -> Result<Version, UpdateError> {
    let running = Version::parse(VERSION).expect("the crate version is semver");
    match state::load(&config.delivery.spool_dir)?.highest_verified {
        None => Ok(running),
        Some(text) => Version::parse(&text).map_err(|why| {
            UpdateError::Setup(format!(
                "{}: highest_verified: {why}",
                state::state_file(&config.delivery.spool_dir).display()
            ))
        }),
    }
}

fn remember(config: &Resolved, version: &str) -> Result<(), UpdateError> {
    let mut s = state::load(&config.delivery.spool_dir)?;
    s.highest_verified = Some(version.to_string());
    state::save(&config.delivery.spool_dir, &s)
}

async fn get(
    delivery: &Delivery,
    path: &str,
    query: Option<&str>,
    max_bytes: usize,
    timeout: Duration,
) -> Result<crate::delivery::client::Answer, UpdateError> {
    let collector = delivery.collector();
    collector
        .get_signed(path, query, delivery.key(), max_bytes, timeout)
        .await
        .map_err(|message| UpdateError::Collector { url: collector.endpoint(path).to_string(), message })
}

/// The binary the manifest names, checked against its size and sha256.
async fn download(delivery: &Delivery, manifest: &Manifest) -> Result<Vec<u8>, UpdateError> {
    let path = format!("v1/releases/{}", manifest.sha256);
    let max = usize::try_from(manifest.size).unwrap_or(usize::MAX - 1).saturating_add(1);
    let answer = get(delivery, &path, None, max, DOWNLOAD_TIMEOUT).await?;
    if answer.status != 200 {
        let url = delivery.collector().endpoint(&path).to_string();
        return Err(UpdateError::Collector { url, message: format!("answered {}: {}", answer.status, answer.text()) });
    }
    let sha256 = hex::encode(Sha256::digest(&answer.body));
    if answer.body.len() as u64 != manifest.size || sha256 != manifest.sha256 {
        return Err(UpdateError::Refused(format!(
            "the binary the collector served for release {} is {} bytes with sha256 {sha256}, but the signed \
             manifest names {} bytes with sha256 {}: it was changed or damaged on the collector or on the way, so \
             nothing was installed. Publish the signed binary again (`plumbline-collector release add`)",
            manifest.version,
            if answer.body.len() as u64 > manifest.size { format!("over {}", manifest.size) } else { answer.body.len().to_string() },
            manifest.size,
            manifest.sha256
        )));
    }
    Ok(answer.body)
}
