//! Offline mode: the same answers, saved as JSON files in a folder the agent
//! is granted (`export_dir`). `demo/flows/export-flows.ps1` writes them.
//!
//! ```text
//! <export_dir>/
//!   environments.json          the environments answer: {"value": [...]} (or a bare array)
//!   users.json                 optional: Graph getByIds, as {"ids": [asked], "value": [answered]};
//!                              an id asked for and not answered is a deleted user.
//!                              {"value": [...]} or a bare array also work (then missing = unknown)
//!   <environment name>/
//!     flows.json               every flow of the environment: {"value": [...]} or a bare array
//!                              (all pages merged)
//!     permissions.json         {"<flow name>": <that flow's permissions answer>, ...}
//!     definitions.json         optional: {"<flow name>": <GET .../flows/{flow}?$expand=properties.definition answer>, ...}
//!                              (or an array of those answers); flows with a Teams
//!                              webhook or Request trigger need one, and so do flows
//!                              whose summary lists no trigger
//! ```
//!
//! File and folder names are matched case-insensitively. Every file may be
//! UTF-8 or UTF-16 with a byte-order mark (Windows PowerShell's `Out-File`),
//! with dates as the service writes them or as `\/Date(ms)\/`. A missing
//! optional file makes what it holds unknown, never empty: a flow without
//! saved permissions has unknown owners and fires no owner check.
//! Without `environments.json`, every sub-folder holding a `flows.json` is
//! an environment (named after the folder).

use crate::fields::{is_safe_name, text};
use crate::inventory::Source;
use crate::model::{is_user_object, permissions_from_values, Definition, Environment, Flow, Permission, User};
use plumbline_plugin_sdk::ScanError;
use serde_json::Value;
use std::collections::BTreeMap;

/// The environments file.
pub const ENVIRONMENTS_FILE: &str = "environments.json";
/// The users file.
pub const USERS_FILE: &str = "users.json";
/// An environment's flows.
pub const FLOWS_FILE: &str = "flows.json";
/// An environment's permissions, by flow.
pub const PERMISSIONS_FILE: &str = "permissions.json";
/// An environment's definitions, by flow.
pub const DEFINITIONS_FILE: &str = "definitions.json";

/// Read-only files: the host's `files` capability in a scan, `std::fs` in
/// native tests.
pub trait Files {
    /// Entries of a directory: name and whether it is a directory.
    fn list(&mut self, dir: &str) -> Result<Vec<(String, bool)>, ScanError>;
    /// A text file, decoded.
    fn read(&mut self, path: &str) -> Result<String, ScanError>;
}

/// The host's `files` capability.
pub struct HostFiles;

impl Files for HostFiles {
    fn list(&mut self, dir: &str) -> Result<Vec<(String, bool)>, ScanError> {
        use plumbline_plugin_sdk::files::{list_dir, EntryKind};
        Ok(list_dir(dir)?
            .into_iter()
            .map(|e| (e.name, e.kind == EntryKind::Directory))
            .collect())
    }

    fn read(&mut self, path: &str) -> Result<String, ScanError> {
        plumbline_plugin_sdk::files::read_text(path)
    }
}

/// Join with `/` (the host accepts both separators).
fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') || dir.ends_with('\\') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Parse a saved answer; a broken file is [`ScanError::Malformed`] naming it.
pub fn parse_file(text: &str, path: &str) -> Result<Value, ScanError> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|e| {
        let hint = if e.is_eof() { " (the file ends early: truncated or still being written?)" } else { "" };
        ScanError::Malformed(format!("{path}: not valid JSON: {e}{hint}"))
    })
}

