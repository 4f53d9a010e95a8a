//! What the admin commands do, apart from parsing and printing: tenants,
//! enrollment tokens, agents and API tokens.

use crate::store::{AgentRecord, ApiTokenRecord, EnrollTokenRecord, NewApiToken, NewEnrollToken, Store, StoreError, TenantRecord};
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

/// An Entra tenant id (`5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa`), in the
/// lower case agents send it in; the agent's `tenant_id` is this same id,
/// so a tenant named any other way would refuse every batch its agents send.
pub fn entra_tenant_id(id: &str) -> Result<String, AdminError> {
    if plumbline_protocol::tenant::is_entra_tenant_id(id.trim()) {
        return Ok(plumbline_protocol::tenant::normalise(id));
    }
    Err(AdminError::Invalid(format!(
        "tenant id {id:?} is not an Entra tenant id: give the client's tenant id, a GUID such as \
         5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa (Entra admin center > Overview > Tenant ID, or the GUID in \
         https://login.microsoftonline.com/<their domain>/v2.0/.well-known/openid-configuration), with its name in \
         --name; it is the tenant_id in each of its agents' configs. For a client without Microsoft 365, add \
         --no-entra to use {id:?} as it is"
    )))
}

/// `tenant add ID [--name N]`.
pub async fn add_tenant(store: &dyn Store, id: &str, name: Option<&str>) -> Result<TenantRecord, AdminError> {
    check_id("tenant", id)?;
    let now = timestamp::now();
    let name = name.unwrap_or(id);
    store.add_tenant(id, name, &now).await?;
    Ok(TenantRecord { id: id.to_string(), name: name.to_string(), created_at: now })
}

#[cfg(test)]
mod entra_tests {
    #[test]
    fn a_tenant_id_is_a_guid_in_lower_case() {
        assert_eq!(
            super::entra_tenant_id(" 5F0C1A8E-2B6D-4C1E-9A77-3D2F8B41C0AA ").unwrap(),
            "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa"
        );
        for bad in ["northwind", "5f0c1a8e2b6d4c1e9a773d2f8b41c0aa", "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0ag", "", "{5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa}"] {
            let e = super::entra_tenant_id(bad).unwrap_err().to_string();
            assert!(e.contains("not an Entra tenant id") && e.contains("--no-entra"), "{e}");
        }
    }
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
    issue_enroll_token(store, tenant, Some(site), ttl_hours).await
}

/// `enroll-token create --tenant T --reusable [--ttl-hours H]`: a fleet
/// secret that enrolls any number of the tenant's agents, each at the site
/// it names, until it expires or is revoked.
pub async fn create_fleet_secret(store: &dyn Store, tenant: &str, ttl_hours: u32) -> Result<IssuedEnrollToken, AdminError> {
    issue_enroll_token(store, tenant, None, ttl_hours).await
}

async fn issue_enroll_token(
    store: &dyn Store,
    tenant: &str,
    site: Option<&str>,
    ttl_hours: u32,
) -> Result<IssuedEnrollToken, AdminError> {
    if ttl_hours == 0 || ttl_hours > MAX_TTL_HOURS {
        return Err(AdminError::Invalid(format!("--ttl-hours: between 1 and {MAX_TTL_HOURS}")));
    }
    let token = tokens::generate(if site.is_some() { tokens::ENROLL_PREFIX } else { tokens::FLEET_PREFIX });
    let expires_at = timestamp::in_hours(i64::from(ttl_hours));
    store
        .create_enroll_token(NewEnrollToken {
            token_hash: tokens::hash(&token),
            tenant_id: tenant.to_string(),
            site_id: site.unwrap_or_default().to_string(),
            reusable: site.is_none(),
            created_at: timestamp::now(),
            expires_at: expires_at.clone(),
        })
        .await?;
    Ok(IssuedEnrollToken { token, expires_at })
}

/// Longest API token life: two years, so that every token is rotated.
pub const MAX_API_TOKEN_DAYS: u32 = 2 * 366;

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenScope {
    /// Read the register, history and findings.
    Read,
    /// Read, and write annotations.
    Write,
}

impl TokenScope {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }
}

/// An API token to issue.
#[derive(Debug, Clone)]
pub struct ApiTokenSpec<'a> {
    /// One tenant, or `None` for all.
    pub tenant: Option<&'a str>,
    /// Its name (default: from the tenant).
    pub name: Option<&'a str>,
    /// What it may do.
    pub scope: TokenScope,
    /// Days until it stops working; `None`: never.
    pub ttl_days: Option<u32>,
}

/// `api-token create (--tenant T | --all) [--name N]`: a token that may
/// read and annotate and never expires, as every token was before scopes.
pub async fn create_api_token(
    store: &dyn Store,
    tenant: Option<&str>,
    name: Option<&str>,
) -> Result<String, AdminError> {
    issue_api_token(store, &ApiTokenSpec { tenant, name, scope: TokenScope::Write, ttl_days: None }).await
}

