//! Bounded and consistent reads of a tenant's register, findings and history:
//! the whole register in one read transaction, and pages of each list in a
//! total order whose last row's sort key says where the next page starts.
//!
//! Keys and ids are compared byte by byte everywhere (SQLite's `BINARY`,
//! PostgreSQL's `COLLATE "C"`, Rust's `str` order), so a page boundary is the
//! same in SQL as in [`crate::register::view`], whatever the database's locale.

use super::console::Acceptance;
use super::{FindingFilter, StoreError};
use crate::register::ConnectorState;
use async_trait::async_trait;
use plumbline_protocol::read_api::{Annotations, ChangeRecord, FindingRecord};
use plumbline_protocol::register::Severity;

/// Rows of a tenant's register, read in one transaction: connectors, their
/// annotations, open findings, and the acceptances of those findings.
#[derive(Debug, Clone, Default)]
pub struct RegisterRows {
    /// By key.
    pub connectors: Vec<ConnectorState>,
    /// Of those connectors, by key.
    pub annotations: Vec<(String, Annotations)>,
    /// Open and reopened.
    pub findings: Vec<FindingRecord>,
    /// Of those findings, expired ones too, by finding id.
    pub acceptances: Vec<(String, Acceptance)>,
    /// More connectors follow the last one here.
    pub more: bool,
}

/// Some rows of a list, and whether more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// In the list's order.
    pub rows: Vec<T>,
    /// More rows follow the last one here.
    pub more: bool,
}

impl<T> Page<T> {
    /// `rows` as read with a limit one above `limit`: the extra row, if it
    /// came, only says that more follow.
    pub fn cut(mut rows: Vec<T>, limit: u32) -> Page<T> {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        Page { rows, more }
    }
}

/// Where a finding sorts in the findings list: most severe first, then by
/// connector key, check and id (as [`crate::register::view::sort_findings`]).
///
/// Findings are paged on this rather than on their id alone so that every
/// page keeps the order the list had before it was paged. All four columns
/// are stored (`severity` as its name), the id is unique within a tenant, so
/// the order is total. A finding's severity is its check's, so a row moves
/// only when a new plugin version re-rates the check: a client walking the
/// pages then may see that finding twice or not at all, as with any update
/// to a sort key; every other row is seen once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingKey {
    /// [`severity_rank`] of its severity.
    pub rank: i64,
    /// The connector it is about.
    pub connector_key: String,
    /// Its check.
    pub check_id: String,
    /// Its id.
    pub id: String,
}

impl FindingKey {
    /// The key of `f`.
    pub fn of(f: &FindingRecord) -> FindingKey {
        FindingKey {
            rank: severity_rank(f.entry.severity),
            connector_key: f.entry.connector_key.clone(),
            check_id: f.entry.check_id.clone(),
            id: f.entry.id.clone(),
        }
    }
}

/// 0 for critical up to 4 for info: ascending is most severe first.
pub fn severity_rank(s: Severity) -> i64 {
    Severity::ALL.iter().rev().position(|x| *x == s).unwrap_or(Severity::ALL.len()) as i64
}

/// [`severity_rank`] in SQL, of the stored severity column `column`; a name
/// no [`Severity`] has (none is ever written) sorts last.
pub(super) fn severity_rank_sql(column: &str) -> String {
    let arms: String =
        Severity::ALL.iter().map(|s| format!(" WHEN '{}' THEN {}", s.as_str(), severity_rank(*s))).collect();
    format!("(CASE {column}{arms} ELSE {} END)", Severity::ALL.len())
}

/// The register, findings and history, whole in one transaction or a page
/// at a time.
#[async_trait]
pub trait PageStore {
    /// The tenant's whole register in one read transaction (SQLite: one
    /// read transaction on one connection; PostgreSQL: `REPEATABLE READ,
    /// READ ONLY`), so connectors, annotations and findings agree: what the
    /// console, the CSV, the reports and the alerts show.
    async fn register_rows(&self, tenant_id: &str) -> Result<RegisterRows, StoreError>;

    /// In one such transaction: the first `limit` connectors with a key
    /// after `after` (from the first when `None`), their annotations, the
    /// open findings about them and the acceptances of those; on the first
    /// page (`after` is `None`) also the open findings about a key that is
    /// no connector of the tenant, so each finding shows on one page.
    async fn register_page(&self, tenant_id: &str, after: Option<&str>, limit: u32)
        -> Result<RegisterRows, StoreError>;

    /// Up to `limit` findings that `filter` takes, after `after` in
    /// [`FindingKey`] order (from the first when `None`).
    async fn findings_page(
        &self,
        tenant_id: &str,
        filter: FindingFilter,
        after: Option<&FindingKey>,
        limit: u32,
    ) -> Result<Page<FindingRecord>, StoreError>;

    /// Up to `limit` history rows, newest first, with an id below `before`
    /// (from the newest when `None`).
    async fn changes_page(
        &self,
        tenant_id: &str,
        needs_review_only: bool,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Page<ChangeRecord>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_orders_most_severe_first_and_matches_the_sql() {
        let ranks: Vec<i64> = Severity::ALL.iter().map(|s| severity_rank(*s)).collect();
        assert_eq!(ranks, vec![4, 3, 2, 1, 0], "info .. critical");
        let sql = severity_rank_sql("f.severity");
        assert!(sql.contains("WHEN 'critical' THEN 0") && sql.contains("WHEN 'info' THEN 4"), "{sql}");
        assert!(sql.ends_with("ELSE 5 END)"), "{sql}");
    }

    #[test]
    fn a_page_read_one_over_says_more_follow() {
        assert_eq!(Page::cut(vec![1, 2, 3], 2), Page { rows: vec![1, 2], more: true });
        assert_eq!(Page::cut(vec![1, 2], 2), Page { rows: vec![1, 2], more: false });
        assert_eq!(Page::cut(Vec::<i32>::new(), 2), Page { rows: vec![], more: false });
    }
}