/// The items of a saved list answer: `{"value": [...]}`, a bare array,
/// a single object (PowerShell writes one item that way) or nothing.
pub fn items(v: Value, path: &str) -> Result<Vec<Value>, ScanError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => Ok(items),
        Value::Object(mut o) => match o.remove("value") {
            Some(Value::Array(items)) => Ok(items),
            Some(Value::Null) => Ok(Vec::new()),
            Some(other) => {
                o.insert("value".into(), other);
                Ok(vec![Value::Object(o)])
            }
            None => Ok(vec![Value::Object(o)]),
        },
        other => Err(ScanError::Malformed(format!(
            "{path}: expected a list answer ({{\"value\": [...]}} or an array), got {}",
            match other {
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                _ => "a string",
            }
        ))),
    }
}

/// A directory's listing, for case-insensitive lookups.
struct Listing {
    dir: String,
    entries: Vec<(String, bool)>,
}

impl Listing {
    fn file(&self, name: &str) -> Option<String> {
        self.entries
            .iter()
            .find(|(n, is_dir)| !is_dir && n.eq_ignore_ascii_case(name))
            .map(|(n, _)| join(&self.dir, n))
    }

    fn dir(&self, name: &str) -> Option<String> {
        self.entries
            .iter()
            .find(|(n, is_dir)| *is_dir && n.eq_ignore_ascii_case(name))
            .map(|(n, _)| join(&self.dir, n))
    }
}

/// One environment's saved maps, loaded when its flows are read.
#[derive(Default)]
struct EnvFiles {
    name: String,
    permissions: Option<BTreeMap<String, Vec<Permission>>>,
    definitions: Option<BTreeMap<String, Value>>,
}

/// The offline source.
pub struct Offline<F: Files> {
    files: F,
    root: String,
    listing: Option<Listing>,
    current: EnvFiles,
    /// Files read.
    pub files_read: usize,
}

impl<F: Files> Offline<F> {
    /// Read the folder `export_dir` through `files`.
    pub fn new(files: F, export_dir: &str) -> Self {
        Offline {
            files,
            root: export_dir.to_string(),
            listing: None,
            current: EnvFiles::default(),
            files_read: 0,
        }
    }

    fn list(&mut self, dir: &str) -> Result<Listing, ScanError> {
        Ok(Listing {
            dir: dir.to_string(),
            entries: self.files.list(dir)?,
        })
    }

    fn root_listing(&mut self) -> Result<&Listing, ScanError> {
        if self.listing.is_none() {
            let root = self.root.clone();
            let l = self.list(&root).map_err(|e| match e {
                ScanError::Config(m) => ScanError::Config(format!("export_dir: {m}")),
                other => other,
            })?;
            self.listing = Some(l);
        }
        Ok(self.listing.as_ref().expect("just set"))
    }

    fn read_json(&mut self, path: &str) -> Result<Value, ScanError> {
        self.files_read += 1;
        let text = self.files.read(path)?;
        parse_file(&text, path)
    }

    /// Load an environment's permissions and definitions (once).
    fn load_env(&mut self, env: &str, dir: &Listing) -> Result<(), ScanError> {
        let mut loaded = EnvFiles { name: env.to_string(), ..EnvFiles::default() };
        if let Some(path) = dir.file(PERMISSIONS_FILE) {
            let v = self.read_json(&path)?;
            let Value::Object(map) = v else {
                return Err(ScanError::Malformed(format!(
                    "{path}: expected an object with one permissions answer per flow name"
                )));
            };
            let mut perms = BTreeMap::new();
            for (flow, answer) in map {
                perms.insert(flow.to_ascii_lowercase(), permissions_from_values(&items(answer, &path)?));
            }
            loaded.permissions = Some(perms);
        }
        if let Some(path) = dir.file(DEFINITIONS_FILE) {
            let v = self.read_json(&path)?;
            let mut defs = BTreeMap::new();
            match v {
                Value::Object(map) if !map.contains_key("properties") && !map.contains_key("value") => {
                    for (flow, answer) in map {
                        defs.insert(flow.to_ascii_lowercase(), answer);
                    }
                }
                other => {
                    for answer in items(other, &path)? {
                        if let Some(name) = answer.as_object().and_then(|o| text(o, "name")) {
                            defs.insert(name.to_ascii_lowercase(), answer);
                        }
                    }
                }
            }
            loaded.definitions = Some(defs);
        }
        self.current = loaded;
        Ok(())
    }
}

