//! A typed view of the answers the plugin reads: Power Platform
//! environments, Power Automate flows (the admin `v2/flows` list and one
//! flow with its definition), flow permissions and Graph users.
//!
//! Absent is unknown, never false: every field is an `Option` (or an enum
//! with an explicit "not known" case), so a field an answer did not carry
//! can neither fire a check nor silence one.

use crate::fields::{array, boolean, date, field, is_safe_name, object, text, Object};
use serde_json::Value;
use std::collections::BTreeSet;

/// The Teams "When a Teams webhook request is received" trigger operation.
pub const TEAMS_WEBHOOK_OPERATION: &str = "TeamsIncomingWebhookTrigger";

/// One Power Platform environment
/// (`GET api.bap.microsoft.com/.../scopes/admin/environments`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `name`: `Default-{tenant}` or a GUID; used in URLs and folder names.
    pub name: String,
    /// `properties.displayName`.
    pub display_name: Option<String>,
    /// `properties.isDefault`.
    pub is_default: Option<bool>,
    /// `properties.environmentSku` (Default, Production, Sandbox, Trial, Developer...).
    pub sku: Option<String>,
    /// `location`.
    pub location: Option<String>,
}

impl Environment {
    /// Read one environment; `None` when it has no usable `name`.
    pub fn from_value(v: &Value) -> Option<Environment> {
        let o = v.as_object()?;
        let name = text(o, "name")?;
        let props = object(o, "properties");
        Some(Environment {
            name,
            display_name: props.and_then(|p| text(p, "displayName")),
            is_default: props.and_then(|p| boolean(p, "isDefault")),
            sku: props.and_then(|p| text(p, "environmentSku")),
            location: text(o, "location"),
        })
    }

    /// A name for people: the display name, else the environment name.
    pub fn display(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }
}

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

/// One trigger as the flow list's `definitionSummary.triggers[]` or a
/// flow definition's `triggers{}` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trigger {
    /// `type`: Request, Recurrence, OpenApiConnection, OpenApiConnectionWebhook...
    pub kind_type: Option<String>,
    /// `kind` of a Request trigger: Http, Button, PowerApp, PowerAppV2...
    pub kind: Option<String>,
    /// `swaggerOperationId` (summary) or `inputs.host.operationId` (definition).
    pub operation: Option<String>,
    /// Connector: `api.name` (summary) or `inputs.host.connectionName`/`apiId` (definition).
    pub api: Option<String>,
}

impl Trigger {
    fn from_summary(v: &Value) -> Trigger {
        let Some(o) = v.as_object() else {
            return Trigger::default();
        };
        Trigger {
            kind_type: text(o, "type"),
            kind: text(o, "kind"),
            operation: text(o, "swaggerOperationId")
                .or_else(|| object(o, "apiOperation").and_then(|a| text(a, "name"))),
            api: object(o, "api").and_then(|a| text(a, "name").or_else(|| text(a, "id").map(|id| api_name(&id)))),
        }
    }

    fn from_definition(v: &Value) -> Trigger {
        let Some(o) = v.as_object() else {
            return Trigger::default();
        };
        let host = object(o, "inputs").and_then(|i| object(i, "host"));
        Trigger {
            kind_type: text(o, "type"),
            kind: text(o, "kind"),
            operation: host.and_then(|h| text(h, "operationId")),
            api: host.and_then(|h| {
                text(h, "apiId")
                    .map(|id| api_name(&id))
                    .or_else(|| text(h, "connectionName"))
            }),
        }
    }

    /// The Teams webhook trigger ("When a Teams webhook request is
    /// received"), by its operation or, as some definitions write it, by
    /// the Request kind `TeamsWebhook`.
    pub fn is_teams_webhook(&self) -> bool {
        self.operation
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case(TEAMS_WEBHOOK_OPERATION))
            || self
                .kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("TeamsWebhook"))
    }

    /// A `Request` trigger (HTTP, button, Power Apps...).
    pub fn is_request(&self) -> bool {
        self.kind_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("Request"))
    }

    /// Whether this is the "When a HTTP request is received" trigger: a
    /// Request trigger of kind `Http`. `None` when the answer does not say
    /// (a Request trigger without a kind, or no type at all).
    pub fn is_http(&self) -> Option<bool> {
        if self.is_teams_webhook() {
            return Some(false);
        }
        match self.kind_type.as_deref() {
            None => None,
            Some(t) if t.eq_ignore_ascii_case("Request") => self
                .kind
                .as_deref()
                .map(|k| k.eq_ignore_ascii_case("Http")),
            Some(_) => Some(false),
        }
    }

    /// What the register shows as the trigger (`auth_type`):
    /// `TeamsIncomingWebhookTrigger`, `Request`, `Recurrence`,
    /// `OpenApiConnection`...
    pub fn label(&self) -> String {
        if self.is_teams_webhook() {
            return TEAMS_WEBHOOK_OPERATION.to_string();
        }
        self.kind_type.clone().unwrap_or_else(|| "unknown".to_string())
    }
}

