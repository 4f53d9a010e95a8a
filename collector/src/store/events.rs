//! The SIEM feed's events: each change of a finding's state, numbered in
//! commit order. Ingest and accepting a risk append them in their own
//! transactions; an acceptance that ran out is appended by the first read
//! of the feed after it did, since nothing else happens at that moment.

use super::StoreError;
use async_trait::async_trait;
use plumbline_protocol::ocsf::Change;
use plumbline_protocol::read_api::FindingRecord;
use plumbline_protocol::register::ConnectorEntry;

/// One event of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingEventRecord {
    /// Increasing in commit order: the cursor.
    pub id: i64,
    /// The tenant.
    pub tenant_id: String,
    /// Its display name.
    pub tenant_name: String,
    /// What happened.
    pub change: Change,
    /// When, RFC 3339.
    pub at: String,
    /// The last day of the accepted risk that held then, if one did.
    pub accepted_until: Option<String>,
    /// The finding as it was then.
    pub finding: FindingRecord,
    /// The connector it is about, as it is now (for its name).
    pub connector: Option<ConnectorEntry>,
}

/// The feed.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Events after `after`, oldest first, at most `limit`, of the tenants
    /// in `tenant_ids` (all when `None`). Acceptances that ran out before
    /// `today` (`YYYY-MM-DD`) are appended first, once each.
    async fn finding_events(
        &self,
        tenant_ids: Option<&[String]>,
        after: i64,
        limit: u32,
        today: &str,
    ) -> Result<Vec<FindingEventRecord>, StoreError>;
}

/// When an acceptance whose last day is `expires_on` ran out: the start of
/// the next day, UTC.
pub(super) fn expired_at(expires_on: &str) -> Option<String> {
    let date = time::Date::parse(expires_on, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(crate::timestamp::format(date.next_day()?.midnight().assume_utc()))
}

/// A stored kind back.
pub(super) fn change(kind: &str) -> Result<Change, StoreError> {
    Change::parse(kind).ok_or_else(|| StoreError::Backend(format!("stored finding event kind {kind:?} is unknown")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_acceptance_runs_out_when_its_last_day_ends() {
        assert_eq!(super::expired_at("2026-12-31").as_deref(), Some("2027-01-01T00:00:00.000000Z"));
        assert_eq!(super::expired_at("soon"), None);
    }
}
