//! Views built from several store calls, shared by the JSON API, the
//! console and the reports, so each shows the same register.

use crate::register::view;
use crate::store::console::Acceptance;
use crate::store::pages::RegisterRows;
use crate::store::{Store, StoreError};
use plumbline_protocol::read_api::RegisterView;
use std::collections::HashMap;

/// A tenant's whole register, read in one transaction: connectors,
/// annotations and open findings merged; a finding accepted as a risk until
/// today or later shows as `accepted`.
pub async fn register(store: &dyn Store, tenant: &str) -> Result<RegisterView, StoreError> {
    Ok(merge(tenant, store.register_rows(tenant).await?))
}

/// One page of it (see [`crate::store::PageStore::register_page`]), read in
/// one transaction; `true` when more connectors follow.
pub async fn register_page(
    store: &dyn Store,
    tenant: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<(RegisterView, bool), StoreError> {
    let rows = store.register_page(tenant, after, limit).await?;
    let more = rows.more;
    Ok((merge(tenant, rows), more))
}

fn merge(tenant: &str, rows: RegisterRows) -> RegisterView {
    let today = crate::timestamp::today();
    let accepted: HashMap<String, Acceptance> = live(rows.acceptances, &today);
    let mut findings = rows.findings;
    for f in &mut findings {
        if accepted.contains_key(&f.entry.id) {
            f.status = view::ACCEPTED.to_string();
        }
    }
    view::register(tenant, rows.connectors, rows.annotations.into_iter().collect(), findings)
}

fn live(acceptances: Vec<(String, Acceptance)>, today: &str) -> HashMap<String, Acceptance> {
    acceptances.into_iter().filter(|(_, a)| a.expires_on.as_str() >= today).collect()
}

/// The acceptances that still hold today, by finding id.
pub async fn live_acceptances(store: &dyn Store, tenant: &str) -> Result<HashMap<String, Acceptance>, StoreError> {
    Ok(live(store.acceptances(tenant).await?, &crate::timestamp::today()))
}
