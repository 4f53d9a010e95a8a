//! A flow's trigger and who may call its URL (`triggerAuthenticationType`).

use crate::fields::{object, text, Object};
use serde_json::Value;

/// The Teams "When a Teams webhook request is received" trigger operation.
pub const TEAMS_WEBHOOK_OPERATION: &str = "TeamsIncomingWebhookTrigger";

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
    /// `triggerAuthenticationType`; only a definition carries it, so a
    /// summary's trigger always has `None` here.
    pub auth: Option<TriggerAuth>,
}

impl Trigger {
    pub(crate) fn from_summary(v: &Value) -> Trigger {
        let Some(o) = v.as_object() else {
            return Trigger::default();
        };
        Trigger {
            kind_type: text(o, "type"),
            kind: text(o, "kind"),
            operation: text(o, "swaggerOperationId")
                .or_else(|| object(o, "apiOperation").and_then(|a| text(a, "name"))),
            api: summary_api(o),
            auth: None,
        }
    }

    pub(crate) fn from_definition(v: &Value) -> Trigger {
        let Some(o) = v.as_object() else {
            return Trigger::default();
        };
        let inputs = object(o, "inputs");
        let host = inputs.and_then(|i| object(i, "host"));
        // The HTTP trigger keeps the setting in `inputs`, the Teams connector's
        // trigger among its operation `parameters`.
        let auth = inputs.and_then(|i| {
            text(i, "triggerAuthenticationType")
                .or_else(|| object(i, "parameters").and_then(|p| text(p, "triggerAuthenticationType")))
        });
        Trigger {
            kind_type: text(o, "type"),
            kind: text(o, "kind"),
            operation: host.and_then(|h| text(h, "operationId")),
            api: host.and_then(|h| {
                text(h, "apiId")
                    .map(|id| api_name(&id))
                    .or_else(|| text(h, "connectionName"))
            }),
            auth: auth.map(|a| TriggerAuth::parse(&a)),
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

    /// Whether the trigger may have a URL that callers post to (a Teams
    /// webhook, or a Request trigger not known to be something else): the
    /// triggers whose authentication setting matters.
    pub fn may_have_url(&self) -> bool {
        self.is_teams_webhook() || (self.is_request() && self.is_http() != Some(false))
    }

    /// What the register shows as the trigger (`auth_type`):
    /// `TeamsIncomingWebhookTrigger`, `Request (Http)`, `Request (Button)`,
    /// `Recurrence`, `OpenApiConnection`... A Request trigger names its kind
    /// because "Request" alone reads as an HTTP endpoint even for a button.
    pub fn label(&self) -> String {
        if self.is_teams_webhook() {
            return TEAMS_WEBHOOK_OPERATION.to_string();
        }
        match (&self.kind_type, &self.kind) {
            (Some(t), Some(k)) if self.is_request() => format!("{t} ({k})"),
            (Some(t), _) => t.clone(),
            (None, _) => "unknown".to_string(),
        }
    }
}

/// Whether any of `triggers` is an HTTP request trigger: `Some(true)` if
/// one is, `Some(false)` if every one is known not to be, `None` otherwise
/// (and for no triggers at all: every flow has one, so none listed is unknown).
pub fn any_http(triggers: &[Trigger]) -> Option<bool> {
    if triggers.is_empty() {
        return None;
    }
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

/// The connector of a summary's trigger or action: `api.name`, else the
/// last segment of `api.id`.
pub(crate) fn summary_api(item: &Object) -> Option<String> {
    object(item, "api").and_then(|a| text(a, "name").or_else(|| text(a, "id").map(|id| api_name(&id))))
}

/// `shared_teams` from `/providers/Microsoft.PowerApps/apis/shared_teams`.
pub(crate) fn api_name(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_string()
}

/// The `triggerAuthenticationType` of a webhook or HTTP trigger: who may
/// call its URL.
///
/// Microsoft documents three modes ("Any user in my tenant", "Specific
/// users in my tenant", "Anyone": learn.microsoft.com/power-automate/oauth-authentication).
/// Saved definitions write them `Tenant`, `User` (with `triggerAllowedUsers`)
/// and `All`, as public exports and tools that read them show
/// (tihanajk/HttpFlowFinder, HttpFlowFinderControl.cs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerAuth {
    /// Anyone with the URL (it carries a `sig=` signature).
    Anyone,
    /// Any user in the tenant (callers need an Entra ID token).
    Tenant,
    /// Specific users in the tenant.
    SpecificUsers,
    /// Anything else, as written. Not known to be open: it is never reported
    /// as "anyone".
    Other(String),
}

impl TriggerAuth {
    /// Read the setting as definitions write it (`All`, `Tenant`, `User`),
    /// or as the UI labels it (`Anyone`, `Any user in my tenant`, `Specific
    /// users in my tenant`), which hand-made exports and the Teams trigger's
    /// parameter may carry.
    pub fn parse(s: &str) -> TriggerAuth {
        let squashed: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match squashed.as_str() {
            "anyone" | "all" => TriggerAuth::Anyone,
            "tenant" | "anyuserinmytenant" | "anyuserinthetenant" | "anyuserintenant" => TriggerAuth::Tenant,
            "user" | "users" | "specificusers" | "specificusersinmytenant" | "specificusersinthetenant"
            | "specificusersintenant" => TriggerAuth::SpecificUsers,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trigger_kinds() {
        let t = |v: Value| Trigger::from_summary(&v);
        let http = t(json!({"type": "Request", "kind": "Http"}));
        assert_eq!((http.is_http(), http.label().as_str()), (Some(true), "Request (Http)"));
        let button = t(json!({"type": "Request", "kind": "Button"}));
        assert_eq!((button.is_http(), button.may_have_url()), (Some(false), false));
        let bare = t(json!({"type": "Request"}));
        assert_eq!((bare.is_http(), bare.label().as_str()), (None, "Request"), "a Request without a kind may be HTTP");
        assert!(bare.may_have_url());
        let rec = t(json!({"type": "Recurrence"}));
        assert_eq!((rec.is_http(), rec.label().as_str()), (Some(false), "Recurrence"));
        let teams_kind = t(json!({"type": "Request", "kind": "TeamsWebhook"}));
        assert!(teams_kind.is_teams_webhook() && teams_kind.is_http() == Some(false) && teams_kind.may_have_url());
        assert_eq!(t(json!(5)).label(), "unknown");
        assert_eq!(any_http(&[]), None, "every flow has a trigger: none listed is unknown");
        assert_eq!(any_http(&[rec.clone(), bare]), None);
        assert_eq!(any_http(&[rec, http]), Some(true));
    }

    /// A button flow as the pnp/cli-microsoft365 test answer for `flow list`
    /// writes its summary (src/m365/flow/commands/flow-list.spec.ts, "Send
    /// myself a reminder in 10 minutes"): the register showed "Request",
    /// which reads as an HTTP endpoint.
    #[test]
    fn a_button_is_labelled_as_a_button() {
        let button = Trigger::from_summary(&json!({"type": "Request", "kind": "Button"}));
        assert_eq!(button.label(), "Request (Button)");
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

    /// "Specific users in my tenant" as a saved definition writes it: `User`,
    /// with the callers in `triggerAllowedUsers`. Excerpt of
    /// posetek/posetek_website deployments/microsoft-email/flow-definition.json
    /// (commit d93134d2); the same three values (`All`, `Tenant`, `User`) are
    /// the ones tihanajk/HttpFlowFinder (HttpFlowFinderControl.cs) filters on.
    #[test]
    fn user_is_specific_users_and_requires_sign_in() {
        let t = Trigger::from_definition(&json!({
            "type": "Request", "kind": "Http",
            "inputs": {"schema": {"type": "object"}, "triggerAuthenticationType": "User",
                       "triggerAllowedUsers": "REPLACE_DEDICATED_CALLER_SERVICE_PRINCIPAL_OBJECT_ID"}}));
        assert_eq!(t.auth, Some(TriggerAuth::SpecificUsers));
        assert!(t.auth.unwrap().requires_sign_in());
    }
}
