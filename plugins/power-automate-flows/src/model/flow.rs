//! One flow as the admin `v2/flows` list answers it: name, state, dates,
//! creator and the summary of its triggers and steps.

use crate::fields::{array, date, is_safe_name, object, text, Object};
use crate::model::connectors::{self, Connectors};
use crate::model::trigger::{any_http, Trigger};
use serde_json::Value;


/// `properties.state` of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowState {
    /// Turned on.
    Started,
    /// Turned off by a maker or an admin.
    Stopped,
    /// Turned off by the service (licence, DLP policy, inactivity...).
    Suspended,
    /// Anything else, as written.
    Other(String),
}

impl FlowState {
    fn parse(s: &str) -> FlowState {
        match s.to_ascii_lowercase().as_str() {
            "started" => FlowState::Started,
            "stopped" => FlowState::Stopped,
            "suspended" => FlowState::Suspended,
            _ => FlowState::Other(s.to_string()),
        }
    }

    /// As the service writes it.
    pub fn as_str(&self) -> &str {
        match self {
            FlowState::Started => "Started",
            FlowState::Stopped => "Stopped",
            FlowState::Suspended => "Suspended",
            FlowState::Other(s) => s,
        }
    }
}


/// One flow from the admin `v2/flows` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flow {
    /// `name`: the flow's GUID, used in URLs.
    pub name: String,
    /// The environment it was listed in.
    pub environment: String,
    /// `properties.displayName`.
    pub display_name: Option<String>,
    /// `properties.state`.
    pub state: Option<FlowState>,
    /// `properties.createdTime`, RFC 3339.
    pub created: Option<String>,
    /// `properties.lastModifiedTime`, RFC 3339.
    pub changed: Option<String>,
    /// `properties.flowSuspensionReason` as written (`None` means "not suspended").
    pub suspension_reason: Option<String>,
    /// `properties.creator.objectId`.
    pub creator: Option<String>,
    /// `properties.definitionSummary.triggers`; `None` when the summary is
    /// absent or lists no trigger. Every flow has a trigger, and the real
    /// admin list often answers `"triggers": []`: that is "not summarised",
    /// not "no URL trigger".
    pub triggers: Option<Vec<Trigger>>,
    /// Connectors used (`api` of triggers and actions, and the connection
    /// references); `None` when the answer names none.
    pub connectors: Option<Connectors>,
    /// `properties.definitionSummary.description`.
    pub description: Option<String>,
}

impl Flow {
    /// Read one flow listed in `environment`. `Err` says why it is unusable
    /// (no name, or a name that is not safe in a URL).
    pub fn from_value(v: &Value, environment: &str) -> Result<Flow, String> {
        let o = v.as_object().ok_or("a flow is not a JSON object")?;
        let name = text(o, "name").ok_or("a flow has no `name`")?;
        if !is_safe_name(&name) {
            return Err(format!("flow name {name:?} is not a flow id"));
        }
        let empty = Object::new();
        let props = object(o, "properties").unwrap_or(&empty);
        let summary = object(props, "definitionSummary");
        let triggers = summary
            .and_then(|s| array(s, "triggers"))
            .filter(|ts| !ts.is_empty())
            .map(|ts| ts.iter().map(Trigger::from_summary).collect());
        Ok(Flow {
            name,
            environment: environment.to_string(),
            display_name: text(props, "displayName"),
            state: text(props, "state").map(|s| FlowState::parse(&s)),
            created: date(props, "createdTime"),
            changed: date(props, "lastModifiedTime"),
            suspension_reason: text(props, "flowSuspensionReason"),
            creator: object(props, "creator").and_then(|c| text(c, "objectId")),
            triggers,
            connectors: connectors::from_summary(props, summary),
            description: summary.and_then(|s| text(s, "description")),
        })
    }

    /// A name for people.
    pub fn display(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }

    /// Whether any summarised trigger is the Teams webhook trigger.
    pub fn has_teams_webhook(&self) -> bool {
        self.triggers.iter().flatten().any(Trigger::is_teams_webhook)
    }

    /// Whether the summary shows an HTTP request trigger (see [`any_http`]).
    pub fn has_http_trigger(&self) -> Option<bool> {
        any_http(self.triggers.as_deref()?)
    }

    /// Whether only the definition can tell who may call the flow: a
    /// trigger that may have a URL, or no summarised trigger at all.
    pub fn needs_definition(&self) -> bool {
        self.triggers.as_ref().is_none_or(|ts| ts.iter().any(Trigger::may_have_url))
    }

