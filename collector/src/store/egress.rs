//! Where each agent delivers from (its site's egress, see [`crate::egress`]),
//! kept per agent with when it was last seen. Ingest records it in its own
//! transaction, before the cross-check reads it; enrollment records it too,
//! so a site is known from its first contact.

use super::StoreError;
use async_trait::async_trait;
use std::net::IpAddr;

/// One agent's latest egress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressRecord {
    /// The agent.
    pub agent_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its site.
    pub site_id: String,
    /// The address.
    pub address: IpAddr,
    /// When it was last seen delivering from there.
    pub seen_at: String,
}

/// The egress addresses.
#[async_trait]
pub trait EgressStore: Send + Sync {
    /// Record that `agent_id` was seen at `address` (no-op for an unknown agent).
    async fn record_egress(&self, agent_id: &str, address: IpAddr, now: &str) -> Result<(), StoreError>;
    /// A tenant's agents' egress, by site and agent.
    async fn egress(&self, tenant_id: &str) -> Result<Vec<EgressRecord>, StoreError>;
}

/// A stored address back.
pub(super) fn address(text: &str) -> Result<IpAddr, StoreError> {
    text.parse().map_err(|_| StoreError::Backend(format!("stored egress address {text:?} does not parse")))
}

/// The cross-check's inputs from the rows the backends read: each live
/// agent's `(site, address)`, whether every live agent has one, and the
/// connector keys whose register fields explain them.
pub(super) fn inputs(
    rows: Vec<(String, String)>,
    complete: bool,
    explained: Vec<String>,
) -> Result<crate::crosscheck::Inputs, StoreError> {
    let mut egress: std::collections::BTreeMap<String, std::collections::BTreeSet<IpAddr>> = Default::default();
    for (site, text) in rows {
        egress.entry(site).or_default().insert(address(&text)?);
    }
    Ok(crate::crosscheck::Inputs { egress, egress_complete: complete, explained: explained.into_iter().collect() })
}

// The statements below are in PostgreSQL's `$N` form; SQLite reads them
// with `?N` (see `sqlite_form`).

/// Recording `address` for the agent: its tenant and site come from its row.
pub(super) const RECORD_SQL: &str = "INSERT INTO agent_egress (agent_id, tenant_id, site_id, address, seen_at)
     SELECT id, tenant_id, site_id, $2, $3 FROM agents WHERE id = $1
     ON CONFLICT (agent_id) DO UPDATE SET address = excluded.address, seen_at = excluded.seen_at,
         tenant_id = excluded.tenant_id, site_id = excluded.site_id";

/// Each live agent's site and address.
pub(super) const LIVE_SQL: &str = "SELECT e.site_id, e.address FROM agent_egress e JOIN agents a ON a.id = e.agent_id
     WHERE e.tenant_id = $1 AND a.revoked_at IS NULL";

/// Does every live agent have one?
pub(super) const COMPLETE_SQL: &str = "SELECT NOT EXISTS (SELECT 1 FROM agents a WHERE a.tenant_id = $1 AND a.revoked_at IS NULL
     AND NOT EXISTS (SELECT 1 FROM agent_egress e WHERE e.agent_id = a.id))";

/// Connectors whose purpose or connected system staff filled in.
pub(super) const EXPLAINED_SQL: &str = "SELECT connector_key FROM annotations WHERE tenant_id = $1
     AND (TRIM(COALESCE(purpose, '')) <> '' OR TRIM(COALESCE(connected_system, '')) <> '')";

/// A tenant's egress rows.
pub(super) const LIST_SQL: &str =
    "SELECT agent_id, tenant_id, site_id, address, seen_at FROM agent_egress WHERE tenant_id = $1 ORDER BY site_id, agent_id";

/// A statement above in SQLite's `?N` form (they hold no `$` but their parameters).
pub(super) fn sqlite_form(sql: &str) -> String {
    sql.replace('$', "?")
}
