//! Views built from several store calls, shared by the JSON API, the
//! console and the reports, so each shows the same register.

use crate::register::view;
use crate::store::{FindingFilter, Store, StoreError};
use plumbline_protocol::read_api::RegisterView;

/// A tenant's register: connectors, annotations and open findings merged.
pub async fn register(store: &dyn Store, tenant: &str) -> Result<RegisterView, StoreError> {
    let connectors = store.connectors(tenant).await?;
    let annotations = store.annotations(tenant).await?.into_iter().collect();
    let findings = store.findings(tenant, FindingFilter::Open).await?;
    Ok(view::register(tenant, connectors, annotations, findings))
}
