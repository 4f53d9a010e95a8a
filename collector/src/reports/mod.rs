//! Reports for people outside the console: the client's quarterly business
//! review (QBR) as one self-contained HTML file, and that file printed to
//! PDF by the host's headless Chromium. Every figure is counted from the
//! register, its history and the annotations, never typed in.

pub mod brand;
pub mod pdf;
pub mod qbr;

use crate::store::{FindingFilter, Store, StoreError};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A bad period.
    #[error("{0}")]
    Period(String),
    /// Bad branding.
    #[error("{0}")]
    Brand(String),
    /// No such tenant.
    #[error("no tenant {0:?}; `plumbline-collector tenant list` shows the tenants")]
    UnknownTenant(String),
    /// Printing to PDF failed.
    #[error("{0}")]
    Pdf(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The template failed.
    #[error("rendering the report: {0}")]
    Render(#[from] askama::Error),
}

/// The QBR of `tenant` for `period`, as HTML.
pub async fn qbr_html(
    store: &dyn Store,
    tenant: &str,
    period: &qbr::Period,
    brand: &brand::Brand,
) -> Result<String, ReportError> {
    let record = store.tenant(tenant).await?.ok_or_else(|| ReportError::UnknownTenant(tenant.to_string()))?;
    let input = qbr::Input {
        register: crate::reads::register(store, tenant).await?,
        findings: store.findings(tenant, FindingFilter::All).await?,
        changes: store.changes(tenant, false, u32::MAX).await?,
        decided: store.decided_changes(tenant).await?,
        audit: store.audit_between(tenant, &period.start(), &period.end()).await?,
    };
    let model = qbr::build(&record, &input, period, brand, &crate::timestamp::today());
    Ok(qbr::render(&model)?)
}