/// `shared_teams` from `/providers/Microsoft.PowerApps/apis/shared_teams`.
fn api_name(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_string()
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
    /// `properties.definitionSummary.triggers`; `None` when the summary is absent.
    pub triggers: Option<Vec<Trigger>>,
    /// Connectors used (`api.name` of triggers and actions, and the
    /// connection references), sorted; `None` when the answer carries none
    /// of those.
    pub connectors: Option<Vec<String>>,
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
            connectors: connectors(props, summary),
            description: summary.and_then(|s| text(s, "description")),
        })
    }

    /// A name for people.
    pub fn display(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }

    /// Whether any trigger is the Teams webhook trigger.
    pub fn has_teams_webhook(&self) -> bool {
        self.triggers.iter().flatten().any(Trigger::is_teams_webhook)
    }

    /// Whether the flow has an HTTP request trigger: `Some(true)` if any
    /// trigger is one, `Some(false)` if every trigger is known not to be,
    /// `None` otherwise.
    pub fn has_http_trigger(&self) -> Option<bool> {
        let triggers = self.triggers.as_ref()?;
        let mut all_known = true;
        for t in triggers {
            match t.is_http() {
                Some(true) => return Some(true),
                Some(false) => {}
                None => all_known = false,
            }
        }
        all_known.then_some(false)
    }

    /// Whether the trigger's authentication setting is worth a definition
    /// fetch: a Teams webhook or a Request trigger that may be HTTP.
    pub fn needs_definition(&self) -> bool {
        self.triggers.iter().flatten().any(|t| {
            t.is_teams_webhook() || (t.is_request() && t.is_http() != Some(false))
        })
    }

    /// `flowSuspensionReason` when it says the flow is suspended (anything
    /// but `None`).
    pub fn suspension(&self) -> Option<&str> {
        self.suspension_reason
            .as_deref()
            .filter(|r| !r.eq_ignore_ascii_case("None"))
    }
}

fn connectors(props: &Object, summary: Option<&Object>) -> Option<Vec<String>> {
    let mut names = BTreeSet::new();
    let mut seen_any = false;
    if let Some(s) = summary {
        for key in ["triggers", "actions"] {
            if let Some(items) = array(s, key) {
                seen_any = true;
                for item in items.iter().filter_map(Value::as_object) {
                    if let Some(api) = object(item, "api") {
                        if let Some(n) = text(api, "name").or_else(|| text(api, "id").map(|id| api_name(&id))) {
                            names.insert(n);
                        }
                    }
                }
            }
        }
    }
    if let Some(refs) = object(props, "connectionReferences") {
        seen_any = true;
        for (key, r) in refs {
            let from_ref = r.as_object().and_then(|r| {
                text(r, "apiName").or_else(|| text(r, "id").map(|id| api_name(&id)))
            });
            names.insert(from_ref.unwrap_or_else(|| key.clone()));
        }
    }
    seen_any.then(|| names.into_iter().collect())
}

/// The `triggerAuthenticationType` of a webhook or HTTP trigger: who may
/// call its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerAuth {
    /// Anyone with the URL (it carries a `sig=` signature).
    Anyone,
    /// Any user in the tenant (callers need an Entra ID token).
    Tenant,
    /// Specific users in the tenant.
    SpecificUsers,
    /// Anything else, as written.
    Other(String),
}

impl TriggerAuth {
    /// Read the setting as the designer writes it (`All`, `Tenant`,
    /// `SpecificUsers`) or as the UI labels it (`Anyone`, `Any user in my
    /// tenant`, `Specific users in my tenant`).
    pub fn parse(s: &str) -> TriggerAuth {
        let squashed: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match squashed.as_str() {
            "anyone" | "all" => TriggerAuth::Anyone,
            "tenant" | "anyuserinmytenant" | "anyuserinthetenant" | "anyuserintenant" => {
                TriggerAuth::Tenant
            }
            "specificusers" | "specificusersinmytenant" | "specificusersinthetenant" => {
                TriggerAuth::SpecificUsers
            }
            _ => TriggerAuth::Other(s.to_string()),
        }
    }

