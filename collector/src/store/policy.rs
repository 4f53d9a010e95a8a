//! Policy serials: each tenant's policy version, raised in the store when
//! what the collector serves for it changes, so that every replica signs
//! the same content with the same serial and a change always goes up; and
//! the audit entry of a policy file edited in the console.

use super::StoreError;
use async_trait::async_trait;

/// The serial of `content_sha256` for a tenant: the stored one when the
/// content is what it was, else one more (1 for a tenant's first policy).
/// One statement, so two replicas serving at once never hand out one
/// serial for two contents.
pub(super) const SERIAL_SQL: &str = "INSERT INTO policy_serials (tenant_id, serial, content_sha256, changed_at) VALUES ($1, 1, $2, $3)
     ON CONFLICT (tenant_id) DO UPDATE SET
         serial = CASE WHEN policy_serials.content_sha256 = excluded.content_sha256
                       THEN policy_serials.serial ELSE policy_serials.serial + 1 END,
         changed_at = CASE WHEN policy_serials.content_sha256 = excluded.content_sha256
                           THEN policy_serials.changed_at ELSE excluded.changed_at END,
         content_sha256 = excluded.content_sha256
     RETURNING serial";

/// The audit trail's action for a tenant's policy file saved in the console.
pub const POLICY_EDIT: &str = "policy";

/// The audit entry of a policy edit: the tenant's own file before and after.
pub(super) const POLICY_EDIT_SQL: &str = "INSERT INTO audit (tenant_id, connector_key, actor, at, action, before, after)
     VALUES ($1, NULL, $2, $3, 'policy', $4, $5)";

/// Policy versions.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// The serial under which `tenant_id`'s policy with this content is
    /// signed (raised when the content changed since the last call).
    async fn policy_serial(&self, tenant_id: &str, content_sha256: &str, now: &str) -> Result<u64, StoreError>;
    /// Record in the audit trail that `actor` replaced the tenant's own
    /// policy file text `before` with `after` (`None`: no file).
    async fn record_policy_edit(
        &self,
        tenant_id: &str,
        actor: &str,
        at: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Result<(), StoreError>;
}
