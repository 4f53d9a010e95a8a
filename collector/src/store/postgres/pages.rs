//! The consistent and paged reads ([`PageStore`]) in PostgreSQL: each
//! register read is one `REPEATABLE READ, READ ONLY` transaction. Keys sort
//! `COLLATE "C"` (byte order, as in SQLite and Rust), whatever the
//! database's locale, so a page ends where the next one's cursor starts;
//! the price is a sort of the tenant's keys per page rather than a walk of
//! the primary key's index, whose order is the locale's.

use super::register::{connectors_where, findings_where};
use super::{annotations, console, PostgresStore};
use crate::store::pages::{severity_rank_sql, FindingKey, Page, PageStore, RegisterRows};
use crate::store::rows::finding_condition;
use crate::store::{FindingFilter, StoreError};
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use plumbline_protocol::read_api::{ChangeRecord, FindingRecord};
use tokio_postgres::IsolationLevel;

/// A transaction that sees one snapshot from its first query to its last:
/// a batch that commits meanwhile is not seen half.
async fn snapshot(client: &mut deadpool_postgres::Client) -> Result<Transaction<'_>, StoreError> {
    Ok(client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await?)
}

async fn register_rows(c: &impl GenericClient, tenant_id: &str) -> Result<RegisterRows, StoreError> {
    Ok(RegisterRows {
        connectors: connectors_where(c, "", &[&tenant_id]).await?,
        annotations: annotations::load(c, tenant_id, None).await?,
        findings: findings_where(c, finding_condition(FindingFilter::Open), &[&tenant_id]).await?,
        acceptances: console::load_acceptances(c, tenant_id, None).await?,
        more: false,
    })
}

/// The page's keys first, then its rows.
async fn register_page(
    c: &impl GenericClient,
    tenant_id: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<RegisterRows, StoreError> {
    let stmt = c
        .prepare_cached(
            r#"SELECT key FROM connectors WHERE tenant_id = $1 AND ($2::text IS NULL OR key COLLATE "C" > $2)
               ORDER BY key COLLATE "C" LIMIT $3"#,
        )
        .await?;
    let keys = c.query(&stmt, &[&tenant_id, &after, &(i64::from(limit) + 1)]).await?;
    let Page { rows: keys, more } = Page::cut(keys.iter().map(|r| r.get::<_, String>(0)).collect(), limit);
    let connectors = connectors_where(c, "AND c.key = ANY($2)", &[&tenant_id, &keys]).await?;
    let about = format!(
        "{} AND (f.connector_key = ANY($2)
             OR ($3::boolean AND NOT EXISTS (SELECT 1 FROM connectors k
                                             WHERE k.tenant_id = f.tenant_id AND k.key = f.connector_key)))",
        finding_condition(FindingFilter::Open)
    );
    let findings = findings_where(c, &about, &[&tenant_id, &keys, &after.is_none()]).await?;
    let ids: Vec<String> = findings.iter().map(|f| f.entry.id.clone()).collect();
    Ok(RegisterRows {
        annotations: annotations::load_keys(c, tenant_id, &keys).await?,
        acceptances: console::load_acceptances(c, tenant_id, Some(&ids)).await?,
        connectors,
        findings,
        more,
    })
}

#[async_trait]
impl PageStore for PostgresStore {
    async fn register_rows(&self, tenant_id: &str) -> Result<RegisterRows, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = snapshot(&mut client).await?;
        let rows = register_rows(&tx, tenant_id).await?;
        tx.commit().await?;
        Ok(rows)
    }

    async fn register_page(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<RegisterRows, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = snapshot(&mut client).await?;
        let rows = register_page(&tx, tenant_id, after, limit).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The page's ids in [`FindingKey`] order (the inner `f` is the
    /// subquery's own), then their rows: one statement, one snapshot.
    async fn findings_page(
        &self,
        tenant_id: &str,
        filter: FindingFilter,
        after: Option<&FindingKey>,
        limit: u32,
    ) -> Result<Page<FindingRecord>, StoreError> {
        let client = self.pool.get().await?;
        let rank = severity_rank_sql("f.severity");
        let order = format!(r#"{rank}, f.connector_key COLLATE "C", f.check_id COLLATE "C", f.id COLLATE "C""#);
        let condition = format!(
            "AND f.id IN (SELECT f.id FROM findings f WHERE f.tenant_id = $1 {}
                 AND ($2::bigint IS NULL OR ({order}) > ($2, $3::text, $4::text, $5::text))
                 ORDER BY {order} LIMIT $6)",
            finding_condition(filter)
        );
        let mut rows = findings_where(
            &client,
            &condition,
            &[
                &tenant_id,
                &after.map(|k| k.rank),
                &after.map(|k| k.connector_key.as_str()),
                &after.map(|k| k.check_id.as_str()),
                &after.map(|k| k.id.as_str()),
                &(i64::from(limit) + 1),
            ],
        )
        .await?;
        crate::register::view::sort_findings(&mut rows);
        Ok(Page::cut(rows, limit))
    }

    async fn changes_page(
        &self,
        tenant_id: &str,
        needs_review_only: bool,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Page<ChangeRecord>, StoreError> {
        let client = self.pool.get().await?;
        let rows = console::query_changes(
            &client,
            "tenant_id = $1 AND (NOT $2 OR needs_review) AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
            &[&tenant_id, &needs_review_only, &before, &(i64::from(limit) + 1)],
        )
        .await?;
        Ok(Page::cut(rows.into_iter().map(|c| c.change).collect(), limit))
    }
}
