//! `enroll-token create` and `api-token create`.

use super::Db;
use anyhow::{bail, Result};
use clap::Subcommand;
use plumbline_collector::admin;

/// Enrollment token commands.
#[derive(Subcommand)]
pub enum EnrollTokenCommand {
    /// Create a single-use token; prints it (only this once).
    Create {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The site the agent runs at.
        #[arg(long)]
        site: String,
        /// Hours until it expires.
        #[arg(long, default_value_t = 72)]
        ttl_hours: u32,
        #[command(flatten)]
        db: Db,
    },
}

/// API token commands.
#[derive(Subcommand)]
pub enum ApiTokenCommand {
    /// Create a read API token; prints it (only this once).
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
        #[command(flatten)]
        db: Db,
    },
}

/// `enroll-token ...`.
pub async fn enroll_token(command: EnrollTokenCommand) -> Result<()> {
    let EnrollTokenCommand::Create { tenant, site, ttl_hours, db } = command;
    let store = db.open().await?;
    let issued = admin::create_enroll_token(store.as_ref(), &tenant, &site, ttl_hours).await?;
    eprintln!("single-use enrollment token for tenant {tenant} site {site}, expires {}:", issued.expires_at);
    println!("{}", issued.token);
    Ok(())
}

/// `api-token ...`.
pub async fn api_token(command: ApiTokenCommand) -> Result<()> {
    let ApiTokenCommand::Create { tenant, all, name, db } = command;
    if all == tenant.is_some() {
        bail!("give either --tenant T or --all");
    }
    let store = db.open().await?;
    let token = admin::create_api_token(store.as_ref(), tenant.as_deref(), name.as_deref()).await?;
    eprintln!("API token for {} (shown only this once):", tenant.as_deref().unwrap_or("every tenant"));
    println!("{token}");
    Ok(())
}