impl<F: Files> Source for Offline<F> {
    fn environments(&mut self) -> Result<Vec<Environment>, ScanError> {
        let root = self.root.clone();
        let envs_file = self.root_listing()?.file(ENVIRONMENTS_FILE);
        if let Some(path) = envs_file {
            let v = self.read_json(&path)?;
            let mut envs = Vec::new();
            for item in items(v, &path)? {
                match Environment::from_value(&item) {
                    Some(e) if is_safe_name(&e.name) => envs.push(e),
                    Some(e) => {
                        return Err(ScanError::Malformed(format!(
                            "{path}: environment name {:?} is not usable as a folder name",
                            e.name
                        )))
                    }
                    None => return Err(ScanError::Malformed(format!("{path}: an environment has no `name`"))),
                }
            }
            return Ok(envs);
        }
        // No environments.json: every folder with a flows.json is one.
        let dirs: Vec<String> = self
            .root_listing()?
            .entries
            .iter()
            .filter(|(n, is_dir)| *is_dir && is_safe_name(n))
            .map(|(n, _)| n.clone())
            .collect();
        let mut envs = Vec::new();
        for d in dirs {
            let l = self.list(&join(&root, &d))?;
            if l.file(FLOWS_FILE).is_some() {
                envs.push(Environment { name: d, ..Environment::default() });
            }
        }
        if envs.is_empty() {
            return Err(ScanError::Config(format!(
                "export_dir {root} holds neither {ENVIRONMENTS_FILE} nor a folder with {FLOWS_FILE}; \
                 save the answers there as demo/flows/export-flows.ps1 does"
            )));
        }
        Ok(envs)
    }

    fn flows(&mut self, env: &Environment, limit: usize, notes: &mut Vec<String>) -> Result<Option<(Vec<Flow>, bool)>, ScanError> {
        let dir = self.root_listing()?.dir(&env.name);
        let Some(dir) = dir else {
            notes.push(format!(
                "environment {} ({}) has no folder in {}: its flows are unknown",
                env.name,
                env.display(),
                self.root
            ));
            return Ok(None);
        };
        let listing = self.list(&dir)?;
        let Some(path) = listing.file(FLOWS_FILE) else {
            notes.push(format!("{dir} has no {FLOWS_FILE}: the flows of environment {} are unknown", env.name));
            return Ok(None);
        };
        let v = self.read_json(&path)?;
        let all = items(v, &path)?;
        let mut flows = Vec::new();
        let mut skipped = 0;
        let mut more = false;
        for (i, item) in all.iter().enumerate() {
            if flows.len() == limit {
                more = i < all.len();
                break;
            }
            match Flow::from_value(item, &env.name) {
                Ok(f) => flows.push(f),
                Err(_) => skipped += 1,
            }
        }
        if skipped > 0 {
            notes.push(format!("{path}: {skipped} flows had no usable name and were skipped"));
        }
        self.load_env(&env.name, &listing)?;
        if self.current.permissions.is_none() {
            notes.push(format!(
                "{dir} has no {PERMISSIONS_FILE}: the owners of environment {}'s flows are unknown",
                env.name
            ));
        }
        Ok(Some((flows, more)))
    }

    fn permissions(&mut self, env: &str, flow: &str) -> Result<Option<Vec<Permission>>, ScanError> {
        if self.current.name != env {
            return Ok(None);
        }
        Ok(self
            .current
            .permissions
            .as_ref()
            .and_then(|m| m.get(&flow.to_ascii_lowercase()).cloned()))
    }

    fn definition(&mut self, env: &str, flow: &str) -> Result<Option<Definition>, ScanError> {
        if self.current.name != env {
            return Ok(None);
        }
        Ok(self
            .current
            .definitions
            .as_ref()
            .and_then(|m| m.get(&flow.to_ascii_lowercase()))
            .and_then(Definition::from_flow_value))
    }

