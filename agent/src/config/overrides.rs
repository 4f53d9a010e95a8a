//! `local_override`: the parts of the local config that win over the
//! policy from the collector ([`crate::policy`]), e.g. `["schedule",
//! "plugins.smtp-relay.grants"]`. Checked when the config is loaded, so a
//! typo is a config error, not a policy that silently wins.

use super::closest;

/// The fields of a `[plugins.NAME]` section a policy sets, each of which
/// the local config may keep for itself.
pub const PLUGIN_FIELDS: [&str; 5] = ["enabled", "timeout_secs", "grants", "settings", "allow_unsigned"];

/// What wins locally.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalOverrides {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Schedule,
    Plugin(String),
    PluginField(String, &'static str),
}

impl LocalOverrides {
    /// Parse the config's list; every entry must name something a policy sets.
    pub fn parse(list: &[String]) -> Result<Self, String> {
        let mut entries = Vec::new();
        for raw in list {
            let text = raw.trim();
            let bad = |why: String| {
                format!(
                    "local_override entry {raw:?}: {why}; write \"schedule\", \"plugins.NAME\" or \"plugins.NAME.FIELD\" \
                     (FIELD one of {})",
                    PLUGIN_FIELDS.join(", ")
                )
            };
            let entry = match text.split('.').collect::<Vec<_>>().as_slice() {
                ["schedule"] => Entry::Schedule,
                ["plugins", name] if !name.is_empty() => Entry::Plugin(name.to_string()),
                ["plugins", name, field] if !name.is_empty() => match PLUGIN_FIELDS.iter().find(|f| *f == field) {
                    Some(f) => Entry::PluginField(name.to_string(), f),
                    None => {
                        let fields: Vec<String> = PLUGIN_FIELDS.iter().map(|f| f.to_string()).collect();
                        let hint = closest(field, &fields).map(|f| format!(" (did you mean `{f}`?)")).unwrap_or_default();
                        return Err(bad(format!("a policy sets no field `{field}`{hint}")));
                    }
                },
                [first, ..] => {
                    let hint = closest(first, &["schedule".to_string(), "plugins".to_string()])
                        .map(|f| format!(" (did you mean `{f}`?)"))
                        .unwrap_or_default();
                    return Err(bad(format!("a policy sets only [schedule] and [plugins.NAME]{hint}")));
                }
                [] => return Err(bad("empty".into())),
            };
            entries.push(entry);
        }
        Ok(LocalOverrides { entries })
    }

    /// Does the local `[schedule]` win?
    pub fn schedule(&self) -> bool {
        self.entries.contains(&Entry::Schedule)
    }

    /// Does the whole local `[plugins.NAME]` win (or its absence)?
    pub fn plugin(&self, name: &str) -> bool {
        self.entries.iter().any(|e| matches!(e, Entry::Plugin(n) if n == name))
    }

    /// Does the local value of `[plugins.NAME] FIELD` win?
    pub fn plugin_field(&self, name: &str, field: &str) -> bool {
        self.plugin(name) || self.entries.iter().any(|e| matches!(e, Entry::PluginField(n, f) if n == name && *f == field))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn entries_name_what_a_policy_sets() {
        let o = LocalOverrides::parse(&list(&["schedule", "plugins.smtp-relay.grants", "plugins.mine"])).unwrap();
        assert!(o.schedule() && o.plugin("mine") && o.plugin_field("mine", "settings"));
        assert!(o.plugin_field("smtp-relay", "grants") && !o.plugin_field("smtp-relay", "settings"));
        let e = LocalOverrides::parse(&list(&["plugins.smtp-relay.grant"])).unwrap_err();
        assert!(e.contains("did you mean `grants`?"), "{e}");
        let e = LocalOverrides::parse(&list(&["delivery"])).unwrap_err();
        assert!(e.contains("only [schedule] and [plugins.NAME]"), "{e}");
        let e = LocalOverrides::parse(&list(&["schedul"])).unwrap_err();
        assert!(e.contains("did you mean `schedule`?"), "{e}");
    }
}
