//! The alert outbox as the dispatcher sees it: queue (for the timed
//! triggers; ingest queues its own inside its transaction), claim under a
//! lease so two replicas never send one row at once, and mark the result.

use super::StoreError;
use crate::alerts::NewAlert;
use async_trait::async_trait;

/// One claimed outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Increasing.
    pub id: i64,
    /// The rule's name.
    pub rule: String,
    /// The destination's name.
    pub destination: String,
    /// The tenant.
    pub tenant_id: String,
    /// The event, JSON.
    pub event: String,
    /// Tries so far.
    pub attempts: u32,
    /// When queued.
    pub created_at: String,
}

/// How the outbox stands, per destination and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxCount {
    /// The destination's name.
    pub destination: String,
    /// `pending`, `sent` or `refused`.
    pub state: String,
    /// Rows.
    pub count: u64,
    /// The latest error of a row in this state, if any.
    pub last_error: Option<String>,
}

/// A rule an msp-admin added in the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleRule {
    /// Its name (unique among all rules).
    pub name: String,
    /// The rule as the config file writes it, as JSON.
    pub rule: String,
    /// Who added it.
    pub created_by: String,
    /// When.
    pub created_at: String,
}

/// The outbox.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Queue alerts due at `due_at`; one that is queued already (same rule,
    /// destination and key) is left as it is. Returns how many are new.
    async fn queue_alerts(&self, alerts: &[NewAlert], now: &str, due_at: &str) -> Result<usize, StoreError>;
    /// Take up to `limit` pending rows due by `now` whose lease has run
    /// out, oldest first, leasing them until `lease_until`.
    async fn claim_alerts(&self, now: &str, lease_until: &str, limit: u32) -> Result<Vec<OutboxRow>, StoreError>;
    /// They went out.
    async fn alerts_sent(&self, ids: &[i64], now: &str) -> Result<(), StoreError>;
    /// They failed for now: count the try and wait until `due_at`.
    async fn alerts_retry(&self, ids: &[i64], due_at: &str, error: &str) -> Result<(), StoreError>;
    /// The destination refused them for good (kept, and shown).
    async fn alerts_refused(&self, ids: &[i64], error: &str) -> Result<(), StoreError>;
    /// Counts per destination and state.
    async fn outbox_counts(&self) -> Result<Vec<OutboxCount>, StoreError>;
    /// The rules added in the console, oldest first.
    async fn console_rules(&self) -> Result<Vec<ConsoleRule>, StoreError>;
    /// Keep a rule added in the console; `false` when one has that name.
    async fn add_console_rule(&self, rule: &ConsoleRule) -> Result<bool, StoreError>;
    /// Remove a rule added in the console; `false` when there is none of that name.
    async fn delete_console_rule(&self, name: &str) -> Result<bool, StoreError>;
    /// Send a destination's refused rows again (its config was fixed): they
    /// are pending, due `now`, with their tries counted from zero. How many.
    async fn alerts_requeue_refused(&self, destination: &str, now: &str) -> Result<u64, StoreError>;
}
