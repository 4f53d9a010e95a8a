//! Who manages a flow: its permissions (owners, co-owners, run-only users)
//! and the Graph accounts behind them.

use crate::fields::{boolean, field, object, text};
use serde_json::Value;

/// A permission's role on a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The flow's owner (its creator, or whoever it was reassigned to).
    Owner,
    /// A co-owner: may edit, share and turn the flow on and off.
    CanEdit,
    /// A run-only user.
    CanView,
    /// Anything else, as written.
    Other(String),
}

impl Role {
    fn parse(s: &str) -> Role {
        match s.to_ascii_lowercase().as_str() {
            "owner" => Role::Owner,
            "canedit" => Role::CanEdit,
            "canview" => Role::CanView,
            _ => Role::Other(s.to_string()),
        }
    }

    /// Owners and co-owners manage the flow; run-only users do not.
    pub fn manages(&self) -> bool {
        matches!(self, Role::Owner | Role::CanEdit)
    }
}

/// The kind of principal a permission is granted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalType {
    /// An Entra ID user.
    User,
    /// An Entra ID group.
    Group,
    /// Anything else (ServicePrincipal, Tenant...), as written.
    Other(String),
}

/// One entry of `.../flows/{id}/permissions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `properties.roleName`.
    pub role: Role,
    /// `properties.principal.id`.
    pub principal_id: String,
    /// `properties.principal.type`; `None` when absent.
    pub principal_type: Option<PrincipalType>,
}

impl Permission {
    /// Read one permission; `None` without a role or a principal id.
    pub fn from_value(v: &Value) -> Option<Permission> {
        let o = v.as_object()?;
        let props = object(o, "properties").unwrap_or(o);
        let role = Role::parse(&text(props, "roleName")?);
        let principal = object(props, "principal")?;
        let principal_id = text(principal, "id")?;
        let principal_type = text(principal, "type").map(|t| match t.to_ascii_lowercase().as_str() {
            "user" => PrincipalType::User,
            "group" => PrincipalType::Group,
            _ => PrincipalType::Other(t),
        });
        Some(Permission {
            role,
            principal_id,
            principal_type,
        })
    }

    /// A user principal (the only kind whose account status is looked up).
    pub fn is_user(&self) -> bool {
        self.principal_type == Some(PrincipalType::User)
    }
}

/// Read a permissions answer's items.
pub fn permissions_from_values(items: &[Value]) -> Vec<Permission> {
    items.iter().filter_map(Permission::from_value).collect()
}

/// Whether an account can still sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// `accountEnabled: true`.
    Enabled,
    /// `accountEnabled: false`.
    Disabled,
    /// Graph answered 404 (or the user was asked for and not returned).
    Deleted,
    /// Not known.
    Unknown,
}

impl AccountStatus {
    /// For the register.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Enabled => "enabled",
            AccountStatus::Disabled => "disabled",
            AccountStatus::Deleted => "deleted",
            AccountStatus::Unknown => "unknown",
        }
    }

    /// The account can no longer manage anything.
    pub fn is_gone(self) -> bool {
        matches!(self, AccountStatus::Disabled | AccountStatus::Deleted)
    }
}

/// A Graph user, as far as the checks care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `id`.
    pub id: String,
    /// `userPrincipalName`.
    pub upn: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// From `accountEnabled`, or a 404.
    pub status: AccountStatus,
}

impl User {
    /// Read a Graph user object; `None` without an `id`.
    pub fn from_value(v: &Value) -> Option<User> {
        let o = v.as_object()?;
        let id = text(o, "id")?;
        let status = match boolean(o, "accountEnabled") {
            Some(true) => AccountStatus::Enabled,
            Some(false) => AccountStatus::Disabled,
            None => AccountStatus::Unknown,
        };
        Some(User {
            id,
            upn: text(o, "userPrincipalName"),
            display_name: text(o, "displayName"),
            status,
        })
    }

    /// A user Graph does not have (any more).
    pub fn deleted(id: &str) -> User {
        User {
            id: id.to_string(),
            upn: None,
            display_name: None,
            status: AccountStatus::Deleted,
        }
    }

    /// A name for people: UPN, else display name, else id.
    pub fn display(&self) -> &str {
        self.upn
            .as_deref()
            .or(self.display_name.as_deref())
            .unwrap_or(&self.id)
    }
}

/// Whether a Graph object is a user (`@odata.type`), when it says.
pub fn is_user_object(v: &Value) -> bool {
    v.as_object()
        .and_then(|o| field(o, "@odata.type"))
        .and_then(Value::as_str)
        .is_none_or(|t| t.eq_ignore_ascii_case("#microsoft.graph.user"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_permissions() {
        let items = vec![
            json!({"name": "u1", "properties": {"roleName": "Owner", "permissionType": "Principal",
                   "principal": {"id": "u1", "type": "User"}}}),
            json!({"properties": {"roleName": "CanEdit", "principal": {"id": "g1", "type": "Group"}}}),
            json!({"properties": {"roleName": "CanView", "principal": {"id": "u2", "type": "User"}}}),
            json!({"properties": {"roleName": "CanEdit", "principal": {"id": "s1", "type": "ServicePrincipal"}}}),
            json!({"properties": {"roleName": "Owner"}}),
            json!("junk"),
        ];
        let ps = permissions_from_values(&items);
        assert_eq!(ps.len(), 4);
        assert!(ps[0].role.manages() && ps[0].is_user());
        assert_eq!(ps[1].principal_type, Some(PrincipalType::Group));
        assert!(!ps[2].role.manages());
        assert_eq!(ps[3].principal_type, Some(PrincipalType::Other("ServicePrincipal".into())));
    }

    #[test]
    fn reads_users() {
        let u = User::from_value(&json!({"id": "u1", "accountEnabled": false, "userPrincipalName": "a@x"})).unwrap();
        assert_eq!((u.status, u.display()), (AccountStatus::Disabled, "a@x"));
        let u = User::from_value(&json!({"id": "u2", "displayName": "B"})).unwrap();
        assert_eq!((u.status, u.display()), (AccountStatus::Unknown, "B"));
        assert!(User::from_value(&json!({"accountEnabled": true})).is_none());
        assert!(is_user_object(&json!({"@odata.type": "#microsoft.graph.user"})));
        assert!(!is_user_object(&json!({"@odata.type": "#microsoft.graph.group"})));
    }
}
