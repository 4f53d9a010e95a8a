//! Which connectors a flow uses, from its summary or its definition, and
//! whether the answer named all of them.

use crate::fields::{array, object, text, Object};
use crate::model::trigger::{api_name, summary_api};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// How deep nested actions (conditions, scopes, loops) are followed;
/// deeper is cut rather than walked, and the list is then incomplete.
const MAX_DEPTH: usize = 32;

/// The connectors a flow uses, as far as an answer names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connectors {
    /// Connector names (`shared_teams`...), sorted.
    pub names: Vec<String>,
    /// Whether every step that calls a connector named it. Only a complete
    /// empty list means "none": the admin list often leaves the summary
    /// empty or writes `ApiConnection` steps without their `api`.
    pub complete: bool,
}

impl Connectors {
    /// For the register: the names; `none`; `unknown`; or the names read
    /// followed by `(and unknown others)`.
    pub fn describe(&self) -> String {
        match (self.names.is_empty(), self.complete) {
            (true, true) => "none".to_string(),
            (true, false) => "unknown".to_string(),
            (false, true) => self.names.join(", "),
            (false, false) => format!("{} (and unknown others)", self.names.join(", ")),
        }
    }

    /// What two answers about one flow (its summary and its definition) say
    /// together: every name either gives, complete when either is. Neither
    /// wins outright, as a saved definition may be cut down and a summary
    /// may leave steps unnamed.
    pub fn merged(a: Option<&Connectors>, b: Option<&Connectors>) -> Option<Connectors> {
        let names: BTreeSet<String> = a.into_iter().chain(b).flat_map(|c| c.names.iter().cloned()).collect();
        let complete = a.is_some_and(|c| c.complete) || b.is_some_and(|c| c.complete);
        Connectors::known(names, complete)
    }

    fn known(names: BTreeSet<String>, complete: bool) -> Option<Connectors> {
        (complete || !names.is_empty()).then(|| Connectors { names: names.into_iter().collect(), complete })
    }
}

/// A step type that calls a connector (`ApiConnection`, `OpenApiConnection`
/// and their webhook and notification forms).
fn calls_connector(kind: Option<&str>) -> bool {
    kind.is_none_or(|k| k.to_ascii_lowercase().contains("apiconnection"))
}

/// From the admin list: `definitionSummary.triggers[]/actions[]` with their
/// `api`, and `connectionReferences`. `None` when nothing is named.
pub(crate) fn from_summary(props: &Object, summary: Option<&Object>) -> Option<Connectors> {
    let mut names = BTreeSet::new();
    let triggers = summary.and_then(|s| array(s, "triggers")).filter(|t| !t.is_empty());
    let mut complete = triggers.is_some();
    for key in ["triggers", "actions"] {
        for item in summary.and_then(|s| array(s, key)).into_iter().flatten() {
            let Some(item) = item.as_object() else {
                complete = false;
                continue;
            };
            match summary_api(item) {
                Some(n) => {
                    names.insert(n);
                }
                None if calls_connector(text(item, "type").as_deref()) => complete = false,
                None => {}
            }
        }
    }
    names.extend(references(object(props, "connectionReferences")).into_values());
    Connectors::known(names, complete)
}

/// From a flow definition: every trigger and action (nested ones too)
/// that calls a connector, resolved through the answer's
/// `connectionReferences`. `None` when nothing is named.
pub(crate) fn from_definition(def: &Object, refs: Option<&Object>) -> Option<Connectors> {
    let refs = references(refs);
    let mut names: BTreeSet<String> = refs.values().cloned().collect();
    let triggers = object(def, "triggers").filter(|t| !t.is_empty());
    let actions = object(def, "actions");
    // Without its actions (an export cut down by hand) a definition cannot
    // say that the flow calls no connector.
    let mut complete = triggers.is_some() && actions.is_some();
    for t in triggers.into_iter().flat_map(|t| t.values()) {
        complete &= step(t, &refs, &mut names);
    }
    if let Some(actions) = actions {
        complete &= walk(actions, &refs, &mut names, 0);
    }
    Connectors::known(names, complete)
}

