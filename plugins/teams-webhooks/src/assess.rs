//! From what was read to the report: register entries and findings. Pure
//! and deterministic (entries sorted by key, findings by key then check).
//!
//! Register entries:
//! - `teams:{teamId}:app:{teamsAppId}`: a connector app installed in a team;
//! - `teams:{teamId}:channel:{channelId}:connector:{guid or name}`: a
//!   connector in a channel, from the audit records (left out when its last
//!   record is `ConnectorRemoved`; kept with migration state `unknown` and no
//!   finding when its team is not in the team listing, i.e. probably gone);
//! - `teams:{teamId}`: a team whose installed apps could not be read;
//! - `teams:tenant`: what was scanned, and the tenant switch.

use plumbline_plugin_sdk::UniqueKeys;
use crate::audit::{AuditRecord, Operation};
use crate::checks::{self, Legacy};
use crate::model::{InstalledApp, Owner, TeamData, TeamsState};
use plumbline_plugin_sdk::time::to_rfc3339;
use plumbline_plugin_sdk::{Category, ConnectorRecord, Report};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Start of the final retirement of Office 365 connectors in Teams
/// (2026-05-18T00:00:00Z; rollout 18-22 May 2026, message center MC1181996).
/// From then on any connector may stop delivering.
pub const RETIREMENT_MS: i64 = 1_779_062_400_000;
/// Key of the tenant entry; tenant-wide findings attach to it.
pub const TENANT_KEY: &str = "teams:tenant";
/// Most team names listed in one attribute.
const MAX_LISTED: usize = 20;

/// How installed apps are recognised as connectors, besides the Incoming
/// Webhook. Graph exposes no "is a connector" property on
/// `teamsAppDefinition`, so these are the ways there are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Teams app ids (lower case) the operator names as connectors.
    pub connector_app_ids: Vec<String>,
    /// Display names containing "connector" count too.
    pub match_connector_names: bool,
}

/// Why an installed app counts as a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectedBy {
    /// It is the Incoming Webhook app.
    IncomingWebhook,
    /// Its id is on the published list of connector apps
    /// ([`crate::known_connectors`]).
    KnownList,
    /// Its id is in the `connector_app_ids` setting.
    Setting,
    /// Audit records show a channel connector of that name.
    Audit,
    /// Its display name says "connector" (`match_connector_names`).
    Name,
}

impl DetectedBy {
    fn as_str(self) -> &'static str {
        match self {
            DetectedBy::IncomingWebhook => "incoming-webhook-app-id",
            DetectedBy::KnownList => "known-connector-app-id",
            DetectedBy::Setting => "connector_app_ids",
            DetectedBy::Audit => "audit-connector-name",
            DetectedBy::Name => "display-name",
        }
    }
}

/// Whether `app` is a connector, and why.
pub fn detect(app: &InstalledApp, opts: &Options, audit_names: &HashSet<String>) -> Option<DetectedBy> {
    if app.is_incoming_webhook() {
        return Some(DetectedBy::IncomingWebhook);
    }
    if app
        .teams_app_id
        .as_deref()
        .is_some_and(|id| crate::known_connectors::lookup(id).is_some())
    {
        return Some(DetectedBy::KnownList);
    }
    if app
        .teams_app_id
        .as_ref()
        .is_some_and(|id| opts.connector_app_ids.contains(id))
    {
        return Some(DetectedBy::Setting);
    }
    let name = app.display_name.as_deref().map(str::to_lowercase);
    if name.as_ref().is_some_and(|n| audit_names.contains(n)) {
        return Some(DetectedBy::Audit);
    }
    if opts.match_connector_names && name.is_some_and(|n| n.contains("connector")) {
        return Some(DetectedBy::Name);
    }
    None
}

