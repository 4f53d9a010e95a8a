//! The checks. Each fires only on what was read: unknown owners, an unknown
//! account status or an unread trigger setting never fire (or silence) a
//! check on their own.

use crate::inventory::FlowFacts;
use crate::model::{AccountStatus, AuthKnowledge, Flow, FlowState, Permission, PrincipalType, TriggerAuth, User};
use plumbline_plugin_sdk::{Finding, Severity};
use std::collections::BTreeMap;

/// One owner (or co-owner) and no one else can manage the flow.
pub const SINGLE_OWNER: &str = "flow.single-owner";
/// Every owner and co-owner is disabled or deleted.
pub const ORPHANED: &str = "flow.orphaned";
/// A Teams webhook trigger anyone with the URL can call.
pub const TEAMS_WEBHOOK_ANYONE: &str = "flow.teams-webhook-anyone";
/// An HTTP request trigger whose URL is a bearer secret.
pub const HTTP_TRIGGER: &str = "flow.http-trigger";
/// The service suspended the flow.
pub const SUSPENDED: &str = "flow.suspended";

/// Every check id with its severity.
pub const CHECKS: [(&str, Severity); 5] = [
    (SINGLE_OWNER, Severity::Medium),
    (ORPHANED, Severity::High),
    (TEAMS_WEBHOOK_ANYONE, Severity::High),
    (HTTP_TRIGGER, Severity::Medium),
    (SUSPENDED, Severity::Medium),
];

/// The principals that manage a flow (Owner and CanEdit), when known.
pub fn managers(perms: &[Permission]) -> Vec<&Permission> {
    perms.iter().filter(|p| p.role.manages()).collect()
}

/// A user's account status; `Unknown` when not looked up.
pub fn status_of(users: Option<&BTreeMap<String, User>>, id: &str) -> AccountStatus {
    users.and_then(|u| u.get(id)).map_or(AccountStatus::Unknown, |u| u.status)
}

/// How a principal shows in findings and the register: a user's UPN (with
/// `(disabled)` / `(deleted)`), `group:{id}`, or `{type}:{id}`.
pub fn principal_label(p: &Permission, users: Option<&BTreeMap<String, User>>) -> String {
    match &p.principal_type {
        Some(PrincipalType::User) => {
            let user = users.and_then(|u| u.get(&p.principal_id));
            let name = user.map_or(p.principal_id.as_str(), User::display);
            match user.map(|u| u.status) {
                Some(AccountStatus::Disabled) => format!("{name} (disabled)"),
                Some(AccountStatus::Deleted) => format!("{name} (deleted)"),
                _ => name.to_string(),
            }
        }
        Some(PrincipalType::Group) => format!("group:{}", p.principal_id),
        Some(PrincipalType::Other(t)) => format!("{}:{}", t.to_ascii_lowercase(), p.principal_id),
        None => format!("principal:{}", p.principal_id),
    }
}

/// Every check on one flow.
pub fn flow_checks(key: &str, f: &FlowFacts, env_display: &str, users: Option<&BTreeMap<String, User>>, out: &mut Vec<Finding>) {
    let orphaned = orphaned(key, f, env_display, users);
    let orphan_fired = orphaned.is_some();
    out.extend(orphaned);
    if !orphan_fired {
        out.extend(single_owner(key, f, env_display, users));
    }
    out.extend(teams_webhook_anyone(key, f, env_display));
    out.extend(http_trigger(key, f, env_display));
    out.extend(suspended(key, &f.flow, env_display));
}

fn where_(flow: &Flow, env_display: &str) -> String {
    format!("Flow '{}' in environment '{}'", flow.display(), env_display)
}

fn state(flow: &Flow) -> &str {
    flow.state.as_ref().map_or("unknown", FlowState::as_str)
}

/// Every manager is a user known to be disabled or deleted, or there is no
/// manager at all.
fn orphaned(key: &str, f: &FlowFacts, env_display: &str, users: Option<&BTreeMap<String, User>>) -> Option<Finding> {
    let perms = f.permissions.as_ref()?;
    let managers = managers(perms);
    let gone: Vec<String> = managers
        .iter()
        .filter(|p| p.is_user() && status_of(users, &p.principal_id).is_gone())
        .map(|p| principal_label(p, users))
        .collect();
    if gone.len() != managers.len() {
        return None;
    }
    let who = if managers.is_empty() {
        "has no owner or co-owner at all".to_string()
    } else {
        format!("has no owner left who can sign in: {}", gone.join(", "))
    };
    Some(
        Finding::new(ORPHANED, key, Severity::High, format!("Orphaned flow '{}'", f.flow.display()))
            .detail(format!(
                "{} {who}. Nobody can fix, turn off or hand over the flow, yet it keeps running (state: {}) \
                 with its owners' connections until those stop working: alerts it carries can stop without a sound.",
                where_(&f.flow, env_display),
                state(&f.flow)
            ))
            .remediation(format!(
                "As a Power Platform admin, give the flow a current owner: in the Power Platform admin center \
                 (Resources > Flows, or the environment's flows) add a co-owner, or with PowerShell \
                 `Set-AdminFlowOwnerRole -EnvironmentName '{}' -FlowName '{}' -RoleName CanEdit -PrincipalType User \
                 -PrincipalObjectId <new owner id>`; then have the new owner re-create the connections, or turn \
                 the flow off if it is no longer needed.",
                f.flow.environment, f.flow.name
            ))
            .evidence("owners", if gone.is_empty() { "none".to_string() } else { gone.join(", ") })
            .evidence("state", state(&f.flow)),
    )
}