    /// For the register.
    pub fn as_str(&self) -> &str {
        match self {
            TriggerAuth::Anyone => "Anyone",
            TriggerAuth::Tenant => "Tenant",
            TriggerAuth::SpecificUsers => "SpecificUsers",
            TriggerAuth::Other(s) => s,
        }
    }

    /// The caller must sign in (tenant or specific users).
    pub fn requires_sign_in(&self) -> bool {
        matches!(self, TriggerAuth::Tenant | TriggerAuth::SpecificUsers)
    }
}

/// What is known about a flow's trigger authentication.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AuthKnowledge {
    /// The definition was not read (not needed, not exported, or not found).
    #[default]
    NotRead,
    /// The definition was read and its trigger carries no
    /// `triggerAuthenticationType` (triggers made before the setting existed).
    NotSet,
    /// The setting as read.
    Set(TriggerAuth),
}

impl AuthKnowledge {
    /// For the register: `Anyone`, `Tenant`, `SpecificUsers`, `not set` or `unknown`.
    pub fn describe(&self) -> &str {
        match self {
            AuthKnowledge::NotRead => "unknown",
            AuthKnowledge::NotSet => "not set",
            AuthKnowledge::Set(a) => a.as_str(),
        }
    }
}

/// What a flow's definition (`GET .../flows/{id}?$expand=properties.definition`)
/// tells about its triggers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Definition {
    /// Each trigger with its authentication setting, by trigger name.
    pub triggers: Vec<(String, Trigger, Option<TriggerAuth>)>,
}

impl Definition {
    /// Read a flow object with its definition; `None` when it has no
    /// `properties.definition` (the answer is then of no use).
    pub fn from_flow_value(v: &Value) -> Option<Definition> {
        let def = object(v.as_object()?, "properties").and_then(|p| object(p, "definition"))?;
        let triggers = object(def, "triggers")
            .map(|ts| {
                ts.iter()
                    .map(|(name, t)| {
                        let auth = t.as_object().and_then(|o| object(o, "inputs")).and_then(|i| {
                            text(i, "triggerAuthenticationType").or_else(|| {
                                object(i, "parameters").and_then(|p| text(p, "triggerAuthenticationType"))
                            })
                        });
                        (name.clone(), Trigger::from_definition(t), auth.map(|a| TriggerAuth::parse(&a)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Definition { triggers })
    }

    /// The authentication of the webhook / HTTP trigger: the first Teams
    /// webhook or Request trigger's setting.
    pub fn trigger_auth(&self) -> AuthKnowledge {
        let relevant = self
            .triggers
            .iter()
            .find(|(_, t, _)| t.is_teams_webhook() || t.is_request());
        match relevant {
            Some((_, _, Some(a))) => AuthKnowledge::Set(a.clone()),
            Some((_, _, None)) => AuthKnowledge::NotSet,
            None => AuthKnowledge::NotRead,
        }
    }

    /// Whether the definition shows an HTTP trigger (when the summary did not say).
    pub fn has_http_trigger(&self) -> Option<bool> {
        let mut any_unknown = false;
        for (_, t, _) in &self.triggers {
            match t.is_http() {
                Some(true) => return Some(true),
                Some(false) => {}
                None => any_unknown = true,
            }
        }
        (!any_unknown).then_some(false)
    }
}

/// A permission's role on a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The flow's owner (its creator, or whoever it was reassigned to).
    Owner,
    /// A co-owner: may edit, share and turn the flow on and off.
    CanEdit,
    /// A run-only user.
    CanView,
    /// Anything else, as written.
    Other(String),
}

impl Role {
    fn parse(s: &str) -> Role {
        match s.to_ascii_lowercase().as_str() {
            "owner" => Role::Owner,
            "canedit" => Role::CanEdit,
            "canview" => Role::CanView,
            _ => Role::Other(s.to_string()),
        }
    }

    /// Owners and co-owners manage the flow; run-only users do not.
    pub fn manages(&self) -> bool {
        matches!(self, Role::Owner | Role::CanEdit)
    }
}

/// The kind of principal a permission is granted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalType {
    /// An Entra ID user.
    User,
    /// An Entra ID group.
    Group,
    /// Anything else (ServicePrincipal, Tenant...), as written.
    Other(String),
}

/// One entry of `.../flows/{id}/permissions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `properties.roleName`.
    pub role: Role,
    /// `properties.principal.id`.
    pub principal_id: String,
    /// `properties.principal.type`; `None` when absent.
    pub principal_type: Option<PrincipalType>,
}

impl Permission {
    /// Read one permission; `None` without a role or a principal id.
    pub fn from_value(v: &Value) -> Option<Permission> {
        let o = v.as_object()?;
        let props = object(o, "properties").unwrap_or(o);
        let role = Role::parse(&text(props, "roleName")?);
        let principal = object(props, "principal")?;
        let principal_id = text(principal, "id")?;
        let principal_type = text(principal, "type").map(|t| match t.to_ascii_lowercase().as_str() {
            "user" => PrincipalType::User,
            "group" => PrincipalType::Group,
            _ => PrincipalType::Other(t),
        });
        Some(Permission {
            role,
            principal_id,
            principal_type,
        })
    }

    /// A user principal (the only kind whose account status is looked up).
    pub fn is_user(&self) -> bool {
        self.principal_type == Some(PrincipalType::User)
    }
}

/// Read a permissions answer's items.
pub fn permissions_from_values(items: &[Value]) -> Vec<Permission> {
    items.iter().filter_map(Permission::from_value).collect()
}

/// Whether an account can still sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// `accountEnabled: true`.
    Enabled,
    /// `accountEnabled: false`.
    Disabled,
    /// Graph answered 404 (or the user was asked for and not returned).
    Deleted,
    /// Not known.
    Unknown,
}

impl AccountStatus {
    /// For the register.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Enabled => "enabled",
            AccountStatus::Disabled => "disabled",
            AccountStatus::Deleted => "deleted",
            AccountStatus::Unknown => "unknown",
        }
    }

    /// The account can no longer manage anything.
    pub fn is_gone(self) -> bool {
        matches!(self, AccountStatus::Disabled | AccountStatus::Deleted)
    }
}

