//! `plumbline-collector policy check`: what each tenant's agents would be
//! sent, checked on the collector when the MSP edits the files, not found
//! out later one agent log at a time. It checks what the collector can:
//! the files parse, hold only policy sections and pin every plugin; each
//! pinned plugin is in the plugins folder; each file is for a tenant (or a
//! group) that exists. What only the plugin knows (the settings it
//! declares) each agent checks when it describes the plugin.

use super::plugins::{is_sha256, PluginIndex};
use super::{content_in, group_of, groups_file, PolicySourceError};
use std::collections::BTreeSet;
use std::path::Path;

/// One plugin a tenant's policy names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLine {
    /// Its section's name.
    pub name: String,
    /// The sha256 it is pinned to.
    pub sha256: String,
    /// `enabled = false` in the policy turns it off at every site.
    pub enabled: bool,
    /// Why an agent could not fetch it, if it could not.
    pub problem: Option<String>,
}

/// What one tenant's agents are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No policy: its agents run their local config alone.
    None,
    /// The merged policy: its schedule and plugins.
    Policy {
        /// The group whose file it starts from.
        group: Option<String>,
        /// `[schedule] every`, when the policy sets it.
        every: Option<String>,
        /// The plugins, by name.
        plugins: Vec<PluginLine>,
    },
    /// The files cannot be served: every agent of the tenant keeps its last
    /// good policy until they are fixed.
    Invalid(String),
}

/// One tenant's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCheck {
    /// The tenant's id.
    pub tenant: String,
    /// Whether the store has this tenant: a policy file for an id it does
    /// not know is a typo that no agent will ever fetch.
    pub known: bool,
    /// What its agents are sent.
    pub verdict: Verdict,
}

impl TenantCheck {
    /// What is wrong, each with what to do.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.known {
            out.push(format!(
                "there is no tenant {:?} on this collector, so no agent fetches this policy: rename the file to a tenant \
                 id `plumbline-collector tenant list` shows, or add the tenant",
                self.tenant
            ));
        }
        match &self.verdict {
            Verdict::Invalid(why) => out.push(why.clone()),
            Verdict::Policy { plugins, .. } => {
                out.extend(plugins.iter().filter_map(|p| p.problem.as_ref().map(|why| format!("[plugins.{}]: {why}", p.name))))
            }
            Verdict::None => {}
        }
        out
    }
}

/// Every tenant's check, and the group files no tenant uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// By tenant id.
    pub tenants: Vec<TenantCheck>,
    /// Group files that `tenant-groups.toml` maps no tenant to.
    pub unused_groups: Vec<String>,
}

impl CheckReport {
    /// How many problems in all.
    pub fn problem_count(&self) -> usize {
        self.tenants.iter().map(|t| t.problems().len()).sum()
    }
}

/// Check the policy files in `policy_dir` against the plugins in
/// `plugin_dir`, for the tenants in `known` and those the files name; only
/// `only` when given.
pub fn check(policy_dir: &Path, plugin_dir: &Path, known: &[String], only: Option<&str>) -> CheckReport {
    let mut ids: BTreeSet<String> = known.iter().cloned().collect();
    ids.extend(file_stems(&policy_dir.join("tenants")));
    let mapped = mapped_tenants(policy_dir);
    ids.extend(mapped.iter().map(|(t, _)| t.clone()));
    let index = PluginIndex::default();
    let tenants = ids
        .into_iter()
        .filter(|t| only.is_none_or(|o| o == t))
        .map(|tenant| TenantCheck {
            known: known.contains(&tenant),
            verdict: verdict(policy_dir, plugin_dir, &index, &tenant),
            tenant,
        })
        .collect();
    let used: BTreeSet<&str> = mapped.iter().map(|(_, g)| g.as_str()).collect();
    let unused_groups = match only {
        Some(_) => Vec::new(),
        None => file_stems(&policy_dir.join("groups")).into_iter().filter(|g| !used.contains(g.as_str())).collect(),
    };
    CheckReport { tenants, unused_groups }
}

fn verdict(policy_dir: &Path, plugin_dir: &Path, index: &PluginIndex, tenant: &str) -> Verdict {
    match content_in(policy_dir, tenant) {
        Ok(content) => verdict_of(&content, group_of(policy_dir, tenant).ok().flatten(), plugin_dir, index),
        Err(PolicySourceError::None(_)) => Verdict::None,
        Err(e) => Verdict::Invalid(e.to_string()),
    }
}

