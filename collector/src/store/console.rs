//! What the console and the reports read and decide beyond the register:
//! the fleet at a glance, tenant groups, the audit trail, and the review
//! decisions on changes. Each is one store call, so no handler runs a query.

use super::{AgentRecord, StoreError, TenantRecord};
use async_trait::async_trait;
use plumbline_protocol::read_api::ChangeRecord;
use std::collections::BTreeMap;

/// One tenant as the fleet page counts it. Counts are of present
/// connectors and of open (or reopened) findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSummary {
    /// The tenant.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Groups it belongs to, sorted.
    pub groups: Vec<String>,
    /// Its agents.
    pub agents: Vec<AgentRecord>,
    /// Present connectors by category.
    pub connectors_by_category: BTreeMap<String, u64>,
    /// Open findings by severity name.
    pub open_findings_by_severity: BTreeMap<String, u64>,
    /// Changes waiting for a review decision.
    pub awaiting_review: u64,
    /// Connectors whose review cadence has passed since the last review.
    pub reviews_overdue: u64,
    /// Legacy Teams connectors and Incoming Webhooks neither disabled nor
    /// excepted.
    pub legacy_teams_left: u64,
    /// Flows and Workflows with one owner or none.
    pub flows_single_owner: u64,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Increasing with time.
    pub id: i64,
    /// The tenant.
    pub tenant_id: String,
    /// The connector, when the change was to one.
    pub connector_key: Option<String>,
    /// Who: a user's e-mail address or an API token's name.
    pub actor: String,
    /// When, RFC 3339.
    pub at: String,
    /// What: `annotate`, `review`, ...
    pub action: String,
    /// The value before, JSON.
    pub before: Option<String>,
    /// The value after, JSON.
    pub after: Option<String>,
}

/// A review decision on a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `expected` or `suspicious`.
    pub decision: String,
    /// Why, in the engineer's words.
    pub note: String,
    /// Who.
    pub by: String,
    /// When, RFC 3339.
    pub at: String,
}

/// A change with its decision, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewedChange {
    /// The change.
    pub change: ChangeRecord,
    /// The decision.
    pub decision: Option<Decision>,
}

/// What deciding a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideOutcome {
    /// Recorded now.
    Decided(ReviewedChange),
    /// It had a decision already (a double submit): nothing changed.
    AlreadyDecided(ReviewedChange),
    /// No such change in this tenant, or it needs no review.
    NotFound,
}

/// A finding accepted as a risk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    /// Why the client accepts it.
    pub rationale: String,
    /// Who at the client approved it.
    pub approver: String,
    /// The last day it holds, `YYYY-MM-DD`; the day after, it reopens.
    pub expires_on: String,
    /// Who recorded it.
    pub accepted_by: String,
    /// When, RFC 3339.
    pub accepted_at: String,
}

/// The console's reads and decisions.
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    /// Every tenant, by id.
    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError>;
    /// Put a tenant in a group (idempotent).
    async fn add_tenant_group(&self, tenant_id: &str, group: &str) -> Result<(), StoreError>;
    /// The fleet: one summary per tenant in `tenant_ids` (all when `None`),
    /// by id. `today` (`YYYY-MM-DD`) decides which reviews are overdue.
    async fn fleet(&self, tenant_ids: Option<&[String]>, today: &str) -> Result<Vec<TenantSummary>, StoreError>;
    /// A connector's history with decisions, newest first.
    async fn connector_changes(&self, tenant_id: &str, key: &str) -> Result<Vec<ReviewedChange>, StoreError>;
    /// Changes that need review and have no decision, oldest first.
    async fn review_queue(&self, tenant_id: &str) -> Result<Vec<ReviewedChange>, StoreError>;
    /// Changes that needed review and were decided, newest first.
    async fn decided_changes(&self, tenant_id: &str) -> Result<Vec<ReviewedChange>, StoreError>;
    /// Record a decision on a change that needs review, once, with its
    /// audit entry, in one transaction.
    async fn decide_change(
        &self,
        tenant_id: &str,
        change_id: i64,
        decision: Decision,
    ) -> Result<DecideOutcome, StoreError>;
    /// A connector's audit trail, newest first.
    async fn audit(&self, tenant_id: &str, connector_key: &str) -> Result<Vec<AuditRecord>, StoreError>;
    /// Accept an open finding of this tenant as a risk (replacing an earlier
    /// acceptance), with its audit entry; false when there is no such open
    /// finding.
    async fn accept_risk(&self, tenant_id: &str, finding_id: &str, a: Acceptance) -> Result<bool, StoreError>;
    /// A tenant's acceptances, expired ones too, by finding id.
    async fn acceptances(&self, tenant_id: &str) -> Result<Vec<(String, Acceptance)>, StoreError>;
    /// A tenant's audit trail with `from <= at < to` (RFC 3339), oldest first.
    async fn audit_between(&self, tenant_id: &str, from: &str, to: &str) -> Result<Vec<AuditRecord>, StoreError>;
}