    fn users(&mut self, ids: &[String], notes: &mut Vec<String>) -> Result<Option<BTreeMap<String, User>>, ScanError> {
        let Some(path) = self.root_listing()?.file(USERS_FILE) else {
            notes.push(format!(
                "{USERS_FILE} not found in {}: owners' account status is unknown, so no flow can be called orphaned",
                self.root
            ));
            return Ok(None);
        };
        let v = self.read_json(&path)?;
        let asked: Option<Vec<String>> = v
            .as_object()
            .and_then(|o| o.get("ids"))
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect());
        let mut users = BTreeMap::new();
        for u in items(v, &path)?.iter().filter(|v| is_user_object(v)).filter_map(User::from_value) {
            users.insert(u.id.to_ascii_lowercase(), u);
        }
        let mut out = BTreeMap::new();
        for id in ids {
            let key = id.to_ascii_lowercase();
            if let Some(u) = users.get(&key) {
                out.insert(id.clone(), User { id: id.clone(), ..u.clone() });
            } else if asked.as_ref().is_some_and(|a| a.contains(&key)) {
                out.insert(id.clone(), User::deleted(id));
            }
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Mode};
    use crate::inventory::{collect, Listing as EnvListing};
    use crate::model::{AccountStatus, AuthKnowledge, TriggerAuth};
    use serde_json::json;

    /// An in-memory folder tree: path -> contents.
    struct Mem(BTreeMap<String, String>);

    impl Files for Mem {
        fn list(&mut self, dir: &str) -> Result<Vec<(String, bool)>, ScanError> {
            let prefix = format!("{dir}/");
            let mut out: Vec<(String, bool)> = Vec::new();
            for p in self.0.keys() {
                if let Some(rest) = p.strip_prefix(&prefix) {
                    let (name, is_dir) = match rest.split_once('/') {
                        Some((d, _)) => (d.to_string(), true),
                        None => (rest.to_string(), false),
                    };
                    if !out.iter().any(|(n, _)| *n == name) {
                        out.push((name, is_dir));
                    }
                }
            }
            if out.is_empty() {
                return Err(ScanError::Config(format!("{dir}: not found")));
            }
            Ok(out)
        }

        fn read(&mut self, path: &str) -> Result<String, ScanError> {
            self.0.get(path).cloned().ok_or_else(|| ScanError::Config(format!("{path}: not found")))
        }
    }

    fn config() -> Config {
        Config { mode: Mode::Offline { export_dir: "/x".into() }, environments: Vec::new(), max_flows: 100 }
    }

