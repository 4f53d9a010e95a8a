//! `plumbline-collector`: serve the collector, and the admin commands. This
//! file only parses and dispatches; each command group lives in `cli/`.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "plumbline-collector",
    version,
    about = "The Plumbline collector: signed scan batches in, each tenant's connector register out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a new collector: create its database (only this and `serve` may).
    Init {
        #[command(flatten)]
        db: cli::Db,
    },
    /// Serve the API and the console (HTTPS; plain HTTP only with --insecure-http).
    Serve(cli::serve::ServeArgs),
    /// Tenants.
    #[command(subcommand)]
    Tenant(cli::tenant::TenantCommand),
    /// Single-use enrollment tokens for agents.
    #[command(subcommand, name = "enroll-token")]
    EnrollToken(cli::tokens::EnrollTokenCommand),
    /// Enrolled agents.
    #[command(subcommand)]
    Agent(cli::agent::AgentCommand),
    /// Bearer tokens for the read API.
    #[command(subcommand, name = "api-token")]
    ApiToken(cli::tokens::ApiTokenCommand),
    /// Console accounts.
    #[command(subcommand)]
    User(cli::user::UserCommand),
    /// Agent releases published for self-update.
    #[command(subcommand)]
    Release(cli::release::ReleaseCommand),
    /// Prune envelopes and history past [retention] in the config file.
    #[command(subcommand)]
    Retention(cli::retention::RetentionCommand),
    /// Write a tenant's QBR report (HTML, or PDF through headless Chromium).
    Report(cli::report::ReportArgs),
    /// The policy files agents are sent: check them, or show a tenant's.
    #[command(subcommand)]
    Policy(cli::policy::PolicyCommand),
}

fn main() -> ExitCode {
    let parsed = Cli::parse();
    // `serve` logs each request it answers; the admin commands only trouble.
    plumbline_protocol::logging::init(if matches!(parsed.command, Command::Serve(_)) { "info" } else { "warn" });
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!(
                "plumbline-collector: error: cannot start the async runtime: {e}; check the process limits (threads)"
            );
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async {
        match parsed.command {
            Command::Init { db } => cli::init::exec(db).await,
            Command::Serve(args) => cli::serve::exec(args).await,
            Command::Tenant(c) => cli::tenant::exec(c).await,
            Command::EnrollToken(c) => cli::tokens::enroll_token(c).await,
            Command::Agent(c) => cli::agent::exec(c).await,
            Command::ApiToken(c) => cli::tokens::api_token(c).await,
            Command::User(c) => cli::user::exec(c).await,
            Command::Report(args) => cli::report::exec(args).await,
            Command::Retention(c) => cli::retention::exec(c).await,
            Command::Release(c) => cli::release::exec(c),
            Command::Policy(c) => cli::policy::exec(c).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plumbline-collector: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cli_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
