//! Who may see and change which tenant: one check, shared by the JSON API
//! (bearer tokens) and the console (signed-in users). A tenant the caller
//! may not see answers exactly like a tenant that does not exist.

use crate::accounts::Role;
use crate::store::{Store, StoreError, TenantRecord};

/// Which tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    /// Every tenant.
    All,
    /// These tenants only.
    Only(Vec<String>),
}

/// A caller, however it authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// For the audit trail: a user's e-mail address or a token's name.
    pub name: String,
    /// The tenants it may see.
    pub scope: TenantScope,
    /// May annotate, review and accept risk.
    pub may_write: bool,
    /// May manage users and tokens.
    pub is_admin: bool,
}

/// Why access was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Not visible to this caller, or does not exist: the same answer.
    #[error("no tenant {0:?}")]
    Hidden(String),
    /// Visible but read-only for this caller.
    #[error("this account may read but not change tenant {0:?}")]
    ReadOnly(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Principal {
    /// A console user.
    pub fn user(email: &str, role: Role, tenants: &[String]) -> Principal {
        let scope = match role {
            Role::MspAdmin => TenantScope::All,
            Role::MspEngineer if tenants.is_empty() => TenantScope::All,
            _ => TenantScope::Only(tenants.to_vec()),
        };
        Principal { name: email.to_string(), scope, may_write: role.may_write(), is_admin: role == Role::MspAdmin }
    }

    /// An API token: one tenant or all; annotates only with the `write` scope.
    pub fn api_token(name: &str, tenant: Option<&str>, may_write: bool) -> Principal {
        let scope = match tenant {
            Some(t) => TenantScope::Only(vec![t.to_string()]),
            None => TenantScope::All,
        };
        Principal { name: name.to_string(), scope, may_write, is_admin: false }
    }

    /// May this caller see tenant `id` (if it exists)?
    pub fn covers(&self, id: &str) -> bool {
        match &self.scope {
            TenantScope::All => true,
            TenantScope::Only(ids) => ids.iter().any(|t| t == id),
        }
    }

    /// The tenant ids it is limited to; `None` for all.
    pub fn limited_to(&self) -> Option<&[String]> {
        match &self.scope {
            TenantScope::All => None,
            TenantScope::Only(ids) => Some(ids),
        }
    }

    /// The tenant, if this caller may see it and it exists.
    pub async fn tenant(&self, store: &dyn Store, id: &str) -> Result<TenantRecord, AccessError> {
        if !self.covers(id) {
            return Err(AccessError::Hidden(id.to_string()));
        }
        store.tenant(id).await?.ok_or_else(|| AccessError::Hidden(id.to_string()))
    }

    /// The tenant, if this caller may change it.
    pub async fn writable_tenant(&self, store: &dyn Store, id: &str) -> Result<TenantRecord, AccessError> {
        let t = self.tenant(store, id).await?;
        if !self.may_write {
            return Err(AccessError::ReadOnly(id.to_string()));
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_roles_and_tokens() {
        let admin = Principal::user("a@x.example", Role::MspAdmin, &[]);
        assert!(admin.covers("any") && admin.is_admin && admin.may_write);
        let scoped = Principal::user("e@x.example", Role::MspEngineer, &["t1".into()]);
        assert!(scoped.covers("t1") && !scoped.covers("t2") && !scoped.is_admin);
        let all = Principal::user("e@x.example", Role::MspEngineer, &[]);
        assert!(all.covers("t2"));
        let client = Principal::user("c@x.example", Role::ClientViewer, &["t1".into()]);
        assert!(client.covers("t1") && !client.covers("t2") && !client.may_write);
        assert!(Principal::api_token("ci", Some("t1"), false).covers("t1"));
        assert!(!Principal::api_token("ci", Some("t1"), false).covers("t2"));
        assert!(Principal::api_token("ci", None, false).covers("t2"));
    }
}
