//! `agent list|revoke`.

use super::Db;
use anyhow::Result;
use clap::Subcommand;
use plumbline_collector::admin;

/// Agent commands.
#[derive(Subcommand)]
pub enum AgentCommand {
    /// List enrolled agents.
    List {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        db: Db,
    },
    /// Revoke an agent: its batches are refused from now on.
    Revoke {
        /// The agent id (agt_...).
        agent_id: String,
        #[command(flatten)]
        db: Db,
    },
}

/// Run one agent command.
pub async fn exec(command: AgentCommand) -> Result<()> {
    match command {
        AgentCommand::List { tenant, db } => {
            let store = db.open().await?;
            let agents = admin::list_agents(store.as_ref(), tenant.as_deref()).await?;
            print!("{}", admin::agent_table(&agents));
        }
        AgentCommand::Revoke { agent_id, db } => {
            let store = db.open().await?;
            admin::revoke_agent(store.as_ref(), &agent_id).await?;
            println!("revoked {agent_id}");
        }
    }
    Ok(())
}
