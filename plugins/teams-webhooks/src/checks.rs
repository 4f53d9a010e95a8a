//! The checks. Each fires only on what was seen: unknown owners never make
//! a team "single-owner", and an unknown tenant switch never reports it on.

use crate::model::{OrgFlag, Owner};
use plumbline_plugin_sdk::{Finding, Severity};

/// A legacy Office 365 connector (Incoming Webhook or another connector
/// app, or a channel connector) still configured after the retirement.
pub const LEGACY_CONNECTOR_CONFIGURED: &str = "teams.legacy-connector-configured";
/// A team with a connector and a single (active) owner.
pub const CONNECTOR_SINGLE_OWNER: &str = "teams.connector-single-owner";
/// The tenant still has Office 365 connectors switched on for Teams.
pub const CONNECTORS_ENABLED: &str = "teams.connectors-enabled";
/// A team whose installed apps could not be read: it may hide connectors.
pub const INSTALLED_APPS_UNREADABLE: &str = "teams.installed-apps-unreadable";
/// The exchange-connectors plugin's check for the same tenant switch.
pub const EXO_LEGACY_CONNECTORS_ENABLED: &str = "exo.tenant.legacy-connectors-enabled";
/// The register key the exchange-connectors plugin reports that switch on.
pub const EXO_ORGANIZATION_KEY: &str = "exchange:organization";

/// Every check id with its severity.
pub const CHECKS: [(&str, Severity); 4] = [
    (LEGACY_CONNECTOR_CONFIGURED, Severity::High),
    (CONNECTOR_SINGLE_OWNER, Severity::Medium),
    (CONNECTORS_ENABLED, Severity::Medium),
    (INSTALLED_APPS_UNREADABLE, Severity::Info),
];

/// What a legacy-connector finding says about its connector.
pub struct Legacy<'a> {
    /// `Incoming Webhook in team Front Desk`, `RSS connector in Front Desk / News`.
    pub what: String,
    /// The team's name.
    pub team: &'a str,
    /// The channel, for channel-level connectors.
    pub channel: Option<&'a str>,
    /// Whether it is the Incoming Webhook.
    pub incoming_webhook: bool,
    /// Extra evidence.
    pub evidence: Vec<(&'static str, String)>,
}

/// `teams.legacy-connector-configured` on `key`.
pub fn legacy_connector(key: &str, l: Legacy<'_>, retirement: &str) -> Finding {
    let where_ = match l.channel {
        Some(c) => format!("channel {c} of team {}", l.team),
        None => format!("team {}", l.team),
    };
    let (title, detail) = if l.incoming_webhook {
        (
            format!("Incoming Webhook still configured in {where_} after the connector retirement"),
            format!(
                "{} is still there, but Office 365 connectors, the Incoming Webhook among them, were \
                 retired from {retirement}: whatever posts to its URL (monitoring, backup or RMM alerts) \
                 now goes nowhere, and the sender is not told. Those alerts are lost without a sound.",
                l.what
            ),
        )
    } else {
        (
            format!("Legacy connector still configured in {where_} after the retirement"),
            format!(
                "{} is an Office 365 connector; connectors were retired from {retirement}, so the \
                 messages it delivered no longer arrive and nobody is told.",
                l.what
            ),
        )
    };
    let mut f = Finding::new(LEGACY_CONNECTOR_CONFIGURED, key, Severity::High, title)
        .detail(detail)
        .remediation(
            "Find each sender (the webhook-finder plugin lists scripts and monitoring configs that \
             still hold connector URLs), recreate the flow in Workflows (Power Automate: \"Post to a \
             channel when a webhook request is received\"), point the sender at the new URL and test it; \
             then remove the connector from the channel (Channel > Manage channel > Connectors) and \
             remove the app from the team (Manage team > Apps).",
        )
        .evidence("team", l.team)
        .evidence("retirement", retirement);
    if let Some(c) = l.channel {
        f = f.evidence("channel", c);
    }
    for (k, v) in l.evidence {
        f = f.evidence(k, v);
    }
    f
}

