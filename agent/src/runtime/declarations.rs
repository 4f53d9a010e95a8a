//! What a plugin declares beyond its capabilities (settings, Microsoft 365
//! permissions, watched folders), checked as the guest text it is, and the
//! operator's settings checked against the declared ones.

use super::limits;
use super::wit::latest::{Permission, SettingKind as WitKind, SettingSpec as WitSpec};
use super::{RequiredPermission, SettingKind, SettingSpec};
use crate::capabilities::forbidden::Needed;
use plumbline_protocol::cells::{bounded, printable};
use std::collections::BTreeSet;

/// One line of guest text for a table: bounded, no control characters.
fn line(text: &str, max: usize) -> String {
    printable(&bounded(text, max))
}

/// A setting name as the config file has it: `[a-z0-9_]`, 1-64 characters.
fn setting_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= limits::MAX_SETTING_NAME_CHARS
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(super) fn settings(specs: Vec<WitSpec>) -> Result<Vec<SettingSpec>, String> {
    if specs.len() > limits::MAX_DECLARED_SETTINGS {
        return Err(format!(
            "describe() declared {} settings; the limit is {}",
            specs.len(),
            limits::MAX_DECLARED_SETTINGS
        ));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(specs.len());
    for s in specs {
        if !setting_name_ok(&s.name) {
            return Err(format!(
                "describe() declared the setting {:?}; setting names are 1-{} characters of a-z, 0-9 and '_'",
                bounded(&s.name, 80),
                limits::MAX_SETTING_NAME_CHARS
            ));
        }
        if !seen.insert(s.name.clone()) {
            return Err(format!("describe() declared the setting `{}` twice", s.name));
        }
        let kind = match s.kind {
            WitKind::Text => SettingKind::Text,
            WitKind::Integer => SettingKind::Integer,
            WitKind::Boolean => SettingKind::Boolean,
            WitKind::Duration => SettingKind::Duration,
            WitKind::Path => SettingKind::Path,
            WitKind::List => SettingKind::List,
            WitKind::Choice(words) => {
                if words.is_empty() || words.len() > limits::MAX_SETTING_CHOICES {
                    return Err(format!(
                        "describe() declared setting `{}` as a choice of {} words; 1-{} are allowed",
                        s.name,
                        words.len(),
                        limits::MAX_SETTING_CHOICES
                    ));
                }
                SettingKind::Choice(words.iter().map(|w| line(w, limits::MAX_SETTING_NAME_CHARS)).collect())
            }
        };
        out.push(SettingSpec {
            name: s.name,
            kind,
            required: s.required,
            default: s.default.map(|d| line(&d, limits::MAX_DESCRIPTION_CHARS)),
            doc: line(&s.doc, limits::MAX_DESCRIPTION_CHARS),
        });
    }
    Ok(out)
}

pub(super) fn permissions(list: Vec<Permission>) -> Result<Vec<RequiredPermission>, String> {
    if list.len() > limits::MAX_DECLARED_PERMISSIONS {
        return Err(format!(
            "describe() declared {} required permissions; the limit is {}",
            list.len(),
            limits::MAX_DECLARED_PERMISSIONS
        ));
    }
    Ok(list
        .into_iter()
        .map(|p| RequiredPermission {
            api: line(&p.api, limits::MAX_SETTING_NAME_CHARS),
            name: line(&p.name, limits::MAX_PERMISSION_NAME_CHARS),
            why: line(&p.why, limits::MAX_DESCRIPTION_CHARS),
            credential_setting: p.credential_setting.map(|s| line(&s, limits::MAX_SETTING_NAME_CHARS)),
        })
        .collect())
}

pub(super) fn watch(dirs: Vec<String>) -> Result<Vec<String>, String> {
    if dirs.len() > limits::MAX_DECLARED_WATCH_DIRS {
        return Err(format!(
            "describe() declared {} folders to watch; the limit is {}",
            dirs.len(),
            limits::MAX_DECLARED_WATCH_DIRS
        ));
    }
    Ok(dirs.iter().map(|d| line(d, limits::MAX_DESCRIPTION_CHARS)).collect())
}

/// Why the operator's settings do not fit what the plugin declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsProblem(pub Vec<String>);

impl std::fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

/// Check the operator's `given` settings against `specs`: every key
/// declared (else "did you mean"), every value of its kind, every required
/// one there. Nothing is checked when nothing is declared (a 0.1.0 plugin).
pub fn check_settings(specs: &[SettingSpec], given: &[(String, String)]) -> Result<(), SettingsProblem> {
    if specs.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let mut problems = Vec::new();
    for (key, value) in given {
        let Some(spec) = specs.iter().find(|s| &s.name == key) else {
            let hint = match crate::config::closest(key, &names) {
                Some(near) => format!("; did you mean `{near}`?"),
                None => format!("; it reads {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
            };
            problems.push(format!("unknown setting `{}`{hint}", line(key, limits::MAX_SETTING_NAME_CHARS)));
            continue;
        };
        if let Some(why) = kind_problem(&spec.kind, value) {
            problems.push(format!("setting `{key}` {why}, got {:?}", bounded(value, 80)));
        }
    }
    for spec in specs.iter().filter(|s| s.required) {
        if !given.iter().any(|(k, _)| k == &spec.name) {
            problems.push(format!("setting `{}` is required: {}", spec.name, spec.doc));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SettingsProblem(problems))
    }
}

fn kind_problem(kind: &SettingKind, value: &str) -> Option<String> {
    let v = value.trim();
    let ok = match kind {
        SettingKind::Text | SettingKind::List => true,
        SettingKind::Integer => v.parse::<i64>().is_ok(),
        SettingKind::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
        SettingKind::Duration => v.parse::<u64>().is_ok(),
        SettingKind::Path => !v.is_empty(),
        SettingKind::Choice(words) => words.iter().any(|w| w.eq_ignore_ascii_case(v)),
    };
    if ok {
        return None;
    }
    Some(match kind {
        SettingKind::Integer => "must be a whole number".into(),
        SettingKind::Boolean => "must be true or false".into(),
        SettingKind::Duration => "must be a whole number, not negative".into(),
        SettingKind::Path => "must not be empty".into(),
        SettingKind::Choice(words) => {
            let near = crate::config::closest(v, words).map(|w| format!(" (did you mean `{w}`?)")).unwrap_or_default();
            format!("must be one of {}{near}", words.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", "))
        }
        SettingKind::Text | SettingKind::List => unreachable!("always fits"),
    })
}

/// The APIs whose application permissions an access token lists in its
/// `roles` claim; the others (roles assigned in Exchange or Entra ID, Power
/// Platform's registration) are granted in the service and seen in no token.
pub const TOKEN_APIS: &[&str] = &["graph", "exchange"];

/// The permissions a plugin declared that a token shows, by the credential
/// profile its settings name for each.
pub fn needs_by_profile(
    declared: &[RequiredPermission],
    settings: &[(String, String)],
    specs: &[SettingSpec],
) -> std::collections::BTreeMap<String, Vec<Needed>> {
    let mut needs: std::collections::BTreeMap<String, Vec<Needed>> = Default::default();
    for p in declared.iter().filter(|p| p.in_token()) {
        if let Some(profile) = p.profile(settings, specs) {
            needs.entry(profile).or_default().push(Needed { name: p.name.clone(), why: p.why.clone() });
        }
    }
    needs
}

impl RequiredPermission {
    /// Whether the token of its credential profile shows it.
    pub fn in_token(&self) -> bool {
        self.credential_setting.is_some() && TOKEN_APIS.contains(&self.api.as_str())
    }

    /// The credential profile whose token must carry it: the value of its
    /// `credential_setting` as configured, else that setting's default.
    pub fn profile(&self, settings: &[(String, String)], specs: &[SettingSpec]) -> Option<String> {
        let setting = self.credential_setting.as_deref()?;
        settings
            .iter()
            .find(|(k, _)| k == setting)
            .map(|(_, v)| v.clone())
            .or_else(|| specs.iter().find(|s| s.name == setting).and_then(|s| s.default.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, kind: SettingKind, required: bool) -> SettingSpec {
        SettingSpec { name: name.into(), kind, required, default: None, doc: format!("the {name}") }
    }

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn unknown_keys_get_did_you_mean() {
        let specs = [spec("recent_days", SettingKind::Integer, false), spec("export_dir", SettingKind::Path, false)];
        let e = check_settings(&specs, &given(&[("recnt_days", "3")])).unwrap_err().to_string();
        assert_eq!(e, "unknown setting `recnt_days`; did you mean `recent_days`?");
        let e = check_settings(&specs, &given(&[("colour", "x")])).unwrap_err().to_string();
        assert!(e.contains("unknown setting `colour`; it reads `recent_days`, `export_dir`"), "{e}");
        assert!(check_settings(&specs, &given(&[("recent_days", "3")])).is_ok());
        assert!(check_settings(&[], &given(&[("anything", "x")])).is_ok(), "nothing declared: nothing checked");
    }

    #[test]
    fn values_are_checked_by_kind() {
        let specs = [
            spec("days", SettingKind::Integer, false),
            spec("on", SettingKind::Boolean, false),
            spec("wait_ms", SettingKind::Duration, false),
            spec("mode", SettingKind::Choice(vec!["offline".into(), "live".into()]), true),
        ];
        let e = check_settings(&specs, &given(&[("days", "x"), ("on", "yes"), ("wait_ms", "-1"), ("mode", "lve")]))
            .unwrap_err();
        assert_eq!(e.0.len(), 4, "{e}");
        assert!(e.0[3].contains("must be one of `offline`, `live` (did you mean `live`?)"), "{e}");
        let e = check_settings(&specs, &given(&[])).unwrap_err().to_string();
        assert_eq!(e, "setting `mode` is required: the mode");
        assert!(check_settings(&specs, &given(&[("mode", "LIVE"), ("on", "true"), ("days", "-3")])).is_ok());
    }

    #[test]
    fn declarations_are_bounded_guest_text() {
        let bad = |name: &str| WitSpec { name: name.into(), kind: WitKind::Text, required: false, default: None, doc: String::new() };
        assert!(settings(vec![bad("Export-Dir")]).unwrap_err().contains("a-z, 0-9 and '_'"));
        assert!(settings(vec![bad("a"), bad("a")]).unwrap_err().contains("twice"));
        let many: Vec<WitSpec> = (0..=limits::MAX_DECLARED_SETTINGS).map(|i| bad(&format!("s{i}"))).collect();
        assert!(settings(many).is_err());
        let doc = WitSpec { doc: "one\nFAKE line".into(), ..bad("x") };
        assert!(!settings(vec![doc]).unwrap()[0].doc.contains('\n'));
    }

    #[test]
    fn token_permissions_are_grouped_by_the_profile_their_setting_names() {
        let perm = |api: &str, name: &str, setting: Option<&str>| RequiredPermission {
            api: api.into(),
            name: name.into(),
            why: format!("to use {name}"),
            credential_setting: setting.map(str::to_string),
        };
        let declared = [
            perm("graph", "GroupMember.Read.All", Some("credential")),
            perm("graph", "TeamsAppInstallation.ReadForTeam.All", Some("credential")),
            perm("exchange-role", "View-Only Configuration", None),
            perm("power-platform", "Power Platform management application", Some("flow_credential")),
        ];
        let specs = [SettingSpec {
            name: "credential".into(),
            kind: SettingKind::Text,
            required: false,
            default: Some("graph".into()),
            doc: String::new(),
        }];
        let by_default = needs_by_profile(&declared, &[], &specs);
        assert_eq!(by_default.keys().collect::<Vec<_>>(), vec!["graph"], "only what a token shows, by the default profile");
        assert_eq!(by_default["graph"].len(), 2);
        let named = needs_by_profile(&declared, &[("credential".into(), "contoso-graph".into())], &specs);
        assert_eq!(named.keys().collect::<Vec<_>>(), vec!["contoso-graph"]);
    }
}