/// Issue an API token; answers the token, shown only this once.
pub async fn issue_api_token(store: &dyn Store, spec: &ApiTokenSpec<'_>) -> Result<String, AdminError> {
    let token = tokens::generate(tokens::API_PREFIX);
    let name = spec.name.map(str::to_string).unwrap_or_else(|| match spec.tenant {
        Some(t) => format!("{t}-{}", if spec.scope == TokenScope::Read { "reader" } else { "writer" }),
        None => "all-tenants".to_string(),
    });
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid("--name: 1 to 128 printable characters".into()));
    }
    if spec.ttl_days.is_some_and(|d| d == 0 || d > MAX_API_TOKEN_DAYS) {
        return Err(AdminError::Invalid(format!("--ttl-days: between 1 and {MAX_API_TOKEN_DAYS}")));
    }
    store
        .create_api_token(NewApiToken {
            token_hash: tokens::hash(&token),
            name,
            tenant_id: spec.tenant.map(str::to_string),
            scope: spec.scope.as_str().to_string(),
            created_at: timestamp::now(),
            expires_at: spec.ttl_days.map(|d| timestamp::in_hours(i64::from(d) * 24)),
        })
        .await?;
    Ok(token)
}

/// `api-token revoke ID`.
pub async fn revoke_api_token(store: &dyn Store, id: &str) -> Result<(), AdminError> {
    if store.revoke_api_token(id, &timestamp::now()).await? {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!("no API token with id {id:?}; `api-token list` shows the ids")))
    }
}

/// `enroll-token revoke ID`.
pub async fn revoke_enroll_token(store: &dyn Store, id: &str) -> Result<(), AdminError> {
    if store.revoke_enroll_token(id, &timestamp::now()).await? {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!("no enrollment token with id {id:?}; `enroll-token list` shows the ids")))
    }
}

/// `api-token list` as a table; `now` decides what has expired.
pub fn api_token_table(list: &[ApiTokenRecord], now: &str) -> String {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut rows = vec![["ID", "NAME", "TENANT", "SCOPE", "CREATED", "EXPIRES", "LAST USED", "STATUS"].map(String::from).to_vec()];
    for t in list {
        let status = if t.revoked_at.is_some() {
            "revoked"
        } else if t.expires_at.as_deref().is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        };
        rows.push(vec![
            t.id.clone(),
            t.name.clone(),
            t.tenant_id.clone().unwrap_or_else(|| "(all)".into()),
            t.scope.clone(),
            t.created_at.clone(),
            t.expires_at.clone().unwrap_or_else(|| "never".into()),
            dash(&t.last_used_at),
            status.to_string(),
        ]);
    }
    table(&rows)
}

/// `enroll-token list` as a table: single-use tokens and fleet secrets
/// (KIND `fleet`, SITE `(any)`, with their count of uses).
pub fn enroll_token_table(list: &[EnrollTokenRecord], now: &str) -> String {
    let mut rows = vec![["ID", "KIND", "TENANT", "SITE", "CREATED", "EXPIRES", "USES", "STATUS"].map(String::from).to_vec()];
    for t in list {
        let status = match (&t.revoked_at, &t.used_by) {
            (Some(_), _) => "revoked".to_string(),
            (None, Some(agent)) => format!("used by {agent}"),
            (None, None) if t.expires_at.as_str() <= now => "expired".to_string(),
            (None, None) if t.reusable => match &t.last_used_at {
                Some(at) => format!("active, last used {at}"),
                None => "active".to_string(),
            },
            (None, None) => "unused".to_string(),
        };
        let uses = if t.reusable { t.uses } else { i64::from(t.used_by.is_some()) };
        rows.push(vec![
            t.id.clone(),
            if t.reusable { "fleet" } else { "single" }.to_string(),
            t.tenant_id.clone(),
            if t.reusable { "(any)".to_string() } else { t.site_id.clone() },
            t.created_at.clone(),
            t.expires_at.clone(),
            uses.to_string(),
            status,
        ]);
    }
    table(&rows)
}

/// `agent revoke AGENT_ID`.
pub async fn revoke_agent(store: &dyn Store, id: &str) -> Result<(), AdminError> {
    if store.revoke_agent(id, &timestamp::now()).await? {
        Ok(())
    } else {
        Err(StoreError::UnknownAgent(id.to_string()).into())
    }
}

/// `agent list [--tenant T]`. A tenant that does not exist is an error: an
/// empty list would read as "no agents yet" for a mistyped id.
pub async fn list_agents(store: &dyn Store, tenant: Option<&str>) -> Result<Vec<AgentRecord>, AdminError> {
    if let Some(t) = tenant {
        if store.tenant(t).await?.is_none() {
            return Err(AdminError::Invalid(format!(
                "no tenant {t:?}; `plumbline-collector tenant list` shows the tenants there are"
            )));
        }
    }
    Ok(store.agents(tenant).await?)
}

/// `agent list` as a table.
pub fn agent_table(agents: &[AgentRecord]) -> String {
    let mut rows =
        vec![["AGENT", "TENANT", "SITE", "HOST", "ENROLLED", "LAST SEQ", "MISSING", "LAST SEEN", "STATUS"].map(String::from).to_vec()];
    for a in agents {
        rows.push(vec![
            a.id.clone(),
            a.tenant_id.clone(),
            a.site_id.clone(),
            a.hostname.clone(),
            a.enrolled_at.clone(),
            a.last_sequence.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            a.missing_batches.to_string(),
            a.last_seen_at.clone().unwrap_or_else(|| "-".into()),
            if a.revoked_at.is_some() { "revoked" } else { "active" }.to_string(),
        ]);
    }
    table(&rows)
}

/// Rows as aligned columns, the first row the header.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
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