    fn tree(extra: &[(&str, Value)]) -> Mem {
        let mut m = BTreeMap::new();
        m.insert("/x/Environments.JSON".to_string(), json!({"value": [{"name": "Default-t", "properties": {"displayName": "Contoso"}}, {"name": "e2"}]}).to_string());
        m.insert("/x/default-t/flows.json".to_string(), json!([
            {"name": "F1", "properties": {"displayName": "One", "definitionSummary": {"triggers": [{"type": "Request", "kind": "Http"}]}}},
            {"name": "f2", "properties": {"displayName": "Two"}},
            {"properties": {}}
        ]).to_string());
        m.insert("/x/default-t/permissions.json".to_string(), json!({
            "f1": {"value": [{"properties": {"roleName": "Owner", "principal": {"id": "u1", "type": "User"}}}]},
            "f2": [{"properties": {"roleName": "Owner", "principal": {"id": "U2", "type": "User"}}}]
        }).to_string());
        m.insert("/x/default-t/definitions.json".to_string(), json!({
            "f1": {"name": "f1", "properties": {"definition": {"triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {"triggerAuthenticationType": "All"}}}}}}
        }).to_string());
        for (p, v) in extra {
            m.insert(p.to_string(), v.to_string());
        }
        Mem(m)
    }

    #[test]
    fn reads_the_documented_layout() {
        let users = json!({"ids": ["u1", "u2"], "value": [{"id": "u1", "accountEnabled": true, "userPrincipalName": "a@contoso.com"}]});
        let mut src = Offline::new(tree(&[("/x/users.json", users)]), "/x");
        let inv = collect(&mut src, &config()).unwrap();
        let env = &inv.environments[0];
        assert_eq!(env.env.display(), "Contoso");
        assert_eq!(env.listing, EnvListing::Complete);
        assert_eq!(env.flows.len(), 2, "the nameless flow is skipped");
        assert_eq!(env.flows[0].auth, AuthKnowledge::Set(TriggerAuth::Anyone), "names match case-insensitively");
        assert_eq!(env.flows[1].permissions.as_ref().unwrap()[0].principal_id, "U2");
        assert_eq!(inv.environments[1].listing, EnvListing::Missing, "e2 has no folder");
        let users = inv.users.unwrap();
        assert_eq!(users["u1"].status, AccountStatus::Enabled);
        assert_eq!(users["U2"].status, AccountStatus::Deleted, "asked for and not answered");
        assert!(inv.notes.iter().any(|n| n.contains("skipped")), "{:?}", inv.notes);
        assert!(inv.notes.iter().any(|n| n.contains("e2")), "{:?}", inv.notes);
    }

    #[test]
    fn users_without_ids_leave_missing_owners_unknown() {
        let users = json!([{"id": "u1", "accountEnabled": false}]);
        let mut src = Offline::new(tree(&[("/x/users.json", users)]), "/x");
        let inv = collect(&mut src, &config()).unwrap();
        let users = inv.users.unwrap();
        assert_eq!(users["u1"].status, AccountStatus::Disabled);
        assert!(!users.contains_key("U2"));
        let mut src = Offline::new(tree(&[]), "/x");
        let inv = collect(&mut src, &config()).unwrap();
        assert_eq!(inv.users, None, "no users.json: unknown");
    }

    #[test]
    fn folders_without_environments_json_are_environments() {
        let mut t = tree(&[]);
        t.0.remove("/x/Environments.JSON");
        t.0.insert("/x/notes/readme.txt".into(), "x".into());
        let mut src = Offline::new(t, "/x");
        let envs = src.environments().unwrap();
        assert_eq!(envs.len(), 1);
        assert_eq!(envs[0].name, "default-t");
    }

    #[test]
    fn broken_files_are_malformed_and_named() {
        let mut t = tree(&[]);
        t.0.insert("/x/default-t/permissions.json".into(), "{\"f1\": [".into());
        let e = collect(&mut Offline::new(t, "/x"), &config()).unwrap_err();
        assert!(matches!(e, ScanError::Malformed(ref m) if m.contains("/x/default-t/permissions.json") && m.contains("truncated")), "{e:?}");
        let mut t = tree(&[]);
        t.0.insert("/x/default-t/permissions.json".into(), "[1, 2]".into());
        let e = collect(&mut Offline::new(t, "/x"), &config()).unwrap_err();
        assert!(e.to_string().contains("one permissions answer per flow"), "{e}");
        let mut t = tree(&[]);
        t.0.insert("/x/Environments.JSON".into(), "42".into());
        let e = collect(&mut Offline::new(t, "/x"), &config()).unwrap_err();
        assert!(e.to_string().contains("a number"), "{e}");
        let e = collect(&mut Offline::new(Mem(BTreeMap::new()), "/nothing"), &config()).unwrap_err();
        assert!(matches!(e, ScanError::Config(ref m) if m.starts_with("export_dir")), "{e:?}");
    }

    #[test]
    fn list_answers_in_every_shape() {
        assert_eq!(items(json!(null), "f").unwrap().len(), 0);
        assert_eq!(items(json!({"value": [1, 2], "nextLink": null}), "f").unwrap().len(), 2);
        assert_eq!(items(json!({"name": "one"}), "f").unwrap().len(), 1);
        assert_eq!(parse_file("\u{feff}\r\n", "f").unwrap(), Value::Null);
        assert!(items(json!("x"), "f").is_err());
    }
}
