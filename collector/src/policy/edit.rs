//! A tenant's own policy file edited from the console. The new text is
//! checked as `policy check` checks the result (merged with the tenant's
//! group, every pinned plugin in the plugins folder) before it replaces the
//! file, so a save never hands every agent of the tenant a policy they
//! would refuse. Empty text removes the file: the tenant then follows its
//! group, or its agents their local config.

use super::check::{verdict_of, Verdict};
use super::plugins::PluginIndex;
use super::{group_of, group_table, merge, tenant_file, PolicySourceError, MAX_POLICY_FILE_BYTES};
use std::path::Path;

/// What a save replaced, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The file's text before; `None` when there was none.
    pub before: Option<String>,
    /// Its text now; `None` when the save removed it.
    pub after: Option<String>,
}

/// The tenant's own file as it is, if there is one.
pub fn own_text(policy_dir: &Path, tenant: &str) -> std::io::Result<Option<String>> {
    let Some(path) = tenant_file(policy_dir, tenant) else { return Ok(None) };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// What would be wrong if `text` were the tenant's own file; empty when
/// nothing would be.
pub fn problems_with(policy_dir: &Path, plugin_dir: &Path, tenant: &str, text: &str) -> Vec<String> {
    let Some(path) = tenant_file(policy_dir, tenant) else { return vec![format!("{tenant:?} is not a tenant id")] };
    if text.len() as u64 > MAX_POLICY_FILE_BYTES {
        return vec![format!("{} bytes, more than the {MAX_POLICY_FILE_BYTES} a policy file may have", text.len())];
    }
    let own = match text.trim().is_empty() {
        true => None,
        false => match text.parse::<toml::Table>() {
            Ok(table) => Some((path, table)),
            Err(e) => return vec![format!("not valid TOML: {e}")],
        },
    };
    let merged = group_table(policy_dir, tenant).and_then(|group| merge(group, own, tenant));
    let content = match merged {
        Ok(content) => content,
        Err(PolicySourceError::None(_)) => return Vec::new(),
        Err(e) => return vec![e.to_string()],
    };
    let group = group_of(policy_dir, tenant).ok().flatten();
    match verdict_of(&content, group, plugin_dir, &PluginIndex::default()) {
        Verdict::Policy { plugins, .. } => {
            plugins.into_iter().filter_map(|p| p.problem.map(|why| format!("[plugins.{}]: {why}", p.name))).collect()
        }
        Verdict::Invalid(why) => vec![why],
        Verdict::None => Vec::new(),
    }
}

/// Replace the tenant's own file with `text` (checked by the caller with
/// [`problems_with`]), atomically: agents fetching meanwhile get the old
/// policy or the new, never half of one.
pub fn save(policy_dir: &Path, tenant: &str, text: &str) -> std::io::Result<Saved> {
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{tenant:?} is not a tenant id"));
    let path = tenant_file(policy_dir, tenant).ok_or_else(invalid)?;
    let before = own_text(policy_dir, tenant)?;
    if text.trim().is_empty() {
        if before.is_some() {
            std::fs::remove_file(&path)?;
        }
        return Ok(Saved { before, after: None });
    }
    let dir = path.parent().expect("a tenant file is in tenants/");
    std::fs::create_dir_all(dir)?;
    let staged = dir.join(format!(".{tenant}.toml.saving"));
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&staged)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&staged, &path)?;
    Ok(Saved { before, after: Some(text.to_string()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn a_save_is_checked_merged_with_the_group_and_then_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (policy, plugins) = (dir.path().join("policy"), dir.path().join("plugins"));
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::write(plugins.join("relay.wasm"), b"a plugin").unwrap();
        let sha = hex::encode(Sha256::digest(b"a plugin"));
        std::fs::create_dir_all(policy.join("groups")).unwrap();
        std::fs::write(policy.join("tenant-groups.toml"), "contoso = \"standard\"\n").unwrap();
        std::fs::write(policy.join("groups/standard.toml"), format!("[plugins.relay]\nsha256 = \"{sha}\"\n")).unwrap();

        let good = "[schedule]\nevery = \"2h\"\n";
        assert!(problems_with(&policy, &plugins, "contoso", good).is_empty());
        let missing = format!("[plugins.flows]\nsha256 = \"{}\"\n", "2".repeat(64));
        let p = problems_with(&policy, &plugins, "contoso", &missing);
        assert!(p.len() == 1 && p[0].starts_with("[plugins.flows]: no file in"), "{p:?}");
        let p = problems_with(&policy, &plugins, "contoso", "[delivery]\ncollector_url = \"https://x\"\n");
        assert!(p.len() == 1 && p[0].contains("`delivery` cannot be set by policy"), "{p:?}");
        let p = problems_with(&policy, &plugins, "contoso", "[schedule\n");
        assert!(p.len() == 1 && p[0].starts_with("not valid TOML"), "{p:?}");
        assert!(problems_with(&policy, &plugins, "../x", good)[0].contains("not a tenant id"));

        assert_eq!(save(&policy, "contoso", good).unwrap(), Saved { before: None, after: Some(good.into()) });
        assert_eq!(own_text(&policy, "contoso").unwrap().as_deref(), Some(good));
        let merged = super::super::content_in(&policy, "contoso").unwrap();
        assert!(merged.contains("every = \"2h\"") && merged.contains(&sha), "{merged}");
        assert_eq!(save(&policy, "contoso", "  \n").unwrap(), Saved { before: Some(good.into()), after: None });
        assert!(!policy.join("tenants/contoso.toml").exists(), "empty text removes the file");
        assert!(std::fs::read_dir(policy.join("tenants")).unwrap().next().is_none(), "no staged file left behind");
    }
}