/// Build the report for `state` as seen at `now_ms`.
pub fn assess(state: &TeamsState, opts: &Options, tenant_id: &str, now_ms: i64) -> Report {
    let retired = now_ms >= RETIREMENT_MS;
    let retirement = to_rfc3339(RETIREMENT_MS)[..10].to_string();
    let migration_state = if retired { "legacy-retired" } else { "needs-migration" };
    let mut report = Report::empty();
    let mut keys = UniqueKeys::default();

    let channels = channel_connectors(state);
    let audit_names: HashSet<String> = state
        .audit
        .iter()
        .filter_map(|r| r.addon_name.as_deref())
        .map(str::to_lowercase)
        .collect();

    let mut teams_with_connectors = BTreeSet::new();
    let mut unreadable = Vec::new();
    let mut app_entries = 0;
    for (ti, td) in state.teams.iter().enumerate() {
        let team = td.team.name();
        let Some(apps) = td.apps.read() else {
            let why = td.apps.why_not().unwrap_or_default();
            let key = keys.claim(format!("teams:{}", td.team.id));
            unreadable.push(team.to_string());
            let rec = ConnectorRecord::new(&key, Category::TeamsConnector, format!("{team} (installed apps not readable)"))
                .scope(team)
                .migration_state("unknown")
                .attr("team_id", td.team.id.as_str())
                .attr("note", why.as_str());
            report.connectors.push(with_owners(rec, td));
            report.findings.push(checks::installed_apps_unreadable(&key, team, &why));
            continue;
        };
        for app in apps {
            let Some(by) = detect(app, opts, &audit_names) else { continue };
            let app_id = app
                .teams_app_id
                .clone()
                .or_else(|| app.installation_id.clone())
                .unwrap_or_else(|| "unknown".into());
            let key = keys.claim(format!("teams:{}:app:{app_id}", td.team.id));
            let team_channels: Vec<&ChannelConnector> = channels.iter().filter(|c| c.team == Some(ti)).collect();
            let changed = team_channels
                .iter()
                .filter(|c| c.matches_app(app))
                .filter_map(|c| c.last_ms())
                .max();
            let category = if app.is_incoming_webhook() { Category::IncomingWebhook } else { Category::TeamsConnector };
            let rec = ConnectorRecord::new(&key, category, format!("{} in {team}", app.name()))
                .scope(team)
                .purpose(app.short_description.clone())
                .auth_type(Some(if app.is_incoming_webhook() {
                    "webhook URL (the URL is the secret)".to_string()
                } else {
                    "connector configuration".to_string()
                }))
                .migration_state(migration_state)
                .changed(changed.map(to_rfc3339))
                .attr("team_id", td.team.id.as_str())
                .attr("team_visibility", td.team.visibility.as_deref().unwrap_or("unknown"))
                .attr("app_id", app.teams_app_id.as_deref().unwrap_or("unknown"))
                .attr("app_name", app.name())
                .attr("app_version", app.version.as_deref().unwrap_or("unknown"))
                .attr("installation_id", app.installation_id.as_deref().unwrap_or("unknown"))
                .attr("detected_by", by.as_str())
                .attr(
                    "channel_connectors",
                    if state.audit_read {
                        team_channels.iter().filter(|c| c.matches_app(app) && !c.removed()).count().to_string()
                    } else {
                        "unknown (no audit export)".to_string()
                    },
                );
            report.connectors.push(with_owners(rec, td));
            app_entries += 1;
            teams_with_connectors.insert(ti);
            if retired {
                report.findings.push(checks::legacy_connector(
                    &key,
                    Legacy {
                        what: format!("The {} app in team {team}", app.name()),
                        team,
                        channel: None,
                        incoming_webhook: app.is_incoming_webhook(),
                        evidence: vec![
                            ("app_id", app.teams_app_id.clone().unwrap_or_else(|| "unknown".into())),
                            ("detected_by", by.as_str().to_string()),
                        ],
                    },
                    &retirement,
                ));
            }
            if let Some(owners) = td.owners.read() {
                report.findings.extend(checks::single_owner(&key, team, owners));
            }
        }
    }

    let mut channel_entries = 0;
    let mut removed = 0;
    let teams_with_app_entry: BTreeSet<usize> = teams_with_connectors.clone();
    for c in &channels {
        if c.removed() {
            removed += 1;
            continue;
        }
        let td = c.team.map(|i| &state.teams[i]);
        let team_name = td.map(|t| t.team.name().to_string()).or_else(|| c.team_name.clone()).unwrap_or_else(|| c.team_key.clone());
        let channel_name = c.channel_name.clone().unwrap_or_else(|| c.channel_id.clone());
        let key = keys.claim(format!("teams:{}:channel:{}:connector:{}", c.team_key, c.channel_id, c.connector_id));
        let incoming = c.connector_name.to_lowercase().contains("incoming webhook");
        let first_added = c.records.iter().find(|r| r.operation == Operation::Added);
        let last = c.records.last();
        let mut rec = ConnectorRecord::new(
            &key,
            if incoming { Category::IncomingWebhook } else { Category::TeamsConnector },
            format!("{} in {team_name} / {channel_name}", c.connector_name),
        )
        .scope(format!("{team_name} / {channel_name}"))
        .auth_type(Some(if incoming { "webhook URL (the URL is the secret)" } else { "connector configuration" }.to_string()))
        .migration_state(if td.is_some() { migration_state } else { "unknown" })
        .created(first_added.and_then(|r| r.at_ms).map(to_rfc3339))
        .changed(c.last_ms().map(to_rfc3339))
        .attr("team_id", c.team_key.as_str())
        .attr("channel_id", c.channel_id.as_str())
        .attr("channel_name", channel_name.as_str())
        .attr("channel_type", c.channel_type.as_deref().unwrap_or("unknown"))
        .attr("connector_name", c.connector_name.as_str())
        .attr("connector_id", c.connector_guid.as_deref().unwrap_or("unknown"))
        .attr("added_by", first_added.and_then(|r| r.user.as_deref()).unwrap_or("unknown"))
        .attr("last_operation", last.map(|r| r.operation.as_str()).unwrap_or("unknown"))
        .attr("last_changed_by", last.and_then(|r| r.user.as_deref()).unwrap_or("unknown"))
        .attr("audit_records", c.records.len().to_string())
        .attr("source", "purview-audit");
        if let Some(t) = &c.team_guid {
            rec = rec.attr("team_thread_id", t.as_str());
        }
        rec = match td {
            Some(td) => with_owners(rec, td),
            None => rec.attr("owners", "unknown").attr(
                "note",
                "the team is not in the team listing (deleted, or renamed and the audit record has no AADGroupId?)",
            ),
        };
        report.connectors.push(rec);
        channel_entries += 1;
        // A connector whose team is gone is gone with it: no finding unless
        // the team is known to still exist.
        if retired && td.is_some() {
            let mut evidence = vec![("connector", c.connector_name.clone())];
            if let Some(u) = first_added.and_then(|r| r.user.clone()) {
                evidence.push(("added_by", u));
            }
            if let Some(ms) = c.last_ms() {
                evidence.push(("last_audit", to_rfc3339(ms)));
            }
            report.findings.push(checks::legacy_connector(
                &key,
                Legacy {
                    what: format!("The {} connector in channel {channel_name}", c.connector_name),
                    team: &team_name,
                    channel: Some(&channel_name),
                    incoming_webhook: incoming,
                    evidence,
                },
                &retirement,
            ));
        }
        // The single-owner finding goes on the team's app entry; only a
        // team known from the audit alone gets it on its channel entries.
        if let (Some(i), Some(td)) = (c.team, td) {
            if !teams_with_app_entry.contains(&i) {
                if let Some(owners) = td.owners.read() {
                    report.findings.extend(checks::single_owner(&key, &team_name, owners));
                }
            }
            teams_with_connectors.insert(i);
        }
    }

    // The tenant entry.
    let listed = |names: &[String]| {
        if names.is_empty() {
            return "none".to_string();
        }
        let mut s = names.iter().take(MAX_LISTED).cloned().collect::<Vec<_>>().join(", ");
        if names.len() > MAX_LISTED {
            s.push_str(&format!(" and {} more", names.len() - MAX_LISTED));
        }
        s
    };
    let flag = state.org.as_ref();
    let mut tenant = ConnectorRecord::new(TENANT_KEY, Category::TeamsConnector, "Teams connectors (tenant)")
        .context_record()
        .scope(tenant_id)
        .purpose(Some("What the teams-webhooks plugin scanned, and the tenant's Office 365 connector switch".to_string()))
        .migration_state(migration_state)
        .attr("source", state.source.as_str())
        .attr("teams", state.teams.len().to_string())
        .attr("teams_with_connectors", teams_with_connectors.len().to_string())
        .attr("connector_apps", app_entries.to_string())
        .attr("channel_connectors", if state.audit_read { channel_entries.to_string() } else { "unknown (no audit export)".into() })
        .attr("channel_connectors_removed", removed.to_string())
        .attr("audit_records", if state.audit_read { state.audit.len().to_string() } else { "not provided".into() })
        .attr("teams_unreadable", unreadable.len().to_string())
        .attr("unreadable_teams", listed(&unreadable))
        .attr("retirement", retirement.as_str())
        .attr("connectors_enabled", flag.map_or("unknown", |f| if f.enabled { "true" } else { "false" }))
        .attr("connectors_enabled_source", flag.map_or("not provided", |f| f.source.as_str()));
    let owners_unreadable = state.teams.iter().filter(|t| t.owners.read().is_none()).count();
    tenant = tenant.attr("teams_owners_unreadable", owners_unreadable.to_string());
    report.connectors.push(tenant);
    if let Some(f) = flag {
        report.findings.extend(checks::connectors_enabled(TENANT_KEY, f, teams_with_connectors.len()));
    }

    report.sorted()
}

