//! Reports for people outside the console: the client's quarterly business
//! review (QBR) as one self-contained HTML file, and that file printed to
//! PDF by the host's headless Chromium. Every figure is counted from the
//! register, its history and the annotations, never typed in.

pub mod brand;
pub mod fleet;
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
    /// No tenant is in this group.
    #[error("no tenant is in group {0:?}; the groups are: {1}")]
    UnknownGroup(String, String),
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
    let input = qbr_input(store, tenant, period).await?;
    let model = qbr::build(&record, &input, period, brand, &crate::timestamp::today());
    Ok(qbr::render(&model)?)
}

async fn qbr_input(store: &dyn Store, tenant: &str, period: &qbr::Period) -> Result<qbr::Input, ReportError> {
    Ok(qbr::Input {
        register: crate::reads::register(store, tenant).await?,
        findings: store.findings(tenant, FindingFilter::All).await?,
        changes: store.changes(tenant, false, u32::MAX).await?,
        decided: store.decided_changes(tenant).await?,
        audit: store.audit_between(tenant, &period.start(), &period.end()).await?,
    })
}

/// Which tenants a fleet report covers.
pub struct FleetScope<'a> {
    /// The tenants the reader may see; `None` for all.
    pub tenants: Option<&'a [String]>,
    /// Only this tenant group; empty for every group.
    pub group: &'a str,
    /// An agent silent for this many hours is counted silent.
    pub silent_after_hours: i64,
}

/// The MSP's fleet report for `period`, as HTML: a summary row per tenant,
/// then each tenant's section as its QBR counts it. A group no tenant is in
/// is refused, so a typo does not print an empty report.
pub async fn fleet_html(
    store: &dyn Store,
    scope: &FleetScope<'_>,
    period: &qbr::Period,
    brand: &brand::Brand,
) -> Result<String, ReportError> {
    let today = crate::timestamp::today();
    let summaries = store.fleet(scope.tenants, &today).await?;
    if !scope.group.is_empty() && !summaries.iter().any(|s| s.groups.iter().any(|g| g == scope.group)) {
        let mut known: Vec<&str> = summaries.iter().flat_map(|s| s.groups.iter().map(String::as_str)).collect();
        known.sort();
        known.dedup();
        let known = if known.is_empty() { "none yet; `tenant group` adds one".to_string() } else { known.join(", ") };
        return Err(ReportError::UnknownGroup(scope.group.to_string(), known));
    }
    let silent_before = crate::timestamp::minutes_ago(scope.silent_after_hours.saturating_mul(60));
    let mut tenants = Vec::new();
    for s in summaries.into_iter().filter(|s| scope.group.is_empty() || s.groups.iter().any(|g| g == scope.group)) {
        let Some(record) = store.tenant(&s.id).await? else { continue };
        let input = qbr_input(store, &s.id, period).await?;
        let facts = fleet::TenantFacts {
            groups: s.groups.join(", "),
            connectors: s.connectors_by_category.values().sum(),
            awaiting: s.awaiting_review,
            silent_agents: s.agents.iter().filter(|a| a.is_silent(&silent_before)).count(),
        };
        tenants.push((qbr::section(&record, &input, period, &today), facts));
    }
    Ok(askama::Template::render(&fleet::build(tenants, period, scope.group, brand, &today))?)
}
