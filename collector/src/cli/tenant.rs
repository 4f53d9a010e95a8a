//! `tenant add|list|group|delete`.

use super::Db;
use anyhow::{Context, Result};
use clap::Subcommand;
use plumbline_collector::store::StoreError;
use plumbline_collector::{admin, policy};

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
    /// Off-board a tenant: delete its agents, tokens and fleet secrets,
    /// batches, register, history, findings, annotations, audit, alerts,
    /// console user links and policy file. It cannot be undone.
    Delete {
        /// The tenant.
        id: String,
        /// The tenant's id again, to confirm.
        #[arg(long, value_name = "ID")]
        confirm: String,
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
        TenantCommand::Delete { id, confirm, db } => delete(&id, &confirm, &db).await?,
    }
    Ok(())
}

/// `tenant delete`.
async fn delete(id: &str, confirm: &str, db: &Db) -> Result<()> {
    if confirm != id {
        anyhow::bail!(
            "--confirm {confirm:?} is not the tenant {id:?}: to delete {id} and all its data, which cannot be undone, \
             give its id twice: `tenant delete {id} --confirm {id}`"
        );
    }
    let site = db.site()?;
    let store = site.open().await?;
    let deleted = match store.delete_tenant(id).await {
        Err(StoreError::UnknownTenant(_)) => {
            anyhow::bail!("there is no tenant {id:?} in {}: `plumbline-collector tenant list` shows them", site.shown())
        }
        other => other?,
    };
    let total: u64 = deleted.iter().map(|(_, n)| n).sum();
    println!("deleted tenant {id}: {total} row(s)");
    for (table, n) in deleted.iter().filter(|(_, n)| *n > 0) {
        println!("  {table:<18} {n:>8}");
    }
    let policy_dir = policy::policy_dir(&site.dir);
    if let Some(file) = policy::tenant_file(&policy_dir, id).filter(|f| f.exists()) {
        std::fs::remove_file(&file).with_context(|| format!("removing the tenant's policy file {}", file.display()))?;
        println!("removed its policy file {}", file.display());
    }
    let groups = policy_dir.join("tenant-groups.toml");
    let named = std::fs::read_to_string(&groups)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .is_some_and(|t| t.contains_key(id));
    if named {
        println!("{} still puts {id} in a group: remove that line", groups.display());
    }
    Ok(())
}
