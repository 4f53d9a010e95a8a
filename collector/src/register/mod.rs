//! A tenant's connector register: what a batch changes, and how the stored
//! state reads merged with what staff entered.
//!
//! Nothing here knows storage or HTTP: a store loads [`Current`], calls
//! [`apply::plan`] inside its transaction and writes the [`Plan`] back.

pub mod annotations;
pub mod apply;
pub mod csv;
pub mod diff;
pub mod review;
pub mod table;
pub mod view;

use plumbline_protocol::read_api::{FieldChange, FindingRecord};
use plumbline_protocol::register::ConnectorEntry;
use std::collections::HashMap;

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
}
