//! `plumbline doctor --credentials`: fetch each credential profile's token
//! and compare the application permissions it carries (`roles`) with what
//! the configured plugins declare they need, naming what is missing, before
//! a scan meets a 403.

use crate::capabilities::forbidden::Needed;
use crate::capabilities::Network;
use crate::config::Resolved;
use crate::credentials::roles::{grants, token_roles};
use crate::runtime::{declarations, Runtime};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// What the check found.
#[derive(Debug, Default)]
pub struct CredentialsReport {
    /// The report, for the operator.
    pub text: String,
    /// Permissions missing from a token, tokens that could not be had, and
    /// plugins that could not be asked: each needs the operator.
    pub problems: usize,
}

/// One permission a plugin needs from a profile's token.
struct Need {
    plugin: String,
    needed: Needed,
}

/// Check every enabled plugin's declared permissions against the tokens of
/// the profiles its settings name.
pub async fn check(config: &Resolved) -> anyhow::Result<CredentialsReport> {
    let net = Arc::new(Network::from_config(&config.config)?);
    let runtime = Runtime::new(Some(&config.cache_dir), net.clone())?;
    let mut report = CredentialsReport::default();
    let mut by_profile: BTreeMap<String, Vec<Need>> = BTreeMap::new();
    let mut in_service = Vec::new();
    let out = &mut report.text;
    for (name, _) in config.config.plugins.iter().filter(|(_, p)| p.enabled) {
        let mut status = crate::scan::pending(name);
        let (_, desc, settings) = match crate::scan::prepare(config, &runtime, name, &mut status, &|| Ok(())).await {
            Ok(prepared) => prepared,
            Err(e) => {
                let _ = writeln!(out, "plugin {name}: not checked: {e}");
                report.problems += 1;
                continue;
            }
        };
        for (profile, needs) in declarations::needs_by_profile(&desc.permissions, &settings, &desc.settings) {
            let entry = by_profile.entry(profile).or_default();
            entry.extend(needs.into_iter().map(|needed| Need { plugin: name.clone(), needed }));
        }
        for p in desc.permissions.iter().filter(|p| !p.in_token()) {
            in_service.push(format!("{name}: {} ({}): {}", p.name, p.api, p.why));
        }
    }
    for (profile, needs) in &by_profile {
        let users = plugins_of(needs);
        if !config.config.credentials.contains_key(profile) {
            let _ = writeln!(out, "profile `{profile}`: not configured, so not checked ({users} would use it in live mode)");
            continue;
        }
        match net.credentials.token(profile).await {
            Err(e) => {
                let _ = writeln!(out, "profile `{profile}`: no token: {e}");
                report.problems += 1;
            }
            Ok(token) => {
                let roles = token_roles(&token).unwrap_or_default();
                let _ = writeln!(out, "profile `{profile}`: its token carries {}", count_roles(&roles));
                for n in needs {
                    let held = grants(&roles, &n.needed.name);
                    let mark = if held { "granted" } else { "MISSING" };
                    let _ = writeln!(out, "  {mark:<8} {:<40} {}: {}", n.needed.name, n.plugin, n.needed.why);
                    if !held {
                        report.problems += 1;
                    }
                }
            }
        }
    }
    if by_profile.is_empty() {
        let _ = writeln!(out, "no configured plugin declares a permission a token would carry");
    }
    if !in_service.is_empty() {
        let _ = writeln!(out, "granted in the service, not seen in any token (check these by hand):");
        for line in &in_service {
            let _ = writeln!(out, "  {line}");
        }
    }
    if report.problems > 0 {
        let _ = writeln!(
            out,
            "to fix: grant each MISSING permission to the app registration as an application permission (Entra admin \
             center, App registrations, API permissions), then grant admin consent"
        );
    }
    Ok(report)
}

fn plugins_of(needs: &[Need]) -> String {
    let mut names: Vec<&str> = needs.iter().map(|n| n.plugin.as_str()).collect();
    names.dedup();
    names.join(", ")
}

fn count_roles(roles: &[String]) -> String {
    match roles.len() {
        0 => "no application permissions (no `roles` claim)".to_string(),
        _ => roles.join(", "),
    }
}
