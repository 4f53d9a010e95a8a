//! Views built from several store calls, shared by the JSON API, the
//! console and the reports, so each shows the same register.

use crate::register::view;
use crate::store::{FindingFilter, Store, StoreError};
use crate::store::console::Acceptance;
use plumbline_protocol::read_api::RegisterView;
use std::collections::HashMap;

/// A tenant's register: connectors, annotations and open findings merged;
/// a finding accepted as a risk until today or later shows as `accepted`.
pub async fn register(store: &dyn Store, tenant: &str) -> Result<RegisterView, StoreError> {
    let connectors = store.connectors(tenant).await?;
    let annotations = store.annotations(tenant).await?.into_iter().collect();
    let mut findings = store.findings(tenant, FindingFilter::Open).await?;
    let accepted = live_acceptances(store, tenant).await?;
    for f in &mut findings {
        if accepted.contains_key(&f.entry.id) {
            f.status = view::ACCEPTED.to_string();
        }
    }
    Ok(view::register(tenant, connectors, annotations, findings))
}

/// The acceptances that still hold today, by finding id.
pub async fn live_acceptances(store: &dyn Store, tenant: &str) -> Result<HashMap<String, Acceptance>, StoreError> {
    let today = crate::timestamp::today();
    Ok(store.acceptances(tenant).await?.into_iter().filter(|(_, a)| a.expires_on.as_str() >= today.as_str()).collect())
}
