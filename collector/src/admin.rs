//! What the admin commands do, apart from parsing and printing: tenants,
//! enrollment tokens, agents and API tokens.

use crate::store::{AgentRecord, NewApiToken, NewEnrollToken, Store, StoreError, TenantRecord};
use crate::{timestamp, tokens};

/// Longest enrollment token life: a year.
pub const MAX_TTL_HOURS: u32 = 24 * 366;

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A bad argument.
    #[error("{0}")]
    Invalid(String),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Tenant and site ids: 1 to 64 of `A-Z a-z 0-9 . _ -`, starting with a
/// letter or digit (they end up in URLs and file names).
pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn check_id(what: &str, id: &str) -> Result<(), AdminError> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "{what} id {id:?}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )))
    }
}

/// `tenant add ID [--name N]`.
pub async fn add_tenant(store: &dyn Store, id: &str, name: Option<&str>) -> Result<TenantRecord, AdminError> {
    check_id("tenant", id)?;
    let now = timestamp::now();
    let name = name.unwrap_or(id);
    store.add_tenant(id, name, &now).await?;
    Ok(TenantRecord { id: id.to_string(), name: name.to_string(), created_at: now })
}

/// A token as shown once.
#[derive(Debug, Clone)]
pub struct IssuedEnrollToken {
    /// The token (not stored).
    pub token: String,
    /// Expiry.
    pub expires_at: String,
}

/// `enroll-token create --tenant T --site S [--ttl-hours H]`.
pub async fn create_enroll_token(
    store: &dyn Store,
    tenant: &str,
    site: &str,
    ttl_hours: u32,
) -> Result<IssuedEnrollToken, AdminError> {
    check_id("site", site)?;
    if ttl_hours == 0 || ttl_hours > MAX_TTL_HOURS {
        return Err(AdminError::Invalid(format!("--ttl-hours: between 1 and {MAX_TTL_HOURS}")));
    }
    let token = tokens::generate(tokens::ENROLL_PREFIX);
    let expires_at = timestamp::in_hours(i64::from(ttl_hours));
    store
        .create_enroll_token(NewEnrollToken {
            token_hash: tokens::hash(&token),
            tenant_id: tenant.to_string(),
            site_id: site.to_string(),
            created_at: timestamp::now(),
            expires_at: expires_at.clone(),
        })
        .await?;
    Ok(IssuedEnrollToken { token, expires_at })
}

/// `api-token create (--tenant T | --all) [--name N]`: the token, shown once.
pub async fn create_api_token(
    store: &dyn Store,
    tenant: Option<&str>,
    name: Option<&str>,
) -> Result<String, AdminError> {
    let token = tokens::generate(tokens::API_PREFIX);
    let name = name.map(str::to_string).unwrap_or_else(|| match tenant {
        Some(t) => format!("{t}-reader"),
        None => "all-tenants".to_string(),
    });
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid("--name: 1 to 128 printable characters".into()));
    }
    store
        .create_api_token(NewApiToken {
            token_hash: tokens::hash(&token),
            name,
            tenant_id: tenant.map(str::to_string),
            created_at: timestamp::now(),
        })
        .await?;
    Ok(token)
}

/// `agent revoke AGENT_ID`.
pub async fn revoke_agent(store: &dyn Store, id: &str) -> Result<(), AdminError> {
    if store.revoke_agent(id, &timestamp::now()).await? {
        Ok(())
    } else {
        Err(StoreError::UnknownAgent(id.to_string()).into())
    }
}

/// `agent list` as a table.
pub fn agent_table(agents: &[AgentRecord]) -> String {
    let mut rows =
        vec![["AGENT", "TENANT", "SITE", "HOST", "ENROLLED", "LAST SEQ", "LAST SEEN", "STATUS"].map(String::from)];
    for a in agents {
        rows.push([
            a.id.clone(),
            a.tenant_id.clone(),
            a.site_id.clone(),
            a.hostname.clone(),
            a.enrolled_at.clone(),
            a.last_sequence.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            a.last_seen_at.clone().unwrap_or_else(|| "-".into()),
            if a.revoked_at.is_some() { "revoked" } else { "active" }.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..8).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_checked() {
        for ok in ["contoso", "c-1.site_2", "6c1b0f3e-1a2b-4c5d-8e9f-000000000000"] {
            assert!(super::valid_id(ok), "{ok}");
        }
        for bad in ["", "-x", "a/b", "a b", &"x".repeat(65)] {
            assert!(!super::valid_id(bad), "{bad}");
        }
    }
}