/// The verdict on merged policy `content`, from `group`'s file or not.
pub(super) fn verdict_of(content: &str, group: Option<String>, plugin_dir: &Path, index: &PluginIndex) -> Verdict {
    let table: toml::Table = content.parse().expect("the merged policy was written as TOML");
    let every = table.get("schedule").and_then(|s| s.get("every")).and_then(toml::Value::as_str).map(str::to_string);
    let plugins = table
        .get("plugins")
        .and_then(toml::Value::as_table)
        .map(|plugins| {
            plugins
                .iter()
                .map(|(name, section)| {
                    let sha256 = section.get("sha256").and_then(toml::Value::as_str).unwrap_or_default().to_string();
                    PluginLine {
                        name: name.clone(),
                        enabled: section.get("enabled").and_then(toml::Value::as_bool).unwrap_or(true),
                        problem: plugin_problem(plugin_dir, index, &sha256),
                        sha256,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Verdict::Policy { group, every, plugins }
}

fn plugin_problem(plugin_dir: &Path, index: &PluginIndex, sha256: &str) -> Option<String> {
    // As the agent reads it.
    let sha256 = sha256.trim().to_ascii_lowercase();
    if !is_sha256(&sha256) {
        return Some(format!("sha256 {sha256:?} is not 64 hex digits; copy it from `sha256sum FILE`"));
    }
    match index.find(plugin_dir, &sha256) {
        Ok(Some(_)) => None,
        Ok(None) => Some(format!(
            "no file in {} has sha256 {sha256}, so every agent refuses this policy and keeps its last good one: copy \
             the plugin there, or pin the sha256 of one that is",
            plugin_dir.display()
        )),
        Err(e) => Some(format!("cannot read {} ({e}); check its permissions", plugin_dir.display())),
    }
}

/// The `NAME` of each `NAME.toml` in `dir`.
fn file_stems(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(str::to_string)).flatten()
        })
        .collect();
    out.sort();
    out
}

/// `tenant = "group"` lines of `tenant-groups.toml` (an unreadable file
/// is reported per tenant by [`content_in`]).
fn mapped_tenants(policy_dir: &Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(groups_file(policy_dir)) else { return Vec::new() };
    let Ok(table) = text.parse::<toml::Table>() else { return Vec::new() };
    table.into_iter().map(|(t, g)| (t, g.as_str().unwrap_or_default().to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn each_tenant_s_policy_is_checked_against_the_plugins_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (policy, plugins) = (dir.path().join("policy"), dir.path().join("plugins"));
        write(&plugins, "relay.wasm", "a plugin");
        let sha = hex::encode(Sha256::digest(b"a plugin"));
        let missing = "1".repeat(64);
        write(&policy, "groups/standard.toml", &format!("[schedule]\nevery = \"6h\"\n[plugins.relay]\nsha256 = \"{sha}\"\n"));
        write(&policy, "groups/unused.toml", "[schedule]\nevery = \"1h\"\n");
        write(&policy, "tenant-groups.toml", "contoso = \"standard\"\nfabrikam = \"standard\"\n");
        write(&policy, "tenants/fabrikam.toml", &format!("[plugins.flows]\nsha256 = \"{missing}\"\nenabled = false\n"));
        write(&policy, "tenants/contso.toml", "[schedule]\nevery = \"2h\"\n");
        write(&policy, "tenants/broken.toml", "[delivery]\ncollector_url = \"https://x.example\"\n");
        let known = ["contoso", "fabrikam", "broken", "quiet"].map(String::from);
        let report = check(&policy, &plugins, &known, None);
        let by = |t: &str| report.tenants.iter().find(|c| c.tenant == t).unwrap();

        let contoso = by("contoso");
        assert!(contoso.problems().is_empty(), "{:?}", contoso.problems());
        let Verdict::Policy { group, every, plugins: lines } = &contoso.verdict else { panic!("{contoso:?}") };
        assert_eq!((group.as_deref(), every.as_deref()), (Some("standard"), Some("6h")));
        assert_eq!(lines.iter().map(|p| (p.name.as_str(), p.enabled)).collect::<Vec<_>>(), [("relay", true)]);

        let fabrikam = by("fabrikam").problems();
        assert_eq!(fabrikam.len(), 1, "{fabrikam:?}");
        assert!(fabrikam[0].contains("[plugins.flows]") && fabrikam[0].contains("no file in") && fabrikam[0].contains(&missing), "{fabrikam:?}");

        let typo = by("contso").problems();
        assert!(typo.len() == 1 && typo[0].contains("no tenant \"contso\"") && typo[0].contains("tenant list"), "{typo:?}");
        let broken = by("broken").problems();
        assert!(broken.len() == 1 && broken[0].contains("`delivery` cannot be set by policy"), "{broken:?}");
        assert_eq!(by("quiet").verdict, Verdict::None, "no policy: the local config alone");
        assert_eq!(report.unused_groups, ["unused"]);
        assert_eq!(report.problem_count(), 3);

        let one = check(&policy, &plugins, &known, Some("fabrikam"));
        assert_eq!((one.tenants.len(), one.unused_groups.len(), one.problem_count()), (1, 0, 1));
    }

    #[test]
    fn a_sha256_is_read_as_the_agent_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let (policy, plugins) = (dir.path().join("policy"), dir.path().join("plugins"));
        write(&plugins, "relay.wasm", "a plugin");
        let sha = hex::encode(Sha256::digest(b"a plugin")).to_uppercase();
        write(&policy, "tenants/contoso.toml", &format!("[plugins.relay]\nsha256 = \" {sha}\"\n"));
        let report = check(&policy, &plugins, &["contoso".to_string()], None);
        assert_eq!(report.problem_count(), 0, "upper case and spaces are read as the agent reads them: {report:?}");
        write(&policy, "tenants/contoso.toml", &format!("[plugins.relay]\nsha256 = \"{}zz\"\n", &sha[..62]));
        let problems = check(&policy, &plugins, &["contoso".to_string()], None).tenants[0].problems();
        assert!(problems.len() == 1 && problems[0].contains("not 64 hex digits"), "{problems:?}");
    }
}