/// Owner, co-owners and owner attributes from the team's owners (active
/// owners first).
fn with_owners(rec: ConnectorRecord, td: &TeamData) -> ConnectorRecord {
    let Some(owners) = td.owners.read() else {
        let why = td.owners.why_not().unwrap_or_default();
        return rec.attr("owners", format!("unknown ({why})"));
    };
    let mut sorted: Vec<&Owner> = owners.iter().collect();
    sorted.sort_by_key(|o| !o.active());
    let mut labels = sorted.iter().map(|o| o.label());
    let mut rec = rec.owner(labels.next());
    for l in labels {
        rec = rec.co_owner(l);
    }
    let disabled: Vec<String> = owners.iter().filter(|o| !o.active()).map(Owner::label).collect();
    rec.attr("owners", owners.len().to_string())
        .attr("active_owners", owners.iter().filter(|o| o.active()).count().to_string())
        .attr("disabled_owners", if disabled.is_empty() { "none".to_string() } else { disabled.join(", ") })
}

/// One connector in one channel, from its audit records.
#[derive(Debug)]
struct ChannelConnector<'a> {
    /// Index of the team in the listing, when it could be matched.
    team: Option<usize>,
    /// Team part of the key: the group id, else the thread id.
    team_key: String,
    team_name: Option<String>,
    team_guid: Option<String>,
    channel_id: String,
    channel_name: Option<String>,
    channel_type: Option<String>,
    connector_id: String,
    connector_guid: Option<String>,
    connector_name: String,
    /// Oldest first.
    records: Vec<&'a AuditRecord>,
}

