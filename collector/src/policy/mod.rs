//! Policy for agents, kept by the MSP as files in the data dir:
//!
//! - `policy/tenants/TENANT.toml`: one tenant's;
//! - `policy/groups/GROUP.toml`: shared by the tenants that
//!   `policy/tenant-groups.toml` maps to it (`TENANT = "GROUP"`, one group
//!   per tenant).
//!
//! Each file holds `[schedule]` and `[plugins.NAME]` sections written as in
//! the agent's own config; a plugin section names its component by
//! `sha256`, a file in `plugins/` the collector serves ([`plugins`]). The
//! tenant's file wins over its group's, section by section (`[schedule]`
//! whole, each `[plugins.NAME]` whole). The result is signed for the asking
//! agent's tenant and site ([`PolicyService::signed`]) under the tenant's
//! serial, which the store raises whenever the result changes. The agent
//! checks the rest (settings against what each plugin declares, grants
//! against its config's schema).

pub mod check;
pub mod edit;
pub mod key;
pub mod plugins;

use crate::store::{Store, StoreError};
use crate::timestamp;
use plumbline_protocol::policy::{PolicyDocument, PolicyKey, PolicySigner, POLICY_SCHEMA};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// How long a signed policy holds: an agent cut off from its collector
/// keeps applying the last one it verified for a week, then runs its local
/// config alone, so a policy withdrawn while it was away does not live on.
pub const DEFAULT_VALIDITY: time::Duration = time::Duration::days(7);

/// Largest policy file read: a policy is a few sections, not data.
pub const MAX_POLICY_FILE_BYTES: u64 = 256 * 1024;

/// Sections a policy file may hold; the agent's other sections (delivery,
/// credentials, endpoints, trust) stay in its local config.
const SECTIONS: [&str; 2] = ["schedule", "plugins"];

/// Why no policy could be served.
#[derive(Debug, thiserror::Error)]
pub enum PolicySourceError {
    /// The tenant has none: its agents run their local config.
    #[error("no policy for tenant {0:?}")]
    None(String),
    /// A policy file is unusable.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The policy files and the key that signs what they say.
pub struct PolicyService {
    data_dir: PathBuf,
    signer: PolicySigner,
    /// How long what is signed holds.
    pub validity: time::Duration,
}

/// Where the policy files of the collector with this data dir are.
pub fn policy_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("policy")
}

/// A tenant's own policy file in `policy_dir`; `None` for an id that is not one.
pub fn tenant_file(policy_dir: &Path, tenant: &str) -> Option<PathBuf> {
    crate::admin::valid_id(tenant).then(|| policy_dir.join("tenants").join(format!("{tenant}.toml")))
}

impl PolicyService {
    /// Policy from `data_dir`, signed with `signer`.
    pub fn new(data_dir: &Path, signer: PolicySigner) -> PolicyService {
        PolicyService { data_dir: data_dir.to_path_buf(), signer, validity: DEFAULT_VALIDITY }
    }

    /// The key agents pin.
    pub fn public_key(&self) -> PolicyKey {
        self.signer.public()
    }

    /// Where the policy files are.
    pub fn dir(&self) -> PathBuf {
        policy_dir(&self.data_dir)
    }

    /// Where the plugin files are.
    pub fn plugin_dir(&self) -> PathBuf {
        self.data_dir.join("plugins")
    }

    /// The tenant's policy as TOML: its group's file overlaid with its own.
    pub fn content(&self, tenant: &str) -> Result<String, PolicySourceError> {
        content_in(&self.dir(), tenant)
    }

    /// The signed policy for an agent of `tenant` at `site`, as envelope JSON.
    pub async fn signed(&self, store: &dyn Store, tenant: &str, site: &str) -> Result<Vec<u8>, PolicySourceError> {
        let content = self.content(tenant)?;
        let digest = hex::encode(Sha256::digest(content.as_bytes()));
        let now = time::OffsetDateTime::now_utc();
        let serial = store.policy_serial(tenant, &digest, &timestamp::format(now)).await?;
        let doc = PolicyDocument {
            schema: POLICY_SCHEMA,
            tenant_id: tenant.to_string(),
            site_id: site.to_string(),
            serial,
            issued_at: rfc3339(now),
            expires_at: rfc3339(now + self.validity),
            content,
        };
        Ok(self.signer.sign(&doc))
    }
}

/// The group `tenant-groups.toml` in `dir` puts `tenant` in, if any.
pub fn group_of(dir: &Path, tenant: &str) -> Result<Option<String>, PolicySourceError> {
    match read_table(&groups_file(dir))? {
        None => Ok(None),
        Some((path, table)) => match table.get(tenant) {
            None => Ok(None),
            Some(toml::Value::String(g)) if crate::admin::valid_id(g) => Ok(Some(g.clone())),
            Some(other) => Err(invalid(&path, format!("{tenant} = {other}: write the group's name, e.g. {tenant} = \"standard\""))),
        },
    }
}

/// Where the tenant-to-group map is.
pub fn groups_file(dir: &Path) -> PathBuf {
    dir.join("tenant-groups.toml")
}

/// A group's policy file in `dir`.
pub fn group_file(dir: &Path, group: &str) -> PathBuf {
    dir.join("groups").join(format!("{group}.toml"))
}

/// The policy of `tenant` from the files in `dir`: its group's file
/// overlaid with its own.
pub fn content_in(dir: &Path, tenant: &str) -> Result<String, PolicySourceError> {
    if !crate::admin::valid_id(tenant) {
        return Err(PolicySourceError::None(tenant.to_string()));
    }
    let group_table = group_table(dir, tenant)?;
    let own = match tenant_file(dir, tenant) {
        Some(path) => read_table(&path)?,
        None => None,
    };
    merge(group_table, own, tenant)
}

