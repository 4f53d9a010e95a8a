//! The collector's read API: what `GET /v1/tenants/{tenant}/...` answers and
//! what `PUT .../connectors/{key}/annotations` takes.
//!
//! - `GET register` -> [`RegisterView`] (also `register.csv`, whole)
//! - `GET changes?needs_review=true` -> [`ChangesView`], newest first
//! - `GET findings?status=open|resolved|all` -> [`FindingsView`]
//!
//! The three JSON lists come in pages (`?limit=N&cursor=C`): an answer with a
//! `next_cursor` has more after it, asked for with `cursor=` that value. The
//! field is new and optional, so a client that predates it still parses
//! every answer (and sees the first page).
//! - `GET batches/{digest}/envelope` -> the stored DSSE envelope, byte for byte
//! - `PUT connectors/{key}/annotations` with [`AnnotationsUpdate`] -> [`Annotations`]

use crate::register::{ConnectorEntry, FindingEntry};
use serde::{Deserialize, Deserializer, Serialize};

/// Register fields no scan can know, entered by MSP staff. Stored apart from
/// the scanned state, so every rescan keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Annotations {
    /// Why the connector exists.
    pub purpose: Option<String>,
    /// The owner, when the scanned one is wrong or missing.
    pub owner_override: Option<String>,
    /// The co-owners, when the scanned ones are wrong or missing.
    pub co_owner_override: Option<Vec<String>>,
    /// How often it must be reviewed, in days.
    pub review_cadence_days: Option<u32>,
    /// When it was last tested: `YYYY-MM-DD` or RFC 3339.
    pub last_tested: Option<String>,
    /// What the client decided (keep, retire, replace, ...).
    pub client_decision: Option<String>,
    /// Where the evidence is (an http(s) link).
    pub evidence_link: Option<String>,
    /// The system on the other end (a backup server, a ticketing tool, ...).
    #[serde(default)]
    pub connected_system: Option<String>,
    /// What data passes through it: `public`, `internal`, `confidential` or
    /// `restricted`.
    #[serde(default)]
    pub data_sensitivity: Option<String>,
    /// How much the client depends on it: `low`, `medium`, `high` or
    /// `critical` (a backup or security alert is not a social notification).
    #[serde(default)]
    pub criticality: Option<String>,
    /// Where a legacy Teams connector or webhook stands on the migration
    /// ladder: `unknown`, `inventoried`, `replacement-built`, `tested`,
    /// `old-disabled`, or `exception-approved`.
    #[serde(default)]
    pub migration_status: Option<String>,
    /// The register key of the Workflow that replaces it.
    #[serde(default)]
    pub replacement_key: Option<String>,
    /// When it was last reviewed (`YYYY-MM-DD`); with the review cadence, it
    /// gives the next review due.
    #[serde(default)]
    pub last_reviewed: Option<String>,
    /// Who last changed them (the API token's name).
    pub updated_by: Option<String>,
    /// When, RFC 3339.
    pub updated_at: Option<String>,
}

/// A partial update of [`Annotations`]: a field left out stays as it is,
/// `null` clears it, a value sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnnotationsUpdate {
    /// See [`Annotations::purpose`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Option<String>>,
    /// See [`Annotations::owner_override`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub owner_override: Option<Option<String>>,
    /// See [`Annotations::co_owner_override`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub co_owner_override: Option<Option<Vec<String>>>,
    /// See [`Annotations::review_cadence_days`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub review_cadence_days: Option<Option<u32>>,
    /// See [`Annotations::last_tested`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub last_tested: Option<Option<String>>,
    /// See [`Annotations::client_decision`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub client_decision: Option<Option<String>>,
    /// See [`Annotations::evidence_link`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub evidence_link: Option<Option<String>>,
    /// See [`Annotations::connected_system`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub connected_system: Option<Option<String>>,
    /// See [`Annotations::data_sensitivity`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub data_sensitivity: Option<Option<String>>,
    /// See [`Annotations::criticality`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Option<String>>,
    /// See [`Annotations::migration_status`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub migration_status: Option<Option<String>>,
    /// See [`Annotations::replacement_key`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub replacement_key: Option<Option<String>>,
    /// See [`Annotations::last_reviewed`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub last_reviewed: Option<Option<String>>,
}

/// A field that is present is `Some`, even when it is `null`.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// What the register shows where staff overrode the scan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Effective {
    /// `owner_override`, else the scanned owner.
    pub owner: Option<String>,
    /// `co_owner_override`, else the scanned co-owners.
    pub co_owners: Vec<String>,
    /// The annotated purpose, else the scanned one.
    pub purpose: Option<String>,
}

/// One connector in a tenant's register: the latest scanned state, when it
/// was seen, and the annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterConnector {
    /// The latest scanned state.
    #[serde(flatten)]
    pub entry: ConnectorEntry,
    /// `present`, or `disappeared` when its plugin ran fine and no longer reports it.
    pub status: String,
    /// The site whose agent last reported it.
    pub site_id: String,
    /// First reported, RFC 3339.
    pub first_seen: String,
    /// Last reported, RFC 3339.
    pub last_seen: String,
    /// When it disappeared, if it did.
    pub disappeared_at: Option<String>,
    /// What staff entered.
    pub annotations: Annotations,
    /// Scan and annotations merged.
    pub effective: Effective,
    /// How many open findings are about it.
    pub open_findings: usize,
}

