//! A tenant's connector register: what a batch changes, and how the stored
//! state reads merged with what staff entered.
//!
//! Nothing here knows storage or HTTP: a store loads [`Current`], calls
//! [`apply::plan`] inside its transaction and writes the [`Plan`] back.

pub mod annotations;
pub mod apply;
pub mod csv;
pub mod diff;
pub mod events;
pub mod incremental;
pub mod parts;
pub mod review;
pub mod table;
pub mod view;

use plumbline_protocol::read_api::{FieldChange, FindingRecord};
use plumbline_protocol::register::ConnectorEntry;
use std::collections::{HashMap, HashSet};

pub use apply::plan;

/// Finding status: reported and not resolved.
pub const OPEN: &str = "open";
/// Finding status: a later scan by the same plugin, which ran fine, no longer reports it.
pub const RESOLVED: &str = "resolved";
/// Finding status: reported again after it was resolved.
pub const REOPENED: &str = "reopened";

/// Categories that are legacy Teams connectors (retired by Microsoft).
pub const LEGACY_TEAMS_CATEGORIES: &[&str] = &["teams-connector", "incoming-webhook"];
/// Categories that are flows owned by people.
pub const FLOW_CATEGORIES: &[&str] = &["power-automate-flow", "workflow"];
/// Migration states that take a legacy connector off the "left" count.
pub const MIGRATION_DONE: &[&str] = &["old-disabled", "exception-approved"];

/// Connector status: reported by the last scan of its plugin at its site.
pub const PRESENT: &str = "present";
/// Connector status: no longer reported.
pub const DISAPPEARED: &str = "disappeared";

/// The stored state of one connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorState {
    /// The latest report.
    pub entry: ConnectorEntry,
    /// The site that last reported it.
    pub site_id: String,
    /// Still reported?
    pub present: bool,
    /// First reported.
    pub first_seen: String,
    /// Last reported.
    pub last_seen: String,
    /// When it stopped being reported.
    pub disappeared_at: Option<String>,
}

/// A tenant's register as stored before a batch is applied.
#[derive(Debug, Clone, Default)]
pub struct Current {
    /// By key.
    pub connectors: HashMap<String, ConnectorState>,
    /// By finding id.
    pub findings: HashMap<String, FindingRecord>,
    /// Who still sees what, from the batch's agent's point of view.
    pub sightings: Sightings,
    /// Reported exactly as stored (see [`incremental`]): neither loaded nor
    /// in the batch the plan reads, but seen all the same.
    pub unchanged: Unchanged,
    /// Every plugin the tenant has a connector from, loaded or not.
    pub plugins: HashSet<String>,
}

/// Keys and finding ids the batch reports exactly as stored.
#[derive(Debug, Clone, Default)]
pub struct Unchanged {
    /// Connector keys.
    pub connectors: HashSet<String>,
    /// Finding ids.
    pub findings: HashSet<String>,
}

/// Who still sees what: the batch's own agent, and every other live agent
/// of the tenant (not revoked, and delivered within
/// [`SIGHTING_TRUST_DAYS`]).
#[derive(Debug, Clone, Default)]
pub struct Sightings {
    /// Connector keys the batch's agent saw in its latest report of them.
    pub mine: HashSet<String>,
    /// Connector keys another live agent still sees.
    pub others: HashSet<String>,
    /// Finding ids the batch's agent still reports.
    pub findings_mine: HashSet<String>,
    /// Finding ids another live agent still reports.
    pub findings_others: HashSet<String>,
}

/// An agent that has delivered nothing for this long no longer keeps a
/// connector present or a finding open by itself: a decommissioned host
/// nobody revoked must not hide a deleted connector for ever. A week spans
/// a long weekend's outage with the default six-hour schedule many times.
pub const SIGHTING_TRUST_DAYS: i64 = 7;

/// What a sighting is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A connector, by key.
    Connector,
    /// A finding, by id.
    Finding,
}

impl Subject {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Connector => "connector",
            Subject::Finding => "finding",
        }
    }
}

/// One agent's sighting to write (only when it starts or stops).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// Of what.
    pub subject: Subject,
    /// Key or finding id.
    pub key: String,
    /// Does this agent see it now?
    pub present: bool,
}

/// What kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// First report of a key.
    Created,
    /// Some field differs from the last report.
    Changed,
    /// Its plugin ran fine at its site and no longer reports it.
    Disappeared,
    /// Reported again after it disappeared.
    Reappeared,
}

impl ChangeKind {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Changed => "changed",
            ChangeKind::Disappeared => "disappeared",
            ChangeKind::Reappeared => "reappeared",
        }
    }
}

/// One history row to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    /// The connector.
    pub connector_key: String,
    /// What happened.
    pub kind: ChangeKind,
    /// Should someone look at it?
    pub needs_review: bool,
    /// Why.
    pub review_reason: Option<String>,
    /// Fields before and after.
    pub fields: Vec<FieldChange>,
    /// The entry after (before, for a disappearance).
    pub entry: Option<ConnectorEntry>,
    /// Part of the first report of its plugin for the tenant: it was
    /// already there, so it is not news (no alert; "not yet reviewed").
    pub baseline: bool,
}

/// What applying a batch writes, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Connector rows to insert or replace.
    pub connectors: Vec<ConnectorState>,
    /// History rows to append, in order.
    pub changes: Vec<NewChange>,
    /// Finding rows to insert or replace.
    pub findings: Vec<FindingRecord>,
    /// The batch's agent's sightings that start or stop.
    pub sightings: Vec<Sighting>,
    /// When it happened: the history's time.
    pub at: String,
}