impl ChannelConnector<'_> {
    fn last_ms(&self) -> Option<i64> {
        self.records.iter().filter_map(|r| r.at_ms).max()
    }

    fn removed(&self) -> bool {
        self.records.last().is_some_and(|r| r.operation == Operation::Removed)
    }

    /// Whether this channel connector belongs to `app` (by name; the
    /// Incoming Webhook app's connectors are named "Incoming Webhook").
    fn matches_app(&self, app: &InstalledApp) -> bool {
        let name = self.connector_name.to_lowercase();
        (app.is_incoming_webhook() && name.contains("incoming webhook"))
            || app.display_name.as_deref().is_some_and(|n| n.to_lowercase() == name)
    }
}

/// Group the audit records by team, channel and connector, matching teams
/// by `AADGroupId`, else by a team name that is unique in the listing.
fn channel_connectors(state: &TeamsState) -> Vec<ChannelConnector<'_>> {
    let by_id: BTreeMap<String, usize> = state
        .teams
        .iter()
        .enumerate()
        .map(|(i, t)| (t.team.id.to_ascii_lowercase(), i))
        .collect();
    let mut name_count: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, t) in state.teams.iter().enumerate() {
        if let Some(n) = &t.team.display_name {
            name_count.entry(n.to_lowercase()).or_default().push(i);
        }
    }
    let mut groups: BTreeMap<(String, String, String), ChannelConnector> = BTreeMap::new();
    for r in &state.audit {
        let team = r
            .group_id
            .as_ref()
            .and_then(|g| by_id.get(g).copied())
            .or_else(|| {
                let n = r.team_name.as_ref()?.to_lowercase();
                match name_count.get(&n).map(Vec::as_slice) {
                    Some([only]) => Some(*only),
                    _ => None,
                }
            });
        let team_key = match team {
            Some(i) => state.teams[i].team.id.clone(),
            None => r
                .group_id
                .clone()
                .or_else(|| r.team_guid.clone())
                .unwrap_or_else(|| "unknown-team".into()),
        };
        let channel_id = r
            .channel_guid
            .clone()
            .or_else(|| r.channel_name.clone())
            .unwrap_or_else(|| "unknown-channel".into());
        let connector_id = r
            .addon_guid
            .clone()
            .or_else(|| r.addon_name.as_ref().map(|n| n.to_lowercase()))
            .unwrap_or_else(|| "unknown".into());
        let entry = groups
            .entry((team_key.clone(), channel_id.clone(), connector_id.clone()))
            .or_insert_with(|| ChannelConnector {
                team,
                team_key,
                team_name: None,
                team_guid: None,
                channel_id,
                channel_name: None,
                channel_type: None,
                connector_id,
                connector_guid: None,
                connector_name: r.connector_name().to_string(),
                records: Vec::new(),
            });
        entry.records.push(r);
    }
    let mut out: Vec<ChannelConnector> = groups.into_values().collect();
    for c in &mut out {
        // Oldest first; records without a time keep their place before the dated ones.
        c.records.sort_by_key(|r| (r.at_ms.unwrap_or(i64::MIN), r.operation));
        // The latest record that says carries the current names.
        let pick = |f: &dyn Fn(&AuditRecord) -> Option<String>| c.records.iter().rev().find_map(|r| f(r));
        c.team_name = pick(&|r| r.team_name.clone());
        c.team_guid = pick(&|r| r.team_guid.clone());
        c.channel_name = pick(&|r| r.channel_name.clone());
        c.channel_type = pick(&|r| r.channel_type.clone());
        c.connector_guid = pick(&|r| r.addon_guid.clone());
        if let Some(n) = pick(&|r| r.addon_name.clone()) {
            c.connector_name = n;
        }
    }
    out
}