/// `teams.connector-single-owner` on `key`, when `owners` has at most one
/// active owner.
pub fn single_owner(key: &str, team: &str, owners: &[Owner]) -> Option<Finding> {
    let active: Vec<&Owner> = owners.iter().filter(|o| o.active()).collect();
    if active.len() > 1 {
        return None;
    }
    let disabled: Vec<String> = owners.iter().filter(|o| !o.active()).map(Owner::label).collect();
    let (title, detail) = match active.first() {
        Some(only) => (
            format!("Team {team} has a connector and a single owner"),
            format!(
                "{} is the only {}owner of {team}, which has a connector. If that account leaves or is \
                 disabled, nobody can manage the team's connectors and apps or move them to Workflows.",
                only.label(),
                if disabled.is_empty() { "" } else { "active " }
            ),
        ),
        None => (
            format!("Team {team} has a connector and no active owner"),
            format!(
                "{team} has a connector but no active owner, so nobody in the team can manage its \
                 connectors or move them to Workflows."
            ),
        ),
    };
    let mut f = Finding::new(CONNECTOR_SINGLE_OWNER, key, Severity::Medium, title)
        .detail(detail)
        .remediation(
            "Add a second owner to the team (Teams admin center > Teams > Manage teams > Members, or \
             Add-TeamUser -GroupId <team id> -User <upn> -Role Owner), ideally the service desk account \
             that looks after integrations.",
        )
        .evidence("team", team)
        .evidence("active_owners", active.len().to_string())
        .evidence(
            "owners",
            owners.iter().map(Owner::label).collect::<Vec<_>>().join(", "),
        );
    if !disabled.is_empty() {
        f = f.evidence("disabled_owners", disabled.join(", "));
    }
    Some(f)
}

/// `teams.connectors-enabled` on `key` (the tenant entry), only when the
/// switch is known to be on.
pub fn connectors_enabled(key: &str, flag: &OrgFlag, teams_with_connectors: usize) -> Option<Finding> {
    if !flag.enabled {
        return None;
    }
    let show = |v: Option<bool>| v.map_or("unknown".to_string(), |b| b.to_string());
    Some(
        Finding::new(
            CONNECTORS_ENABLED,
            key,
            Severity::Medium,
            "Office 365 connectors are still enabled for Teams",
        )
        .detail(format!(
            "The tenant's connector switch is on ({}) and {teams_with_connectors} team(s) still have \
             connector apps installed. This is the Teams side of the exchange-connectors plugin's \
             {EXO_LEGACY_CONNECTORS_ENABLED} finding on {EXO_ORGANIZATION_KEY}: fix it once.",
            flag.source
        ))
        .remediation(
            "Move the remaining connectors to Workflows, then switch connectors off in Exchange Online: \
             Set-OrganizationConfig -ConnectorsEnabled $false -ConnectorsEnabledForTeams $false",
        )
        .evidence("source", flag.source.clone())
        .evidence("connectors_enabled", show(flag.connectors_enabled))
        .evidence("connectors_enabled_for_teams", show(flag.connectors_enabled_for_teams))
        .evidence("teams_with_connectors", teams_with_connectors.to_string())
        .evidence("related_check", EXO_LEGACY_CONNECTORS_ENABLED)
        .evidence("related_connector", EXO_ORGANIZATION_KEY),
    )
}

/// `teams.installed-apps-unreadable` on `key`.
pub fn installed_apps_unreadable(key: &str, team: &str, why: &str) -> Finding {
    Finding::new(
        INSTALLED_APPS_UNREADABLE,
        key,
        Severity::Info,
        format!("Installed apps of team {team} could not be read"),
    )
    .detail(format!(
        "{why}. Connectors in this team, if any, are not in the register."
    ))
    .remediation(
        "Grant the app TeamsAppInstallation.ReadForTeam.All (application) with admin consent, or \
         re-run export-teams.ps1 with an account that can read the team's apps.",
    )
    .evidence("team", team)
    .evidence("reason", why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(upn: &str, enabled: Option<bool>) -> Owner {
        Owner { upn: Some(upn.into()), account_enabled: enabled, ..Owner::default() }
    }

    #[test]
    fn single_owner_counts_active_owners_only() {
        assert!(single_owner("k", "T", &[owner("a@x", Some(true)), owner("b@x", None)]).is_none());
        let f = single_owner("k", "T", &[owner("a@x", Some(true))]).unwrap();
        assert_eq!((f.check_id.as_str(), f.severity), (CONNECTOR_SINGLE_OWNER, Severity::Medium));
        assert!(f.detail.starts_with("a@x is the only owner"), "{}", f.detail);
        let f = single_owner("k", "T", &[owner("a@x", Some(false)), owner("b@x", Some(true))]).unwrap();
        assert!(f.detail.contains("only active owner"), "{}", f.detail);
        assert!(f.evidence.iter().any(|e| e.name == "disabled_owners" && e.value == "a@x"));
        let f = single_owner("k", "T", &[]).unwrap();
        assert!(f.title.contains("no active owner"));
    }

    #[test]
    fn connectors_enabled_only_when_on_and_points_at_the_exchange_finding() {
        let mut flag = OrgFlag { enabled: false, source: "setting `connectors_enabled`".into(), connectors_enabled: None, connectors_enabled_for_teams: None };
        assert!(connectors_enabled("teams:tenant", &flag, 3).is_none());
        flag.enabled = true;
        let f = connectors_enabled("teams:tenant", &flag, 3).unwrap();
        assert!(f.detail.contains(EXO_LEGACY_CONNECTORS_ENABLED));
        assert!(f.evidence.iter().any(|e| e.name == "related_connector" && e.value == "exchange:organization"));
    }
}