/// A tenant's register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterView {
    /// The tenant.
    pub tenant_id: String,
    /// Every connector ever reported, by key.
    pub connectors: Vec<RegisterConnector>,
    /// Open (and reopened) findings, most severe first: those about this
    /// page's connectors, and on the first page also those about a key the
    /// register does not hold.
    pub open_findings: Vec<FindingRecord>,
    /// The `cursor` of the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One field of a connector, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    /// The field (`name`, `owner`, ...; `attributes.X` for one attribute).
    pub field: String,
    /// The old value (`null` when absent).
    pub before: serde_json::Value,
    /// The new value (`null` when absent).
    pub after: serde_json::Value,
}

/// One entry of a tenant's change history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeRecord {
    /// Increasing with time.
    pub id: i64,
    /// The connector.
    pub connector_key: String,
    /// `created`, `changed`, `disappeared` or `reappeared`.
    pub kind: String,
    /// When the collector applied it, RFC 3339.
    pub at: String,
    /// The batch that showed it (its evidence: `batches/{digest}/envelope`).
    pub batch_digest: String,
    /// The agent that reported it.
    pub agent_id: String,
    /// Its site.
    pub site_id: String,
    /// Someone should look at this (a new inbound Exchange connector).
    pub needs_review: bool,
    /// Why.
    pub review_reason: Option<String>,
    /// For `changed` and `reappeared`: the fields that differ.
    pub fields: Vec<FieldChange>,
    /// The entry after the change (before, for `disappeared`).
    pub entry: Option<ConnectorEntry>,
}

/// The tenants a token may read: every one for an all-tenants token, its
/// own for a one-tenant token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantsView {
    /// By id.
    pub tenants: Vec<TenantSummary>,
}

/// One tenant: its id (the Entra tenant id) and the name the MSP gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantSummary {
    /// The id, used in every `/v1/tenants/{tenant}/` path.
    pub tenant_id: String,
    /// Display name.
    pub name: String,
    /// When it was added.
    pub created_at: String,
}

/// A tenant's agents, as delivery sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentsView {
    /// The tenant.
    pub tenant_id: String,
    /// By site and id.
    pub agents: Vec<AgentSummary>,
}

/// One agent: where it runs, its last delivery, and the batches that never came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentSummary {
    /// `agt_` and 32 hex digits.
    pub agent_id: String,
    /// The site it was enrolled for.
    pub site_id: String,
    /// The host name it gave at enrollment.
    pub hostname: String,
    /// RFC 3339.
    pub enrolled_at: String,
    /// RFC 3339, when revoked.
    pub revoked_at: Option<String>,
    /// The last sequence number accepted from it.
    pub last_sequence: Option<u64>,
    /// RFC 3339, when its last batch was accepted.
    pub last_seen_at: Option<String>,
    /// Batches never received: the gaps between the sequence numbers
    /// accepted (dropped from a full spool, or refused for good).
    pub missing_batches: u64,
}

/// A tenant's change history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangesView {
    /// The tenant.
    pub tenant_id: String,
    /// Newest first.
    pub changes: Vec<ChangeRecord>,
    /// The `cursor` of the next (older) page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A finding as the collector tracks it across scans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingRecord {
    /// The latest report of it.
    #[serde(flatten)]
    pub entry: FindingEntry,
    /// `open`, `resolved` or `reopened`.
    pub status: String,
    /// The site whose agent last reported it.
    pub site_id: String,
    /// First reported, RFC 3339.
    pub first_seen: String,
    /// Last reported, RFC 3339.
    pub last_seen: String,
    /// When a scan last stopped reporting it, while it is resolved.
    pub resolved_at: Option<String>,
    /// How often it came back after being resolved.
    pub reopened_count: u32,
}

/// A tenant's findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingsView {
    /// The tenant.
    pub tenant_id: String,
    /// `open` (with reopened), `resolved` or `all`.
    pub status: String,
    /// Most severe first.
    pub findings: Vec<FindingRecord>,
    /// The `cursor` of the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_tells_absent_from_null() {
        let u: AnnotationsUpdate = serde_json::from_str(r#"{"purpose":"mail relay","owner_override":null}"#).unwrap();
        assert_eq!(u.purpose, Some(Some("mail relay".into())));
        assert_eq!(u.owner_override, Some(None));
        assert_eq!(u.client_decision, None);
        assert!(serde_json::from_str::<AnnotationsUpdate>(r#"{"updated_by":"me"}"#).is_err());
    }

    /// An answer from a collector before paging (no `next_cursor`) still
    /// parses, and the last page says nothing of a cursor.
    #[test]
    fn next_cursor_is_optional_both_ways() {
        let old: FindingsView = serde_json::from_str(r#"{"tenant_id":"t","status":"open","findings":[]}"#).unwrap();
        assert_eq!(old.next_cursor, None);
        let last = ChangesView { tenant_id: "t".into(), changes: vec![], next_cursor: None };
        let last = serde_json::to_value(last).unwrap();
        assert!(last.get("next_cursor").is_none(), "{last}");
        let next_cursor = Some("c".into());
        let more = RegisterView { tenant_id: "t".into(), connectors: vec![], open_findings: vec![], next_cursor };
        assert_eq!(serde_json::to_value(&more).unwrap()["next_cursor"], "c");
    }
}
