//! The plugins a policy names, fetched from the collector by sha256
//! (`GET /v1/plugins/SHA256`) into `CACHE_DIR/fetched-plugins/`. A download
//! is kept only once its sha256 is the one the policy names and it passes
//! the local `[plugin_trust]` check; anything else is refused and never
//! written. The scan checks the file again when it loads it.

use crate::delivery::Delivery;
use crate::platform::private::{self, Access};
use crate::runtime::limits::MAX_COMPONENT_BYTES;
use crate::runtime::trust::{Refusal, TrustPolicy};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The folder fetched plugins are kept in, below the cache dir.
pub fn dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("fetched-plugins")
}

/// Make sure `file` holds the component `sha256` for section `name`:
/// there already and intact, else fetched, checked and written.
pub async fn ensure(delivery: &Delivery, name: &str, sha256: &str, file: &Path, trust: &TrustPolicy) -> Result<(), String> {
    if let Ok(bytes) = std::fs::read(file) {
        if hex::encode(Sha256::digest(&bytes)) == sha256 {
            return Ok(());
        }
        // A cached copy that changed is fetched again, never run.
        tracing::warn!(plugin = name, "the cached {} is not the sha256 the policy names; fetching it again", file.display());
    }
    let collector = delivery.collector();
    let url = collector.endpoint(&format!("v1/plugins/{sha256}"));
    let cap = MAX_COMPONENT_BYTES as usize + 1;
    let answer = collector
        .get_signed(&format!("v1/plugins/{sha256}"), None, delivery.key(), cap, crate::delivery::limits::REQUEST_TIMEOUT)
        .await
        .map_err(|e| format!("plugin {name} ({sha256}) could not be fetched from {url}: {e}; it is fetched again at the next run"))?;
    if answer.status != 200 {
        return Err(format!("plugin {name}: {url} answered HTTP {}: {}", answer.status, answer.text()));
    }
    if answer.body.len() >= cap {
        return Err(format!("plugin {name}: {url} sent more than {MAX_COMPONENT_BYTES} bytes, the most a plugin may be; refused"));
    }
    let got = hex::encode(Sha256::digest(&answer.body));
    if got != sha256 {
        return Err(format!(
            "plugin {name}: the collector sent a file whose sha256 is {got}, not {sha256} as the policy names: it was \
             changed on the way, or the collector's plugins folder holds a wrong file (the MSP's admin checks it); \
             refused and not cached"
        ));
    }
    match trust.check(&answer.body) {
        Ok(_) => {}
        Err(Refusal::Denied(why) | Refusal::Unreadable(why)) => {
            return Err(format!("plugin {name} ({sha256}) from the collector was refused and not cached: {why}"))
        }
    }
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}; check the cache dir's permissions", parent.display()))?;
    }
    private::write_atomic(file, &answer.body, Access::Private)
        .map_err(|e| format!("writing {}: {e}; check the cache dir's permissions", file.display()))?;
    tracing::info!(plugin = name, sha256, "plugin fetched from the collector");
    Ok(())
}
