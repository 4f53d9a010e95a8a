//! Console accounts: roles, password hashing, sign-in sessions, and the
//! throttle on failed sign-ins. Nothing here knows HTTP; the console turns
//! these into cookies and forms.

pub mod password;
pub mod roles;
pub mod sessions;
pub mod throttle;

pub use roles::Role;

use crate::store::accounts::{NewUser, UserRecord};
use crate::store::{Store, StoreError};
use crate::timestamp;

/// Why an account command was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Not an e-mail address.
    #[error("{0:?} is not an e-mail address; give the address the person signs in with, e.g. alice@msp.example")]
    BadEmail(String),
    /// A role and tenants that do not fit together.
    #[error("{0}")]
    BadScope(String),
    /// A password too weak to keep.
    #[error("{0}")]
    WeakPassword(String),
    /// No such user.
    #[error("no user {0:?}; `plumbline-collector user list` shows who exists")]
    UnknownUser(String),
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The sign-in name as stored: trimmed and lower-cased, checked to look
/// like an address.
pub fn normalise_email(email: &str) -> Result<String, AccountError> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.starts_with('.'))
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(e)
    } else {
        Err(AccountError::BadEmail(email.to_string()))
    }
}

/// `user add`: check the role against its tenants, hash the password, store.
pub async fn add_user(
    store: &dyn Store,
    email: &str,
    role: Role,
    tenants: &[String],
    password: &str,
) -> Result<UserRecord, AccountError> {
    let email = normalise_email(email)?;
    role.check_tenants(tenants).map_err(AccountError::BadScope)?;
    password::check_strength(password, &email).map_err(AccountError::WeakPassword)?;
    let mut tenants = tenants.to_vec();
    tenants.sort();
    tenants.dedup();
    let user = NewUser {
        email,
        role: role.as_str().to_string(),
        password_hash: password::hash(password),
        tenants,
        created_at: timestamp::now(),
    };
    Ok(store.add_user(user).await?)
}

/// `user reset-password`: a new hash; every session of the user ends.
pub async fn reset_password(store: &dyn Store, email: &str, password: &str) -> Result<(), AccountError> {
    let email = normalise_email(email)?;
    password::check_strength(password, &email).map_err(AccountError::WeakPassword)?;
    if !store.set_password(&email, &password::hash(password)).await? {
        return Err(AccountError::UnknownUser(email));
    }
    Ok(())
}

/// `user disable`: the user can no longer sign in; its sessions end.
pub async fn disable_user(store: &dyn Store, email: &str) -> Result<(), AccountError> {
    let email = normalise_email(email)?;
    if !store.disable_user(&email, &timestamp::now()).await? {
        return Err(AccountError::UnknownUser(email));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalise_email(" Alice@MSP.example ").unwrap(), "alice@msp.example");
        for bad in ["alice", "@msp.example", "alice@localhost", "a b@msp.example", "a@.example"] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }
}