/// The file of the group `tenant` is mapped to, read, if it is mapped.
pub(crate) fn group_table(dir: &Path, tenant: &str) -> Result<Option<(PathBuf, toml::Table)>, PolicySourceError> {
    let group = group_of(dir, tenant)?;
    Ok(match &group {
        None => None,
        Some(g) => {
            let path = group_file(dir, g);
            let found = read_table(&path)?;
            if found.is_none() {
                let why = format!("tenant-groups.toml puts {tenant} in group {g}, but this file does not exist; write it, or remove the line");
                return Err(invalid(&path, why));
            }
            found
        }
    })
}

/// The group's table overlaid with the tenant's own, each checked first.
pub(crate) fn merge(
    group_table: Option<(PathBuf, toml::Table)>,
    own: Option<(PathBuf, toml::Table)>,
    tenant: &str,
) -> Result<String, PolicySourceError> {
    if group_table.is_none() && own.is_none() {
        return Err(PolicySourceError::None(tenant.to_string()));
    }
    let mut merged = toml::Table::new();
    for (path, table) in group_table.into_iter().chain(own) {
        check_sections(&path, &table)?;
        overlay(&mut merged, table);
    }
    Ok(toml::to_string(&merged).expect("a TOML table serializes"))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a UTC time formats")
}

fn invalid(path: &Path, message: impl Into<String>) -> PolicySourceError {
    PolicySourceError::Invalid { path: path.to_path_buf(), message: message.into() }
}

/// A TOML file as a table; `None` when there is no such file.
fn read_table(path: &Path) -> Result<Option<(PathBuf, toml::Table)>, PolicySourceError> {
    let io = |e: std::io::Error| invalid(path, format!("cannot read it ({e}); check its permissions"));
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
        Ok(m) if m.len() > MAX_POLICY_FILE_BYTES => {
            return Err(invalid(path, format!("{} bytes, more than the {MAX_POLICY_FILE_BYTES} a policy file may have", m.len())))
        }
        Ok(_) => {}
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let table: toml::Table = text.parse().map_err(|e| invalid(path, format!("not valid TOML: {e}")))?;
    Ok(Some((path.to_path_buf(), table)))
}

fn check_sections(path: &Path, table: &toml::Table) -> Result<(), PolicySourceError> {
    if let Some(key) = table.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
        return Err(invalid(
            path,
            format!(
                "`{key}` cannot be set by policy: a policy holds only [schedule] and [plugins.NAME] sections; \
                 delivery, credentials, endpoints and plugin trust stay in each agent's local config"
            ),
        ));
    }
    if let Some(plugins) = table.get("plugins") {
        let Some(plugins) = plugins.as_table() else {
            return Err(invalid(path, "`plugins` must be sections, [plugins.NAME]"));
        };
        for (name, section) in plugins {
            let pinned = section.get("sha256").and_then(toml::Value::as_str).is_some_and(|s| s.trim().len() == 64);
            if !pinned {
                return Err(invalid(
                    path,
                    format!(
                        "[plugins.{name}] names no sha256: a policy names each plugin by the sha256 of a file in the \
                         collector's plugins folder (`sha256sum FILE`)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `over`'s sections replace `base`'s: `[schedule]` whole, each plugin whole.
fn overlay(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (key.as_str(), value, base.get_mut(&key)) {
            ("plugins", toml::Value::Table(plugins), Some(toml::Value::Table(existing))) => existing.extend(plugins),
            (_, value, _) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(dir: &Path) -> PolicyService {
        PolicyService::new(dir, PolicySigner::generate())
    }

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join("policy").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    const SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn a_tenant_file_wins_over_its_group_section_by_section() {
        let dir = tempfile::tempdir().unwrap();
        let p = service(dir.path());
        assert!(matches!(p.content("contoso"), Err(PolicySourceError::None(_))));
        write(dir.path(), "tenant-groups.toml", "contoso = \"standard\"\n");
        write(
            dir.path(),
            "groups/standard.toml",
            &format!("[schedule]\nevery = \"6h\"\n[plugins.a]\nsha256 = \"{SHA}\"\n[plugins.b]\nsha256 = \"{SHA}\"\nenabled = false\n"),
        );
        write(dir.path(), "tenants/contoso.toml", &format!("[plugins.b]\nsha256 = \"{SHA}\"\n"));
        let merged: toml::Table = p.content("contoso").unwrap().parse().unwrap();
        assert_eq!(merged["schedule"]["every"].as_str(), Some("6h"), "the group's schedule");
        assert!(merged["plugins"]["a"].get("sha256").is_some(), "the group's plugin");
        assert!(merged["plugins"]["b"].get("enabled").is_none(), "the tenant's section replaced the group's whole");
    }

    #[test]
    fn a_policy_may_not_set_delivery_or_leave_a_plugin_unpinned() {
        let dir = tempfile::tempdir().unwrap();
        let p = service(dir.path());
        write(dir.path(), "tenants/contoso.toml", "[delivery]\ncollector_url = \"https://evil.example\"\n");
        let e = p.content("contoso").unwrap_err().to_string();
        assert!(e.contains("`delivery` cannot be set by policy") && e.contains("local config"), "{e}");
        write(dir.path(), "tenants/contoso.toml", "[plugins.a]\nenabled = true\n");
        let e = p.content("contoso").unwrap_err().to_string();
        assert!(e.contains("names no sha256") && e.contains("sha256sum"), "{e}");
        write(dir.path(), "tenant-groups.toml", "contoso = \"missing\"\n");
        let e = p.content("contoso").unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        assert!(matches!(p.content("../etc"), Err(PolicySourceError::None(_))), "a tenant id is never a path");
    }
}
