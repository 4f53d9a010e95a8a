//! Register entries: one per flow, and one per environment saying how much
//! of it was read.

use crate::checks::{managers, principal_label};
use crate::inventory::{EnvironmentFacts, FlowFacts};
use crate::model::{Connectors, FlowState, Role, Trigger, User};
use plumbline_plugin_sdk::{Category, ConnectorRecord};
use std::collections::BTreeMap;

/// Written where a value is not known.
pub const UNKNOWN: &str = "unknown";
/// Longest description kept as a flow's purpose.
const MAX_PURPOSE_CHARS: usize = 200;

/// Register key of a flow: `flow:{environment}:{flow name}`.
pub fn flow_key(env: &str, flow: &str) -> String {
    format!("flow:{env}:{flow}")
}

/// Register key of an environment's summary entry.
pub fn environment_key(env: &str) -> String {
    format!("flow-environment:{env}")
}

/// The register entry of a flow.
///
/// - `owner`: the principal with the Owner role; `co_owners`: those with
///   CanEdit (what the Power Automate UI calls co-owners: they can edit,
///   share and hand over the flow). Run-only users (CanView) are not listed.
/// - `auth_type`: the trigger (`TeamsIncomingWebhookTrigger`, `Request (Http)`,
///   `Request (Button)`, `Recurrence`, `OpenApiConnection`...), from the
///   definition when it was read; `unknown` when neither names one.
/// - category `workflow` for a Teams webhook flow (what the Teams Workflows
///   app makes), else `power-automate-flow`; migration state `workflow` for
///   flows with a webhook or HTTP trigger (their URL is a Workflows URL).
pub fn flow_record(key: &str, f: &FlowFacts, env_display: &str, users: Option<&BTreeMap<String, User>>) -> ConnectorRecord {
    let flow = &f.flow;
    let teams = f.has_teams_webhook();
    let http = f.has_http_trigger() == Some(true);
    let category = if teams { Category::Workflow } else { Category::PowerAutomateFlow };
    let trigger = f.triggers().map(|ts| ts.iter().map(Trigger::label).collect::<Vec<_>>().join(", "));
    let (mut owner, mut co_owners) = (None, Vec::new());
    if let Some(perms) = &f.permissions {
        for p in managers(perms) {
            let label = principal_label(p, users);
            if p.role == Role::Owner && owner.is_none() {
                owner = Some(label);
            } else {
                co_owners.push(label);
            }
        }
    }
    let purpose = flow.description.as_ref().map(|d| {
        if d.chars().count() > MAX_PURPOSE_CHARS {
            format!("{}…", d.chars().take(MAX_PURPOSE_CHARS).collect::<String>())
        } else {
            d.clone()
        }
    });
    let mut r = ConnectorRecord::new(key, category, flow.display())
        .scope(env_display)
        .owner(owner)
        .purpose(purpose)
        .auth_type(Some(trigger.unwrap_or_else(|| UNKNOWN.to_string())))
        .created(flow.created.clone())
        .changed(flow.changed.clone())
        .attr("environment", flow.environment.as_str())
        .attr("state", flow.state.as_ref().map_or(UNKNOWN, FlowState::as_str))
        .attr(
            "connectors",
            f.connectors().as_ref().map_or_else(|| UNKNOWN.to_string(), Connectors::describe),
        );
    r.co_owners = co_owners;
    if f.permissions.is_none() {
        r = r.attr("owners", UNKNOWN);
    }
    if teams || http || f.may_have_url() {
        r = r.attr("trigger_authentication", f.auth.describe());
    }
    if let Some(kind) = f.triggers().into_iter().flatten().find(|t| t.is_request()).and_then(|t| t.kind.clone()) {
        r = r.attr("trigger_kind", kind);
    }
    if let Some(reason) = flow.suspension() {
        r = r.attr("suspension_reason", reason);
    }
    if teams || http {
        r = r.migration_state("workflow");
    }
    r
}

/// The summary entry of an environment: how many flows were read and
/// whether the register holds all of them.
pub fn environment_record(e: &EnvironmentFacts, in_register: usize) -> ConnectorRecord {
    let register = if in_register == e.flows.len() {
        "complete".to_string()
    } else {
        format!(
            "cut: {} of {} flows kept (the host takes at most 32 MiB of register per plugin; flows with findings were kept first)",
            in_register,
            e.flows.len()
        )
    };
    ConnectorRecord::new(environment_key(&e.env.name), Category::PowerAutomateFlow, e.env.display())
        .context_record()
        .scope(e.env.name.as_str())
        .purpose(Some("Power Platform environment: how much of its flow inventory this scan read".to_string()))
        .attr("environment", e.env.name.as_str())
        .attr("is_default", e.env.is_default.map_or(UNKNOWN, |d| if d { "true" } else { "false" }))
        .attr("sku", e.env.sku.as_deref().unwrap_or(UNKNOWN))
        .attr("flows_read", e.flows.len().to_string())
        .attr("listing", e.listing.as_str())
        .attr("register", register)
}
