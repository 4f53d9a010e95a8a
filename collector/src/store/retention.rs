//! Retention and tenant off-boarding: pruning old envelopes and history
//! without touching what the current register needs, and deleting every
//! row of a tenant that leaves.
//!
//! What pruning never removes:
//! - the register itself: connectors, findings (open or resolved),
//!   annotations, sightings (which decide disappearance), risk acceptances;
//! - per agent, the envelope of its latest accepted batch and of every part
//!   of that batch's scan (a split scan's last part reads its earlier ones);
//! - per connector, its latest history row and that row's envelope: the
//!   evidence of its current state (created, changed, disappeared);
//! - history awaiting a review decision (the review queue);
//! - per finding, its latest SIEM event (the feed's view of its state);
//! - the audit log and the alert outbox (whose sent rows stop an alert
//!   being sent twice).
//!
//! An envelope is pruned by emptying it: the batch row (digest, sequence,
//! times, counts) stays, so a re-sent batch is still a duplicate and older
//! history still names its batch; reading the envelope then finds none.

use super::StoreError;
use async_trait::async_trait;

/// What is old enough to prune: RFC 3339 times; `None` keeps that kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cutoffs {
    /// Envelopes of batches received before this.
    pub envelopes_before: Option<String>,
    /// History rows and SIEM finding events from before this.
    pub history_before: Option<String>,
}

/// What a prune removed (or, dry, would remove), per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Envelopes emptied.
    pub envelopes: u64,
    /// Connector history rows deleted.
    pub history: u64,
    /// SIEM finding events deleted.
    pub finding_events: u64,
}

/// Pruning and off-boarding.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// In one transaction, remove what `cutoffs` name except what the
    /// register needs (see the module notes); with `dry_run`, only count.
    async fn prune(&self, cutoffs: &Cutoffs, dry_run: bool) -> Result<Pruned, StoreError>;
    /// In one transaction, delete every row of the tenant and the tenant;
    /// rows deleted per table, in [`TENANT_TABLES`] order.
    async fn delete_tenant(&self, tenant_id: &str) -> Result<Vec<(&'static str, u64)>, StoreError>;
}

/// Every table with a tenant's rows, in an order that deletes what refers
/// to a row before the row (history before its batches, batches and
/// sightings before their agents, everything before the tenant). A new
/// table with a `tenant_id` belongs here; the off-boarding test finds one
/// that is missing.
pub const TENANT_TABLES: &[&str] = &[
    "changes",
    "sightings",
    "plugin_scans",
    "agent_egress",
    "batches",
    "connectors",
    "findings",
    "finding_events",
    "annotations",
    "risk_acceptances",
    "audit",
    "alert_outbox",
    "tenant_groups",
    "user_tenants",
    "policy_serials",
    "enroll_tokens",
    "api_tokens",
    "agents",
];

/// The delete of one tenant table, `$1` the tenant.
pub(super) fn delete_sql(table: &str) -> String {
    format!("DELETE FROM {table} WHERE tenant_id = $1")
}

/// The delete of the tenant itself.
pub(super) const DELETE_TENANT_SQL: &str = "DELETE FROM tenants WHERE id = $1";

/// One kind of pruning: a table, and which of its rows go (`$1` the cutoff).
pub(super) struct Rule {
    /// What [`Pruned`] counts it as.
    pub kind: Kind,
    /// The table.
    pub table: &'static str,
    /// Which rows, `$1` the cutoff.
    pub condition: &'static str,
}

/// Which count of [`Pruned`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    History,
    FindingEvents,
    Envelopes,
}

impl Pruned {
    pub(super) fn add(&mut self, kind: Kind, n: u64) {
        match kind {
            Kind::History => self.history += n,
            Kind::FindingEvents => self.finding_events += n,
            Kind::Envelopes => self.envelopes += n,
        }
    }
}

/// History older than the cutoff, but for each connector's latest row and
/// the review queue.
pub(super) const HISTORY: Rule = Rule {
    kind: Kind::History,
    table: "changes",
    condition: "at < $1
        AND id NOT IN (SELECT max(id) FROM changes GROUP BY tenant_id, connector_key)
        AND NOT (needs_review AND decision IS NULL)",
};

/// SIEM events older than the cutoff, but for each finding's latest.
pub(super) const FINDING_EVENTS: Rule = Rule {
    kind: Kind::FindingEvents,
    table: "finding_events",
    condition: "at < $1 AND id NOT IN (SELECT max(id) FROM finding_events GROUP BY tenant_id, finding_id)",
};

/// Envelopes older than the cutoff, but for each agent's latest scan and
/// each connector's latest history row.
pub(super) const ENVELOPES: Rule = Rule {
    kind: Kind::Envelopes,
    table: "batches",
    condition: "received_at < $1 AND octet_length(envelope) > 0
        AND digest NOT IN (
            SELECT b.digest FROM batches b JOIN agents a ON a.id = b.agent_id AND b.sequence = a.last_sequence
            UNION
            SELECT p.digest FROM batches p JOIN batches b ON b.agent_id = p.agent_id AND b.scan_id = p.scan_id
                JOIN agents a ON a.id = b.agent_id AND b.sequence = a.last_sequence
            UNION
            SELECT batch_digest FROM changes
                WHERE id IN (SELECT max(id) FROM changes GROUP BY tenant_id, connector_key))",
};

impl Rule {
    /// The cutoff this rule takes.
    pub(super) fn cutoff<'a>(&self, cutoffs: &'a Cutoffs) -> Option<&'a str> {
        match self.kind {
            Kind::Envelopes => cutoffs.envelopes_before.as_deref(),
            Kind::History | Kind::FindingEvents => cutoffs.history_before.as_deref(),
        }
    }

    /// The statement: a count when dry, else the delete (or, for
    /// envelopes, the emptying: `$2` an empty blob).
    pub(super) fn sql(&self, dry_run: bool) -> String {
        let Rule { table, condition, .. } = self;
        match (dry_run, self.kind) {
            (true, _) => format!("SELECT count(*) FROM {table} WHERE {condition}"),
            (false, Kind::Envelopes) => format!("UPDATE {table} SET envelope = $2 WHERE {condition}"),
            (false, _) => format!("DELETE FROM {table} WHERE {condition}"),
        }
    }
}

/// The rules, in the order they run.
pub(super) const RULES: [Rule; 3] = [HISTORY, FINDING_EVENTS, ENVELOPES];