    /// `flowSuspensionReason` when it says the flow is suspended (anything
    /// but `None`).
    pub fn suspension(&self) -> Option<&str> {
        self.suspension_reason
            .as_deref()
            .filter(|r| !r.eq_ignore_ascii_case("None"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flow_json() -> Value {
        json!({
            "name": "0b6e3a58-8d1c-4f2e-b7a9-3c5d1e0f9a21",
            "id": "/providers/Microsoft.ProcessSimple/environments/Default-t/flows/0b6e3a58-8d1c-4f2e-b7a9-3c5d1e0f9a21",
            "type": "Microsoft.ProcessSimple/environments/flows",
            "properties": {
                "apiId": "/providers/Microsoft.PowerApps/apis/shared_logicflows",
                "displayName": "Post alerts to IT channel",
                "state": "Started",
                "createdTime": "2025-02-11T09:30:12.4590149Z",
                "lastModifiedTime": "2026-10-02T14:01:55.1164508Z",
                "flowSuspensionReason": "None",
                "creator": {"tenantId": "t", "objectId": "u1", "userId": "u1", "userType": "ActiveDirectory"},
                "definitionSummary": {
                    "triggers": [{"type": "OpenApiConnectionWebhook", "swaggerOperationId": "TeamsIncomingWebhookTrigger",
                                  "api": {"name": "shared_teams", "id": "/providers/Microsoft.PowerApps/apis/shared_teams"}}],
                    "actions": [{"type": "OpenApiConnection", "swaggerOperationId": "PostCardToConversation",
                                 "api": {"name": "shared_teams"}},
                                {"type": "Compose"},
                                {"type": "OpenApiConnection", "api": {"id": "/providers/Microsoft.PowerApps/apis/shared_office365"}}],
                    "description": "Relays monitoring alerts"
                },
                "connectionReferences": {"shared_teams": {"connectionName": "c1", "id": "/providers/Microsoft.PowerApps/apis/shared_teams"}}
            }
        })
    }

    #[test]
    fn reads_a_listed_flow() {
        let f = Flow::from_value(&flow_json(), "Default-t").unwrap();
        assert_eq!(f.name, "0b6e3a58-8d1c-4f2e-b7a9-3c5d1e0f9a21");
        assert_eq!(f.display(), "Post alerts to IT channel");
        assert_eq!(f.state, Some(FlowState::Started));
        assert_eq!(f.created.as_deref(), Some("2025-02-11T09:30:12Z"));
        assert_eq!(f.changed.as_deref(), Some("2026-10-02T14:01:55Z"));
        assert_eq!(f.suspension(), None, "`None` means not suspended");
        assert_eq!(f.creator.as_deref(), Some("u1"));
        assert!(f.has_teams_webhook());
        assert_eq!(f.has_http_trigger(), Some(false));
        assert!(f.needs_definition());
        assert_eq!(f.connectors.as_ref().map(Connectors::describe).as_deref(), Some("shared_office365, shared_teams"));
        assert_eq!(f.description.as_deref(), Some("Relays monitoring alerts"));
        assert_eq!(f.triggers.as_ref().unwrap()[0].label(), "TeamsIncomingWebhookTrigger");
    }

    #[test]
    fn absent_is_unknown_on_a_bare_flow() {
        let f = Flow::from_value(&json!({"name": "f1"}), "e").unwrap();
        assert_eq!(f.display(), "f1");
        assert_eq!((f.state.clone(), f.created.clone(), f.triggers.clone(), f.connectors.clone()), (None, None, None, None));
        assert_eq!(f.has_http_trigger(), None);
        assert!(!f.has_teams_webhook());
        assert!(f.needs_definition(), "no summary: only the definition can tell");
        assert!(Flow::from_value(&json!({"properties": {}}), "e").is_err());
        assert!(Flow::from_value(&json!({"name": "../x"}), "e").is_err());
        assert!(Flow::from_value(&json!([1]), "e").is_err());
    }

    #[test]
    fn flow_with_request_triggers_needs_its_definition() {
        let mk = |trigger: Value| {
            let mut v = flow_json();
            v["properties"]["definitionSummary"]["triggers"] = json!([trigger]);
            Flow::from_value(&v, "e").unwrap()
        };
        assert!(mk(json!({"type": "Request", "kind": "Http"})).needs_definition());
        assert!(mk(json!({"type": "Request"})).needs_definition());
        assert!(!mk(json!({"type": "Request", "kind": "Button"})).needs_definition());
        assert!(!mk(json!({"type": "Recurrence"})).needs_definition());
        assert_eq!(mk(json!({"type": "Request", "kind": "Http"})).has_http_trigger(), Some(true));
    }

    #[test]
    fn suspension_reason() {
        let mut v = flow_json();
        v["properties"]["state"] = json!("Suspended");
        v["properties"]["flowSuspensionReason"] = json!("CompanyDlpViolation");
        let f = Flow::from_value(&v, "e").unwrap();
        assert_eq!(f.state, Some(FlowState::Suspended));
        assert_eq!(f.suspension(), Some("CompanyDlpViolation"));
    }

    /// The admin list as pnp/cli-microsoft365 answers it in its tests
    /// (src/m365/flow/commands/flow-list.spec.ts, `adminFlowResponse`,
    /// "Invoicing flow"): `"definitionSummary": {"triggers": [], "actions": []}`.
    /// That was read as "no HTTP trigger", and the definition never fetched.
    #[test]
    fn an_empty_summary_is_unknown_and_needs_the_definition() {
        let v = json!({"name": "fc2d4ef5-4151-4e93-9aaa-1f380d7ed95d", "properties": {"displayName": "Invoicing flow",
            "state": "Started", "flowSuspensionReason": "None", "definitionSummary": {"triggers": [], "actions": []}}});
        let f = Flow::from_value(&v, "Default-1e852b49-bf4b-4ba5-bcd4-a8c4706c8ed4").unwrap();
        assert_eq!((f.triggers.clone(), f.has_http_trigger(), f.connectors.clone()), (None, None, None));
        assert!(f.needs_definition());
    }
}
