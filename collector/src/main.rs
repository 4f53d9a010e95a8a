//! `plumbline-collector`: serve the collector, and the admin commands.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use plumbline_collector::store::{self, Store};
use plumbline_collector::{admin, api, data_dir, serve, tls};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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

#[derive(Args, Clone)]
struct Db {
    /// `sqlite:PATH` or `postgres://...` [default: an SQLite file in the data dir]
    #[arg(long, env = "PLUMBLINE_COLLECTOR_DATABASE")]
    database: Option<String>,
    /// Where the default database and the self-signed certificate live
    /// [default: /var/lib/plumbline-collector as root, else the XDG data dir]
    #[arg(long, env = "PLUMBLINE_COLLECTOR_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

impl Db {
    fn dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(data_dir::default_dir)
    }

    async fn open(&self) -> Result<Arc<dyn Store>> {
        let url = match &self.database {
            Some(url) if !url.trim().is_empty() => url.trim().to_string(),
            _ => format!("sqlite:{}", self.dir().join("collector.db").display()),
        };
        store::open(&url).await.with_context(|| format!("opening the database {}", redact(&url)))
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (HTTPS; plain HTTP only with --insecure-http).
    Serve(ServeArgs),
    /// Tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Single-use enrollment tokens for agents.
    #[command(subcommand, name = "enroll-token")]
    EnrollToken(EnrollTokenCommand),
    /// Enrolled agents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Bearer tokens for the read API.
    #[command(subcommand, name = "api-token")]
    ApiToken(ApiTokenCommand),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    #[command(flatten)]
    db: Db,
    /// TLS certificate chain, PEM [default: a self-signed one made in the data dir]
    #[arg(long, requires = "tls_key", conflicts_with = "insecure_http")]
    tls_cert: Option<PathBuf>,
    /// TLS private key, PEM.
    #[arg(long, requires = "tls_cert", conflicts_with = "insecure_http")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP (behind a TLS-terminating proxy, or for tests).
    #[arg(long)]
    insecure_http: bool,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Add a tenant.
    Add {
        /// Tenant id (letters, digits, '.', '_', '-').
        id: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
enum EnrollTokenCommand {
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

#[derive(Subcommand)]
enum AgentCommand {
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

#[derive(Subcommand)]
enum ApiTokenCommand {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve(args) => serve_command(args).await,
        Command::Tenant(TenantCommand::Add { id, name, db }) => {
            let store = db.open().await?;
            let t = admin::add_tenant(store.as_ref(), &id, name.as_deref()).await?;
            println!("added tenant {} ({})", t.id, t.name);
            Ok(())
        }
        Command::EnrollToken(EnrollTokenCommand::Create { tenant, site, ttl_hours, db }) => {
            let store = db.open().await?;
            let issued = admin::create_enroll_token(store.as_ref(), &tenant, &site, ttl_hours).await?;
            eprintln!("single-use enrollment token for tenant {tenant} site {site}, expires {}:", issued.expires_at);
            println!("{}", issued.token);
            Ok(())
        }
        Command::Agent(AgentCommand::List { tenant, db }) => {
            let store = db.open().await?;
            let agents = store.agents(tenant.as_deref()).await?;
            print!("{}", admin::agent_table(&agents));
            Ok(())
        }
        Command::Agent(AgentCommand::Revoke { agent_id, db }) => {
            let store = db.open().await?;
            admin::revoke_agent(store.as_ref(), &agent_id).await?;
            println!("revoked {agent_id}");
            Ok(())
        }
        Command::ApiToken(ApiTokenCommand::Create { tenant, all, name, db }) => {
            if all == tenant.is_some() {
                bail!("give either --tenant T or --all");
            }
            let store = db.open().await?;
            let token = admin::create_api_token(store.as_ref(), tenant.as_deref(), name.as_deref()).await?;
            eprintln!("API token for {} (shown only this once):", tenant.as_deref().unwrap_or("every tenant"));
            println!("{token}");
            Ok(())
        }
    }
}

async fn serve_command(args: ServeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let store = args.db.open().await?;
    let tls = if args.insecure_http {
        if !args.listen.ip().is_loopback() {
            tracing::warn!("serving plain HTTP on {}: put a TLS-terminating proxy in front", args.listen);
        }
        None
    } else if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let config = tls::load(cert, key).context("loading the TLS certificate and key")?;
        let fingerprint =
            tls::pem_fingerprint(&std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?)?;
        eprintln!("TLS certificate sha256 fingerprint: {fingerprint}");
        Some(config)
    } else {
        let dir = args.db.dir();
        let pair =
            tls::ensure_self_signed(&dir).with_context(|| format!("self-signed certificate in {}", dir.display()))?;
        eprintln!(
            "{} self-signed TLS certificate {}",
            if pair.created { "generated" } else { "using" },
            pair.cert.display()
        );
        eprintln!("TLS certificate sha256 fingerprint: {} (pin this in the agents)", pair.fingerprint);
        Some(tls::load(&pair.cert, &pair.key)?)
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server =
        serve::Server::bind(args.listen, tls).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = server.local_addr()?;
    eprintln!("plumbline-collector listening on {scheme}://{addr} ({} database)", store.backend());
    server.run(api::app(api::AppState::new(store)), serve::shutdown_signal()).await.context("serving")?;
    eprintln!("plumbline-collector stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(super::redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(super::redact("sqlite:/x/y.db"), "sqlite:/x/y.db");
    }

    #[test]
    fn the_cli_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
