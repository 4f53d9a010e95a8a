//! A typed view of what the plugin reads: teams, their installed apps and
//! owners (Graph), channel connectors (Purview audit) and the tenant's
//! connector switch (Exchange Online). Absent is unknown: every field is an
//! `Option`, and a team whose apps could not be read is [`Fetched::Failed`],
//! never "no apps".

use crate::audit::AuditRecord;
use crate::json::{boolean, field, text, Object};
use serde_json::Value;

/// The Incoming Webhook app's Teams app id (`teamsAppDefinition/teamsAppId`).
pub const INCOMING_WEBHOOK_APP_ID: &str = "203a1e2c-26cc-47ca-83ae-be98f960b6b2";

/// One team, from `GET /groups?$filter=resourceProvisioningOptions/Any(x:x eq 'Team')`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Team {
    /// The group (= team) id.
    pub id: String,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `visibility` (Public, Private, HiddenMembership).
    pub visibility: Option<String>,
    /// `createdDateTime`, as written.
    pub created: Option<String>,
}

impl Team {
    /// Read one group object; `None` without an `id`.
    pub fn from_value(v: &Value) -> Option<Team> {
        let o = v.as_object()?;
        Some(Team {
            id: text(o, "id")?,
            display_name: text(o, "displayName"),
            visibility: text(o, "visibility"),
            created: text(o, "createdDateTime"),
        })
    }

    /// A name for people: the display name, else the id.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.id)
    }
}

/// One `teamsAppInstallation` with its expanded `teamsAppDefinition`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstalledApp {
    /// The installation id.
    pub installation_id: Option<String>,
    /// `teamsAppDefinition/teamsAppId`: the app's id in the catalog.
    pub teams_app_id: Option<String>,
    /// `teamsAppDefinition/displayName`.
    pub display_name: Option<String>,
    /// `teamsAppDefinition/version`.
    pub version: Option<String>,
    /// `teamsAppDefinition/publishingState`.
    pub publishing_state: Option<String>,
    /// `teamsAppDefinition/shortDescription`.
    pub short_description: Option<String>,
}

impl InstalledApp {
    /// Read one installation; without an expanded definition everything but
    /// the installation id is unknown.
    pub fn from_value(v: &Value) -> InstalledApp {
        let Some(o) = v.as_object() else {
            return InstalledApp::default();
        };
        let def: Option<&Object> = field(o, "teamsAppDefinition").and_then(Value::as_object);
        let d = |k: &str| def.and_then(|d| text(d, k));
        InstalledApp {
            installation_id: text(o, "id"),
            teams_app_id: d("teamsAppId").map(|s| s.to_ascii_lowercase()),
            display_name: d("displayName"),
            version: d("version"),
            publishing_state: d("publishingState"),
            short_description: d("shortDescription"),
        }
    }

    /// Whether this is the Incoming Webhook app.
    pub fn is_incoming_webhook(&self) -> bool {
        self.teams_app_id.as_deref() == Some(INCOMING_WEBHOOK_APP_ID)
    }

    /// A name for people.
    pub fn name(&self) -> &str {
        self.display_name
            .as_deref()
            .or(self.teams_app_id.as_deref())
            .unwrap_or("(unknown app)")
    }
}

/// One owner from `GET /groups/{id}/owners`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    /// Directory object id.
    pub id: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `userPrincipalName` (users only).
    pub upn: Option<String>,
    /// `accountEnabled`.
    pub account_enabled: Option<bool>,
    /// `@odata.type` without its namespace: `user`, `servicePrincipal`, ...
    pub kind: Option<String>,
}

impl Owner {
    /// Read one directory object.
    pub fn from_value(v: &Value) -> Owner {
        let Some(o) = v.as_object() else {
            return Owner::default();
        };
        Owner {
            id: text(o, "id"),
            display_name: text(o, "displayName"),
            upn: text(o, "userPrincipalName"),
            account_enabled: boolean(o, "accountEnabled"),
            kind: text(o, "@odata.type")
                .map(|t| t.trim_start_matches("#microsoft.graph.").to_string()),
        }
    }

    /// How the register names the owner: UPN, else display name, else id.
    pub fn label(&self) -> String {
        self.upn
            .clone()
            .or_else(|| self.display_name.clone())
            .or_else(|| self.id.clone())
            .unwrap_or_else(|| "(unknown owner)".to_string())
    }

    /// Not known to be disabled (a disabled account cannot look after a team).
    pub fn active(&self) -> bool {
        self.account_enabled != Some(false)
    }
}

/// Why something could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// HTTP status, when there was one.
    pub status: Option<u16>,
    /// What happened, for the register.
    pub reason: String,
}

/// A per-team read: done, failed, or not attempted / not in the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched<T> {
    /// Read.
    Read(T),
    /// The service (or the saved answer) refused or failed.
    Failed(Note),
    /// Not read at all (e.g. no file for this team in the export).
    Missing(String),
}