/// Exactly one principal manages the flow, and it is not a group.
fn single_owner(key: &str, f: &FlowFacts, env_display: &str, users: Option<&BTreeMap<String, User>>) -> Option<Finding> {
    let perms = f.permissions.as_ref()?;
    let managers = managers(perms);
    let [only] = managers.as_slice() else {
        return None;
    };
    if only.principal_type == Some(PrincipalType::Group) {
        return None;
    }
    let who = principal_label(only, users);
    Some(
        Finding::new(SINGLE_OWNER, key, Severity::Medium, format!("Flow '{}' has a single owner", f.flow.display()))
            .detail(format!(
                "{} is managed by {who} alone (no co-owner). When that account leaves or is disabled the flow \
                 becomes orphaned: nobody can change or hand it over.",
                where_(&f.flow, env_display)
            ))
            .remediation(format!(
                "Add a co-owner, preferably a security group or a service account (flow details > Owners > Edit, \
                 or `Set-AdminFlowOwnerRole -EnvironmentName '{}' -FlowName '{}' -RoleName CanEdit -PrincipalType Group \
                 -PrincipalObjectId <group id>`).",
                f.flow.environment, f.flow.name
            ))
            .evidence("owner", who)
            .evidence("account_status", status_of(users, &only.principal_id).as_str()),
    )
}

/// A Teams webhook trigger whose `triggerAuthenticationType` is Anyone.
fn teams_webhook_anyone(key: &str, f: &FlowFacts, env_display: &str) -> Option<Finding> {
    if !f.has_teams_webhook() || f.auth != AuthKnowledge::Set(TriggerAuth::Anyone) {
        return None;
    }
    Some(
        Finding::new(
            TEAMS_WEBHOOK_ANYONE,
            key,
            Severity::High,
            format!("Teams webhook flow '{}' accepts posts from anyone with its URL", f.flow.display()),
        )
        .detail(format!(
            "{} is triggered by 'When a Teams webhook request is received' with 'Who can trigger the flow' set \
             to Anyone: its URL carries a sig= signature, and anyone who has it (a script, a monitoring tool, \
             a leaked config) can post messages into Teams as this workflow (state: {}).",
            where_(&f.flow, env_display),
            state(&f.flow)
        ))
        .remediation(
            "Edit the trigger and set 'Who can trigger the flow' to 'Any user in my tenant' or 'Specific users \
             in my tenant'; senders then call it with an Entra ID token instead of a sig= URL. Update the senders \
             first (webhook-finder shows where the URL is used), and treat the old URL as leaked.",
        )
        .evidence("trigger", crate::model::TEAMS_WEBHOOK_OPERATION)
        .evidence("trigger_authentication", "Anyone")
        .evidence("state", state(&f.flow)),
    )
}

/// An HTTP request trigger, unless its setting is known to require sign-in.
fn http_trigger(key: &str, f: &FlowFacts, env_display: &str) -> Option<Finding> {
    if f.has_teams_webhook() || f.has_http_trigger() != Some(true) {
        return None;
    }
    if let AuthKnowledge::Set(a) = &f.auth {
        if a.requires_sign_in() {
            return None;
        }
    }
    let auth = match &f.auth {
        AuthKnowledge::NotRead => "the trigger's 'Who can trigger the flow' setting was not read; unless it \
                                   requires sign-in,"
            .to_string(),
        AuthKnowledge::NotSet => "the trigger has no 'Who can trigger the flow' setting (made before it existed), so"
            .to_string(),
        AuthKnowledge::Set(TriggerAuth::Other(a)) => format!(
            "the trigger's 'Who can trigger the flow' setting is {a:?}, which this plugin does not know; unless it \
             requires sign-in,"
        ),
        AuthKnowledge::Set(a) => format!("'Who can trigger the flow' is {}, so", a.as_str()),
    };
    Some(
        Finding::new(
            HTTP_TRIGGER,
            key,
            Severity::Medium,
            format!("Flow '{}' is triggered by an HTTP request", f.flow.display()),
        )
        .detail(format!(
            "{} starts on 'When a HTTP request is received'; {auth} its URL (with its sig= signature) is a bearer \
             secret: whoever has it can run the flow with its owner's connections (state: {}).",
            where_(&f.flow, env_display),
            state(&f.flow)
        ))
        .remediation(
            "Set the trigger's 'Who can trigger the flow' to 'Any user in my tenant' or 'Specific users in my \
             tenant' and have callers send an Entra ID token; otherwise keep the URL in a secret store, never in \
             scripts or tickets, and regenerate it (re-save the trigger) if it may have leaked.",
        )
        .evidence("trigger", "Request (Http)")
        .evidence("trigger_authentication", f.auth.describe())
        .evidence("state", state(&f.flow)),
    )
}

/// Suspended by the service: state Suspended or a suspension reason.
fn suspended(key: &str, flow: &Flow, env_display: &str) -> Option<Finding> {
    let reason = flow.suspension();
    if reason.is_none() && flow.state != Some(FlowState::Suspended) {
        return None;
    }
    let reason = reason.unwrap_or("not given");
    Some(
        Finding::new(SUSPENDED, key, Severity::Medium, format!("Flow '{}' is suspended", flow.display()))
            .detail(format!(
                "{} was suspended by the service (state: {}, flowSuspensionReason: {reason}); it does not run, \
                 so whatever it relays (alerts, notifications) is not delivered.",
                where_(flow, env_display),
                state(flow)
            ))
            .remediation(
                "Find out why from the reason (a DLP policy violation, a missing licence or the owner's \
                 inactivity are the usual ones), fix that, and turn the flow back on, or retire it and move what \
                 it did elsewhere.",
            )
            .evidence("state", state(flow))
            .evidence("suspension_reason", reason),
    )
}