/// Reference key → connector name.
type References = BTreeMap<String, String>;

/// From `connectionReferences` (`{"shared_teams": {"id": ".../apis/shared_teams", ...}}`).
fn references(refs: Option<&Object>) -> References {
    refs.into_iter()
        .flatten()
        .map(|(key, r)| {
            let api = r.as_object().and_then(|r| {
                text(r, "apiName")
                    .or_else(|| text(r, "id").map(|id| api_name(&id)))
                    .or_else(|| object(r, "api").and_then(|a| text(a, "name")))
            });
            (key.clone(), api.unwrap_or_else(|| key.clone()))
        })
        .collect()
}

/// Every action in `actions`, and the branches of conditions, switches,
/// scopes and loops; false when a connector step went unnamed.
fn walk(actions: &Object, refs: &References, names: &mut BTreeSet<String>, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let mut complete = true;
    for a in actions.values() {
        complete &= step(a, refs, names);
        let Some(o) = a.as_object() else { continue };
        let mut branches: Vec<&Object> = object(o, "actions").into_iter().collect();
        for key in ["else", "default"] {
            branches.extend(object(o, key).and_then(|b| object(b, "actions")));
        }
        for case in object(o, "cases").into_iter().flat_map(|c| c.values()) {
            branches.extend(case.as_object().and_then(|c| object(c, "actions")));
        }
        for b in branches {
            complete &= walk(b, refs, names, depth + 1);
        }
    }
    complete
}

/// One trigger or action: its connector goes into `names`; false when it
/// calls one and does not say which.
fn step(v: &Value, refs: &References, names: &mut BTreeSet<String>) -> bool {
    let Some(o) = v.as_object() else {
        return false;
    };
    if !calls_connector(text(o, "type").as_deref()) {
        return true;
    }
    let host = object(o, "inputs").and_then(|i| object(i, "host"));
    let resolve = |key: String| refs.get(&key).cloned().unwrap_or(key);
    let named = host.and_then(|h| {
        text(h, "apiId")
            .map(|id| api_name(&id))
            .or_else(|| text(h, "connectionName").map(resolve))
            .or_else(|| {
                let expr = object(h, "connection").and_then(|c| text(c, "name"))?;
                connection_key(&expr).map(resolve)
            })
    });
    match named {
        Some(n) => {
            names.insert(n);
            true
        }
        None => false,
    }
}

