//! `enroll-token create | list | revoke` and `api-token create | list | revoke`.

use super::Db;
use anyhow::{bail, Result};
use clap::Subcommand;
use plumbline_collector::admin::{self, ApiTokenSpec, TokenScope};
use plumbline_collector::timestamp;

/// Enrollment token commands.
#[derive(Subcommand)]
pub enum EnrollTokenCommand {
    /// Create a single-use token for a site, or with --reusable a tenant's
    /// fleet secret; prints it (only this once).
    Create {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The site the agent runs at.
        #[arg(long, required_unless_present = "reusable", conflicts_with = "reusable")]
        site: Option<String>,
        /// A fleet secret: enrolls any number of the tenant's agents (each
        /// with its own key, at the site it names) until it expires or is
        /// revoked. Keep it in the RMM's secret variables.
        #[arg(long)]
        reusable: bool,
        /// Hours until it expires.
        #[arg(long, default_value_t = 72)]
        ttl_hours: u32,
        #[command(flatten)]
        db: Db,
    },
    /// List enrollment tokens and fleet secrets (ids, never the secrets):
    /// kind, uses, expiry, unused, used, expired, revoked.
    List {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        db: Db,
    },
    /// Revoke an enrollment token or fleet secret by its id (from
    /// `enroll-token list`); agents it enrolled stay enrolled.
    Revoke {
        /// The token's id.
        id: String,
        #[command(flatten)]
        db: Db,
    },
}

/// API token commands.
#[derive(Subcommand)]
pub enum ApiTokenCommand {
    /// Create an API token; prints it (only this once).
    Create {
        /// Scope it to this tenant.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        tenant: Option<String>,
        /// Let it see every tenant.
        #[arg(long)]
        all: bool,
        /// A name, shown as `updated_by` on annotations.
        #[arg(long)]
        name: Option<String>,
        /// `read` (the register, history, findings) or `write` (also annotations).
        #[arg(long, value_enum, default_value = "read")]
        scope: TokenScope,
        /// Days until it stops working.
        #[arg(long, default_value_t = 365, conflicts_with = "no_expiry")]
        ttl_days: u32,
        /// Never expire (rotate it by hand).
        #[arg(long)]
        no_expiry: bool,
        #[command(flatten)]
        db: Db,
    },
    /// List API tokens (ids, never the tokens): scope, expiry, last use, status.
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Revoke an API token by its id (from `api-token list`); it stops working at once.
    Revoke {
        /// The token's id.
        id: String,
        #[command(flatten)]
        db: Db,
    },
}

/// `enroll-token ...`.
pub async fn enroll_token(command: EnrollTokenCommand) -> Result<()> {
    match command {
        EnrollTokenCommand::Create { tenant, site, reusable, ttl_hours, db } => {
            let store = db.open().await?;
            match (site, reusable) {
                (Some(site), false) => {
                    let issued = admin::create_enroll_token(store.as_ref(), &tenant, &site, ttl_hours).await?;
                    eprintln!("single-use enrollment token for tenant {tenant} site {site}, expires {}:", issued.expires_at);
                    println!("{}", issued.token);
                }
                (None, true) => {
                    let issued = admin::create_fleet_secret(store.as_ref(), &tenant, ttl_hours).await?;
                    eprintln!(
                        "fleet enrollment secret for tenant {tenant}, expires {} (shown only this once): it enrolls any \
                         number of agents, each at the site it names (SITE=...); `enroll-token revoke ID` stops it",
                        issued.expires_at
                    );
                    println!("{}", issued.token);
                }
                _ => bail!("give either --site S (a single-use token) or --reusable (a tenant's fleet secret)"),
            }
        }
        EnrollTokenCommand::List { tenant, db } => {
            let store = db.open().await?;
            let list = store.enroll_tokens(tenant.as_deref()).await?;
            print!("{}", admin::enroll_token_table(&list, &timestamp::now()));
        }
        EnrollTokenCommand::Revoke { id, db } => {
            let store = db.open().await?;
            admin::revoke_enroll_token(store.as_ref(), &id).await?;
            eprintln!("enrollment token {id} revoked; it can no longer enroll an agent (those it enrolled stay enrolled)");
        }
    }
    Ok(())
}

/// `api-token ...`.
pub async fn api_token(command: ApiTokenCommand) -> Result<()> {
    match command {
        ApiTokenCommand::Create { tenant, all, name, scope, ttl_days, no_expiry, db } => {
            if all == tenant.is_some() {
                bail!("give either --tenant T or --all");
            }
            let store = db.open().await?;
            let spec = ApiTokenSpec {
                tenant: tenant.as_deref(),
                name: name.as_deref(),
                scope,
                ttl_days: (!no_expiry).then_some(ttl_days),
            };
            let token = admin::issue_api_token(store.as_ref(), &spec).await?;
            let expiry = if no_expiry { "never expires".to_string() } else { format!("expires in {ttl_days} days") };
            eprintln!(
                "{} API token for {}, {expiry} (shown only this once):",
                scope.as_str(),
                tenant.as_deref().unwrap_or("every tenant")
            );
            println!("{token}");
        }
        ApiTokenCommand::List { db } => {
            let store = db.open().await?;
            print!("{}", admin::api_token_table(&store.api_tokens().await?, &timestamp::now()));
        }
        ApiTokenCommand::Revoke { id, db } => {
            let store = db.open().await?;
            admin::revoke_api_token(store.as_ref(), &id).await?;
            eprintln!("API token {id} revoked; it stops working at once");
        }
    }
    Ok(())
}
