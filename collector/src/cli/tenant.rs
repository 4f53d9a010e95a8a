//! `tenant add|list|group`.

use super::Db;
use anyhow::Result;
use clap::Subcommand;
use plumbline_collector::admin;

/// Tenant commands.
#[derive(Subcommand)]
pub enum TenantCommand {
    /// Add a tenant: its Entra tenant id (the `tenant_id` in its agents'
    /// configs), with its name beside it.
    Add {
        /// The client's Entra tenant id, a GUID (with --no-entra: any of
        /// letters, digits, '.', '_', '-').
        id: String,
        /// Display name, as the console and the reports show it.
        #[arg(long)]
        name: Option<String>,
        /// The client has no Microsoft 365 tenant (only on-site relays):
        /// take ID as it is.
        #[arg(long)]
        no_entra: bool,
        /// Put it in these groups (e.g. "contract customers"); repeatable.
        #[arg(long = "group")]
        groups: Vec<String>,
        #[command(flatten)]
        db: Db,
    },
    /// List tenants with their groups.
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Put a tenant in a group (the console's fleet filters by group).
    Group {
        /// The tenant.
        id: String,
        /// The group.
        group: String,
        #[command(flatten)]
        db: Db,
    },
}

/// Run one tenant command.
pub async fn exec(command: TenantCommand) -> Result<()> {
    match command {
        TenantCommand::Add { id, name, no_entra, groups, db } => {
            let id = if no_entra { id } else { admin::entra_tenant_id(&id)? };
            let store = db.open().await?;
            let t = admin::add_tenant(store.as_ref(), &id, name.as_deref()).await?;
            for g in &groups {
                store.add_tenant_group(&t.id, g.trim()).await?;
            }
            println!("added tenant {} ({})", t.id, t.name);
        }
        TenantCommand::List { db } => {
            let store = db.open().await?;
            let fleet = store.fleet(None, &plumbline_collector::timestamp::today()).await?;
            println!("{:<40} {:<32} GROUPS", "ID", "NAME");
            for t in fleet {
                println!("{:<40} {:<32} {}", t.id, t.name, t.groups.join(", "));
            }
        }
        TenantCommand::Group { id, group, db } => {
            let store = db.open().await?;
            store.add_tenant_group(&id, group.trim()).await?;
            println!("tenant {id} is in group {:?}", group.trim());
        }
    }
    Ok(())
}