/// `shared_office365` from the older `ApiConnection` form
/// `@parameters('$connections')['shared_office365']['connectionId']`.
fn connection_key(expr: &str) -> Option<String> {
    let rest = expr.split_once("$connections')['")?.1;
    let key = rest.split_once("']")?.0;
    (!key.is_empty()).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn a_summary_naming_every_api_is_complete() {
        let summary = obj(json!({"triggers": [{"type": "Recurrence"}],
            "actions": [{"type": "Compose"}, {"type": "OpenApiConnection", "api": {"id": "/providers/Microsoft.PowerApps/apis/shared_office365"}}]}));
        let props = obj(json!({"connectionReferences": {"shared_teams": {"id": "/providers/Microsoft.PowerApps/apis/shared_teams"}}}));
        let c = from_summary(&props, Some(&summary)).unwrap();
        assert_eq!((c.describe().as_str(), c.complete), ("shared_office365, shared_teams", true));
        let none = from_summary(&Object::new(), Some(&obj(json!({"triggers": [{"type": "Recurrence"}], "actions": [{"type": "Compose"}]}))));
        assert_eq!(none.unwrap().describe(), "none");
        assert_eq!(from_summary(&Object::new(), None), None);
    }

    /// pnp/cli-microsoft365 src/m365/flow/commands/flow-list.spec.ts: the
    /// admin answer's `"definitionSummary": {"triggers": [], "actions": []}`
    /// ("Invoicing flow"), and "Get a daily digest of the top CNN news",
    /// whose `ApiConnection` steps carry no `api`. Both were "none".
    #[test]
    fn empty_or_unnamed_summaries_are_unknown() {
        let empty = obj(json!({"triggers": [], "actions": []}));
        assert_eq!(from_summary(&Object::new(), Some(&empty)), None);
        let cnn = obj(json!({"triggers": [{"type": "Recurrence"}], "actions": [{"type": "If"}, {"type": "Query"},
            {"type": "ApiConnection", "swaggerOperationId": "ListFeedItems", "metadata": {"flowSystemMetadata": {"swaggerOperationId": "ListFeedItems"}}},
            {"type": "Foreach"}, {"type": "ApiConnection", "swaggerOperationId": "SendEmailNotification"}, {"type": "Compose"}]}));
        assert_eq!(from_summary(&Object::new(), Some(&cnn)), None);
        let some = obj(json!({"triggers": [{"type": "OpenApiConnection", "api": {"name": "shared_sharepointonline"}}],
            "actions": [{"type": "ApiConnection", "swaggerOperationId": "ListFeedItems"}]}));
        assert_eq!(from_summary(&Object::new(), Some(&some)).unwrap().describe(), "shared_sharepointonline (and unknown others)");
    }

    #[test]
    fn a_summary_and_a_definition_say_more_together() {
        let named = |names: &[&str], complete| Connectors { names: names.iter().map(|n| n.to_string()).collect(), complete };
        let summary = named(&["shared_office365", "shared_twilio"], true);
        let trimmed = from_definition(&obj(json!({"triggers": {"manual": {"type": "Request", "kind": "Http"}}})), None);
        assert_eq!(trimmed, None, "no actions: says nothing about connectors");
        let def = named(&["shared_teams"], false);
        assert_eq!(Connectors::merged(Some(&summary), Some(&def)).unwrap().describe(), "shared_office365, shared_teams, shared_twilio");
        assert_eq!(Connectors::merged(None, Some(&def)).unwrap().describe(), "shared_teams (and unknown others)");
        assert_eq!(Connectors::merged(None, None), None);
    }

    /// posetek/posetek_website deployments/microsoft-email/flow-definition.json
    /// (commit d93134d2), cut down: the connector step sits inside a condition.
    #[test]
    fn definitions_are_walked_into_branches() {
        let def = obj(json!({"triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {"triggerAuthenticationType": "User"}}},
            "actions": {"Claim": {"type": "Http", "inputs": {"method": "POST"}},
                "Has_send_permission": {"type": "If", "actions": {"Send_email_once": {"type": "OpenApiConnection",
                    "inputs": {"host": {"apiId": "/providers/Microsoft.PowerApps/apis/shared_office365", "connectionName": "shared_office365",
                                        "operationId": "SharedMailboxSendEmailV2"}}}},
                    "else": {"actions": {}}},
                "Response": {"type": "Response", "kind": "Http"}}}));
        let c = from_definition(&def, None).unwrap();
        assert_eq!((c.describe().as_str(), c.complete), ("shared_office365", true));
        let old = obj(json!({"triggers": {"Recurrence": {"type": "Recurrence"}}, "actions": {"Switch": {"type": "Switch", "cases": {"a": {"actions": {
            "Send": {"type": "ApiConnection", "inputs": {"host": {"connection": {"name": "@parameters('$connections')['shared_office365_1']['connectionId']"}}}}}}},
            "default": {"actions": {"Odd": {"type": "OpenApiConnection", "inputs": {}}}}}}}));
        let refs = obj(json!({"shared_office365_1": {"id": "/providers/Microsoft.PowerApps/apis/shared_office365"}}));
        let c = from_definition(&old, Some(&refs)).unwrap();
        assert_eq!(c.describe(), "shared_office365 (and unknown others)", "an unnamed step leaves the list open");
        assert_eq!(from_definition(&obj(json!({"triggers": {}})), None), None);
    }
}