/// A Graph user, as far as the checks care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `id`.
    pub id: String,
    /// `userPrincipalName`.
    pub upn: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// From `accountEnabled`, or a 404.
    pub status: AccountStatus,
}

impl User {
    /// Read a Graph user object; `None` without an `id`.
    pub fn from_value(v: &Value) -> Option<User> {
        let o = v.as_object()?;
        let id = text(o, "id")?;
        let status = match boolean(o, "accountEnabled") {
            Some(true) => AccountStatus::Enabled,
            Some(false) => AccountStatus::Disabled,
            None => AccountStatus::Unknown,
        };
        Some(User {
            id,
            upn: text(o, "userPrincipalName"),
            display_name: text(o, "displayName"),
            status,
        })
    }

    /// A user Graph does not have (any more).
    pub fn deleted(id: &str) -> User {
        User {
            id: id.to_string(),
            upn: None,
            display_name: None,
            status: AccountStatus::Deleted,
        }
    }

    /// A name for people: UPN, else display name, else id.
    pub fn display(&self) -> &str {
        self.upn
            .as_deref()
            .or(self.display_name.as_deref())
            .unwrap_or(&self.id)
    }
}

/// Whether a Graph object is a user (`@odata.type`), when it says.
pub fn is_user_object(v: &Value) -> bool {
    v.as_object()
        .and_then(|o| field(o, "@odata.type"))
        .and_then(Value::as_str)
        .is_none_or(|t| t.eq_ignore_ascii_case("#microsoft.graph.user"))
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
        assert_eq!(f.connectors, Some(vec!["shared_office365".to_string(), "shared_teams".to_string()]));
        assert_eq!(f.description.as_deref(), Some("Relays monitoring alerts"));
        assert_eq!(f.triggers.as_ref().unwrap()[0].label(), "TeamsIncomingWebhookTrigger");
    }

    #[test]
    fn absent_is_unknown_on_a_bare_flow() {
        let f = Flow::from_value(&json!({"name": "f1"}), "e").unwrap();
        assert_eq!(f.display(), "f1");
        assert_eq!((f.state.clone(), f.created.clone(), f.triggers.clone(), f.connectors.clone()), (None, None, None, None));
        assert_eq!(f.has_http_trigger(), None);
        assert!(!f.has_teams_webhook() && !f.needs_definition());
        assert!(Flow::from_value(&json!({"properties": {}}), "e").is_err());
        assert!(Flow::from_value(&json!({"name": "../x"}), "e").is_err());
        assert!(Flow::from_value(&json!([1]), "e").is_err());
    }

    #[test]
    fn trigger_kinds() {
        let t = |v: Value| Trigger::from_summary(&v);
        let http = t(json!({"type": "Request", "kind": "Http"}));
        assert_eq!((http.is_http(), http.label().as_str()), (Some(true), "Request"));
        let button = t(json!({"type": "Request", "kind": "Button"}));
        assert_eq!(button.is_http(), Some(false));
        let bare = t(json!({"type": "Request"}));
        assert_eq!(bare.is_http(), None, "a Request without a kind may be HTTP");
        let rec = t(json!({"type": "Recurrence"}));
        assert_eq!((rec.is_http(), rec.label().as_str()), (Some(false), "Recurrence"));
        let teams_kind = t(json!({"type": "Request", "kind": "TeamsWebhook"}));
        assert!(teams_kind.is_teams_webhook() && teams_kind.is_http() == Some(false));
        assert_eq!(t(json!(5)).label(), "unknown");
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

    #[test]
    fn reads_definitions() {
        let v = json!({"name": "f", "properties": {"definition": {"triggers": {"manual": {
            "type": "OpenApiConnectionWebhook",
            "inputs": {"host": {"connectionName": "shared_teams", "operationId": "TeamsIncomingWebhookTrigger",
                                "apiId": "/providers/Microsoft.PowerApps/apis/shared_teams"},
                       "parameters": {"triggerAuthenticationType": "Anyone"}}}}}}});
        let d = Definition::from_flow_value(&v).unwrap();
        assert_eq!(d.trigger_auth(), AuthKnowledge::Set(TriggerAuth::Anyone));
        assert_eq!(d.triggers[0].1.api.as_deref(), Some("shared_teams"));
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
    }

    #[test]
    fn trigger_auth_spellings() {
        for (s, want) in [
            ("Anyone", TriggerAuth::Anyone),
            ("All", TriggerAuth::Anyone),
            ("Any user in my tenant", TriggerAuth::Tenant),
            ("Tenant", TriggerAuth::Tenant),
            ("Specific users in my tenant", TriggerAuth::SpecificUsers),
            ("SpecificUsers", TriggerAuth::SpecificUsers),
        ] {
            assert_eq!(TriggerAuth::parse(s), want, "{s}");
        }
        assert_eq!(TriggerAuth::parse("Robots"), TriggerAuth::Other("Robots".into()));
        assert!(TriggerAuth::Tenant.requires_sign_in() && !TriggerAuth::Anyone.requires_sign_in());
    }

    #[test]
    fn reads_permissions() {
        let items = vec![
            json!({"name": "u1", "properties": {"roleName": "Owner", "permissionType": "Principal",
                   "principal": {"id": "u1", "type": "User"}}}),
            json!({"properties": {"roleName": "CanEdit", "principal": {"id": "g1", "type": "Group"}}}),
            json!({"properties": {"roleName": "CanView", "principal": {"id": "u2", "type": "User"}}}),
            json!({"properties": {"roleName": "CanEdit", "principal": {"id": "s1", "type": "ServicePrincipal"}}}),
            json!({"properties": {"roleName": "Owner"}}),
            json!("junk"),
        ];
        let ps = permissions_from_values(&items);
        assert_eq!(ps.len(), 4);
        assert!(ps[0].role.manages() && ps[0].is_user());
        assert_eq!(ps[1].principal_type, Some(PrincipalType::Group));
        assert!(!ps[2].role.manages());
        assert_eq!(ps[3].principal_type, Some(PrincipalType::Other("ServicePrincipal".into())));
    }

    #[test]
    fn reads_users_and_environments() {
        let u = User::from_value(&json!({"id": "u1", "accountEnabled": false, "userPrincipalName": "a@x"})).unwrap();
        assert_eq!((u.status, u.display()), (AccountStatus::Disabled, "a@x"));
        let u = User::from_value(&json!({"id": "u2", "displayName": "B"})).unwrap();
        assert_eq!((u.status, u.display()), (AccountStatus::Unknown, "B"));
        assert!(User::from_value(&json!({"accountEnabled": true})).is_none());
        assert!(is_user_object(&json!({"@odata.type": "#microsoft.graph.user"})));
        assert!(!is_user_object(&json!({"@odata.type": "#microsoft.graph.group"})));
        let e = Environment::from_value(&json!({"name": "Default-t", "location": "europe",
            "properties": {"displayName": "Contoso (default)", "isDefault": true, "environmentSku": "Default"}})).unwrap();
        assert_eq!((e.display(), e.is_default, e.sku.as_deref()), ("Contoso (default)", Some(true), Some("Default")));
        assert_eq!(Environment::from_value(&json!({"name": "x"})).unwrap().display(), "x");
        assert!(Environment::from_value(&json!({"properties": {}})).is_none());
    }
}