impl<T> Fetched<T> {
    /// The value, when read.
    pub fn read(&self) -> Option<&T> {
        match self {
            Fetched::Read(t) => Some(t),
            _ => None,
        }
    }

    /// Why it was not read, when it was not.
    pub fn why_not(&self) -> Option<String> {
        match self {
            Fetched::Read(_) => None,
            Fetched::Failed(n) => Some(n.reason.clone()),
            Fetched::Missing(m) => Some(m.clone()),
        }
    }
}

/// One team and what was read about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamData {
    /// The team.
    pub team: Team,
    /// Its installed apps.
    pub apps: Fetched<Vec<InstalledApp>>,
    /// Its owners.
    pub owners: Fetched<Vec<Owner>>,
}

/// The tenant's Office 365 connectors switch, when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgFlag {
    /// Whether connectors are effectively enabled for Teams.
    pub enabled: bool,
    /// Where it came from (a setting, or a file).
    pub source: String,
    /// `ConnectorsEnabled`, when read from a file.
    pub connectors_enabled: Option<bool>,
    /// `ConnectorsEnabledForTeams`, when read from a file.
    pub connectors_enabled_for_teams: Option<bool>,
}

impl OrgFlag {
    /// The effective switch from Get-OrganizationConfig: connectors work in
    /// Teams when `ConnectorsEnabled` is on and `ConnectorsEnabledForTeams`
    /// is not off. `None` when that cannot be told.
    pub fn from_organization_config(v: &Value, source: &str) -> Option<OrgFlag> {
        let o = v.as_object()?;
        let all = boolean(o, "ConnectorsEnabled");
        let teams = boolean(o, "ConnectorsEnabledForTeams");
        let enabled = match (all, teams) {
            (Some(false), _) | (_, Some(false)) => false,
            (Some(true), _) => true,
            (None, _) => return None,
        };
        Some(OrgFlag {
            enabled,
            source: source.to_string(),
            connectors_enabled: all,
            connectors_enabled_for_teams: teams,
        })
    }
}

/// Everything one scan read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeamsState {
    /// `graph` (live) or `offline`.
    pub source: String,
    /// The teams, in the order listed.
    pub teams: Vec<TeamData>,
    /// Connector audit records (ConnectorAdded/Updated/Removed).
    pub audit: Vec<AuditRecord>,
    /// Whether any audit export was read (so "no records" means none).
    pub audit_read: bool,
    /// The tenant switch, when given.
    pub org: Option<OrgFlag>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn installed_app_reads_the_expanded_definition() {
        let app = InstalledApp::from_value(&json!({
            "id": "NjkwZDRl",
            "teamsAppDefinition": {
                "id": "MjAzYTFl", "teamsAppId": "203A1E2C-26CC-47CA-83AE-BE98F960B6B2",
                "displayName": "Incoming Webhook", "version": "3.1.0",
                "publishingState": "published", "shortDescription": "Send data from a service"
            }
        }));
        assert!(app.is_incoming_webhook(), "ids compare without case");
        assert_eq!(app.name(), "Incoming Webhook");
        assert_eq!(app.version.as_deref(), Some("3.1.0"));
        let bare = InstalledApp::from_value(&json!({"id": "x"}));
        assert_eq!(bare.teams_app_id, None, "not expanded: unknown");
        assert!(!bare.is_incoming_webhook());
    }

    #[test]
    fn owners_label_and_activity() {
        let u = Owner::from_value(&json!({
            "@odata.type": "#microsoft.graph.user", "id": "1",
            "displayName": "Maria", "userPrincipalName": "maria@x.example", "accountEnabled": false
        }));
        assert_eq!(u.label(), "maria@x.example");
        assert_eq!(u.kind.as_deref(), Some("user"));
        assert!(!u.active());
        let sp = Owner::from_value(&json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": "2", "displayName": "Provisioning app"}));
        assert_eq!(sp.label(), "Provisioning app");
        assert!(sp.active(), "unknown is not disabled");
    }

    #[test]
    fn organization_switch_is_effective_for_teams() {
        let f = |v: Value| OrgFlag::from_organization_config(&v, "f").map(|f| f.enabled);
        assert_eq!(f(json!({"ConnectorsEnabled": true})), Some(true));
        assert_eq!(f(json!({"ConnectorsEnabled": "True", "ConnectorsEnabledForTeams": "True"})), Some(true));
        assert_eq!(f(json!({"ConnectorsEnabled": true, "ConnectorsEnabledForTeams": false})), Some(false));
        assert_eq!(f(json!({"ConnectorsEnabled": false})), Some(false));
        assert_eq!(f(json!({"ConnectorsEnabledForTeams": true})), None, "the master switch is unknown");
        assert_eq!(f(json!({"Name": "x"})), None);
    }
}
