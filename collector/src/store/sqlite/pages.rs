//! The consistent and paged reads ([`PageStore`]) in SQLite: each register
//! read is one read transaction on one connection.

use super::register::{connectors_where, findings_where};
use super::{annotations, console, SqliteStore};
use crate::store::pages::{severity_rank_sql, FindingKey, Page, PageStore, RegisterRows};
use crate::store::rows::{finding_condition, to_json};
use crate::store::{FindingFilter, StoreError};
use async_trait::async_trait;
use plumbline_protocol::read_api::{ChangeRecord, FindingRecord};
use rusqlite::{params, Connection};

/// `f` in one deferred transaction: in WAL mode its first read fixes the
/// snapshot that every later read in it sees, so a batch committed between
/// two of its queries (by this process or another on the same file) is
/// seen whole or not at all. Taken on a shared `&Connection`, so it serves a
/// read connection as well as the writer.
fn snapshot<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// [`PageStore::register_rows`].
pub(super) fn register_rows(conn: &Connection, tenant_id: &str) -> Result<RegisterRows, StoreError> {
    snapshot(conn, |c| {
        Ok(RegisterRows {
            connectors: connectors_where(c, "", &[&tenant_id])?,
            annotations: annotations::load(c, tenant_id, None)?,
            findings: findings_where(c, finding_condition(FindingFilter::Open), &[&tenant_id])?,
            acceptances: console::load_acceptances(c, tenant_id, None)?,
            more: false,
        })
    })
}

/// [`PageStore::register_page`]: the page's keys first (on the primary key,
/// so a page costs its own rows, not the register's), then its rows.
pub(super) fn register_page(
    conn: &Connection,
    tenant_id: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<RegisterRows, StoreError> {
    snapshot(conn, |c| {
        let mut stmt = c.prepare_cached(
            "SELECT key FROM connectors WHERE tenant_id = ?1 AND (?2 IS NULL OR key > ?2) ORDER BY key LIMIT ?3",
        )?;
        let keys = stmt.query_map(params![tenant_id, after, i64::from(limit) + 1], |r| r.get::<_, String>(0))?;
        let Page { rows: keys, more } = Page::cut(keys.collect::<Result<Vec<_>, _>>()?, limit);
        let listed = to_json(&keys);
        let connectors = connectors_where(c, "AND c.key IN (SELECT value FROM json_each(?2))", &[&tenant_id, &listed])?;
        let about = format!(
            "{} AND (f.connector_key IN (SELECT value FROM json_each(?2))
                 OR (?3 AND NOT EXISTS (SELECT 1 FROM connectors k
                                        WHERE k.tenant_id = f.tenant_id AND k.key = f.connector_key)))",
            finding_condition(FindingFilter::Open)
        );
        let findings = findings_where(c, &about, &[&tenant_id, &listed, &after.is_none()])?;
        let ids: Vec<String> = findings.iter().map(|f| f.entry.id.clone()).collect();
        Ok(RegisterRows {
            annotations: annotations::load_keys(c, tenant_id, &keys)?,
            acceptances: console::load_acceptances(c, tenant_id, Some(&ids))?,
            connectors,
            findings,
            more,
        })
    })
}

/// [`PageStore::findings_page`]: the page's ids in [`FindingKey`] order
/// (the inner `f` is the subquery's own), then their rows.
pub(super) fn findings_page(
    conn: &Connection,
    tenant_id: &str,
    filter: FindingFilter,
    after: Option<&FindingKey>,
    limit: u32,
) -> Result<Page<FindingRecord>, StoreError> {
    let rank = severity_rank_sql("f.severity");
    let condition = format!(
        "AND f.id IN (SELECT f.id FROM findings f WHERE f.tenant_id = ?1 {}
             AND (?2 IS NULL OR ({rank}, f.connector_key, f.check_id, f.id) > (?2, ?3, ?4, ?5))
             ORDER BY {rank}, f.connector_key, f.check_id, f.id LIMIT ?6)",
        finding_condition(filter)
    );
    let mut rows = findings_where(
        conn,
        &condition,
        &[
            &tenant_id,
            &after.map(|k| k.rank),
            &after.map(|k| k.connector_key.as_str()),
            &after.map(|k| k.check_id.as_str()),
            &after.map(|k| k.id.as_str()),
            &(i64::from(limit) + 1),
        ],
    )?;
    crate::register::view::sort_findings(&mut rows);
    Ok(Page::cut(rows, limit))
}

/// [`PageStore::changes_page`].
pub(super) fn changes_page(
    conn: &Connection,
    tenant_id: &str,
    needs_review_only: bool,
    before: Option<i64>,
    limit: u32,
) -> Result<Page<ChangeRecord>, StoreError> {
    let rows = console::query_changes(
        conn,
        "tenant_id = ?1 AND (?2 = 0 OR needs_review) AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4",
        &[&tenant_id, &needs_review_only, &before, &(i64::from(limit) + 1)],
    )?;
    Ok(Page::cut(rows.into_iter().map(|c| c.change).collect(), limit))
}

#[async_trait]
impl PageStore for SqliteStore {
    async fn register_rows(&self, tenant_id: &str) -> Result<RegisterRows, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.read(move |conn| register_rows(conn, &tenant_id)).await
    }

    async fn register_page(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<RegisterRows, StoreError> {
        let (tenant_id, after) = (tenant_id.to_string(), after.map(str::to_string));
        self.read(move |conn| register_page(conn, &tenant_id, after.as_deref(), limit)).await
    }

    async fn findings_page(
        &self,
        tenant_id: &str,
        filter: FindingFilter,
        after: Option<&FindingKey>,
        limit: u32,
    ) -> Result<Page<FindingRecord>, StoreError> {
        let (tenant_id, after) = (tenant_id.to_string(), after.cloned());
        self.read(move |conn| findings_page(conn, &tenant_id, filter, after.as_ref(), limit)).await
    }

    async fn changes_page(
        &self,
        tenant_id: &str,
        needs_review_only: bool,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Page<ChangeRecord>, StoreError> {
        let tenant_id = tenant_id.to_string();
        self.read(move |conn| changes_page(conn, &tenant_id, needs_review_only, before, limit)).await
    }
}
