//! A flow's saved definition: the triggers as they really are (the list's
//! summary is often empty) and the connectors its steps call.

use crate::fields::object;
use crate::model::connectors::{self, Connectors};
use crate::model::trigger::{any_http, AuthKnowledge, Trigger};
use serde_json::Value;

/// What a flow's definition (`GET .../flows/{id}?$expand=properties.definition`)
/// tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Definition {
    /// Its triggers, with their authentication setting, in the answer's order.
    pub triggers: Vec<Trigger>,
    /// The connectors its steps call; `None` when it names none.
    pub connectors: Option<Connectors>,
}

impl Definition {
    /// Read a flow object with its definition; `None` when it has no
    /// `properties.definition` (the answer is then of no use).
    pub fn from_flow_value(v: &Value) -> Option<Definition> {
        let props = object(v.as_object()?, "properties")?;
        let def = object(props, "definition")?;
        let triggers = object(def, "triggers")
            .map(|ts| ts.values().map(Trigger::from_definition).collect())
            .unwrap_or_default();
        let connectors = connectors::from_definition(def, object(props, "connectionReferences"));
        Some(Definition { triggers, connectors })
    }

    /// The authentication of the trigger with a URL (a Teams webhook or a
    /// Request trigger that may be HTTP); `NotRead` when it has none.
    pub fn trigger_auth(&self) -> AuthKnowledge {
        match self.triggers.iter().find(|t| t.may_have_url()) {
            Some(Trigger { auth: Some(a), .. }) => AuthKnowledge::Set(a.clone()),
            Some(_) => AuthKnowledge::NotSet,
            None => AuthKnowledge::NotRead,
        }
    }

    /// Whether the definition shows an HTTP trigger.
    pub fn has_http_trigger(&self) -> Option<bool> {
        any_http(&self.triggers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::trigger::TriggerAuth;
    use serde_json::json;

    #[test]
    fn reads_definitions() {
        let v = json!({"name": "f", "properties": {"definition": {"triggers": {"manual": {
            "type": "OpenApiConnectionWebhook",
            "inputs": {"host": {"connectionName": "shared_teams", "operationId": "TeamsIncomingWebhookTrigger",
                                "apiId": "/providers/Microsoft.PowerApps/apis/shared_teams"},
                       "parameters": {"triggerAuthenticationType": "Anyone"}}}}, "actions": {}}}});
        let d = Definition::from_flow_value(&v).unwrap();
        assert_eq!(d.trigger_auth(), AuthKnowledge::Set(TriggerAuth::Anyone));
        assert_eq!(d.triggers[0].api.as_deref(), Some("shared_teams"));
        assert_eq!(d.connectors.as_ref().map(Connectors::describe).as_deref(), Some("shared_teams"));
        let http = json!({"properties": {"definition": {"triggers": {"manual": {
            "type": "Request", "kind": "Http", "inputs": {"triggerAuthenticationType": "Tenant", "schema": {}}}}}}});
        let d = Definition::from_flow_value(&http).unwrap();
        assert_eq!(d.trigger_auth(), AuthKnowledge::Set(TriggerAuth::Tenant));
        assert_eq!(d.has_http_trigger(), Some(true));
        let old = json!({"properties": {"definition": {"triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {}}}}}});
        assert_eq!(Definition::from_flow_value(&old).unwrap().trigger_auth(), AuthKnowledge::NotSet);
        let rec = json!({"properties": {"definition": {"triggers": {"r": {"type": "Recurrence"}}}}});
        assert_eq!(Definition::from_flow_value(&rec).unwrap().trigger_auth(), AuthKnowledge::NotRead);
        assert_eq!(Definition::from_flow_value(&json!({"properties": {}})), None);
        assert_eq!(Definition::from_flow_value(&json!({"properties": {"definition": {}}})).unwrap().has_http_trigger(), None);
    }

    /// A button's inputs carry no authentication setting, and it has no URL:
    /// its auth is not "not set" (pnp/cli-microsoft365
    /// src/m365/flow/commands/flow-get.mock.ts, trigger `manual`, cut down).
    #[test]
    fn a_button_has_no_url_auth() {
        let v = json!({"properties": {"definition": {"triggers": {"manual": {"type": "Request", "kind": "Button",
            "inputs": {"schema": {"type": "object", "properties": {"text": {"type": "string"}}}}}}}}});
        let d = Definition::from_flow_value(&v).unwrap();
        assert_eq!((d.trigger_auth(), d.has_http_trigger()), (AuthKnowledge::NotRead, Some(false)));
    }
}
