//! `serve`: the API and the console on one listener.

use super::Db;
use anyhow::{Context, Result};
use clap::Args;
use plumbline_collector::accounts::sessions::SessionPolicy;
use plumbline_collector::console::{ConsoleConfig, DEFAULT_SILENT_AFTER_HOURS};
use plumbline_collector::{api, serve, tls};
use std::net::SocketAddr;
use std::path::PathBuf;

/// What `serve` takes.
#[derive(Args)]
pub struct ServeArgs {
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
    /// Serve plain HTTP (behind a TLS-terminating proxy, or for tests); the
    /// console's cookie then goes without `Secure`.
    #[arg(long)]
    insecure_http: bool,
    #[command(flatten)]
    brand: super::report::BrandArgs,
    /// Minutes without a request before a console session ends.
    #[arg(long, default_value_t = plumbline_collector::accounts::sessions::DEFAULT_IDLE_MINUTES)]
    session_idle_minutes: i64,
    /// Hours without a delivery before the fleet page flags an agent silent.
    #[arg(long, default_value_t = DEFAULT_SILENT_AFTER_HOURS)]
    silent_after_hours: i64,
}

/// `serve`.
pub async fn exec(args: ServeArgs) -> Result<()> {
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
        eprintln!(
            "agents trust a certificate from a public CA by themselves; for one from a private CA, give each agent \
             that CA's certificate in [delivery] collector_ca_file"
        );
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
        eprintln!("TLS certificate sha256 fingerprint: {}", pair.fingerprint);
        // The agent has no fingerprint pin: it trusts what collector_ca_file holds.
        eprintln!(
            "agents do not trust a self-signed certificate by themselves: copy {} to each agent and name the copy \
             in its config's [delivery] collector_ca_file (check the copy against the fingerprint above)",
            pair.cert.display()
        );
        Some(tls::load(&pair.cert, &pair.key)?)
    };
    if args.session_idle_minutes < 1 {
        anyhow::bail!("--session-idle-minutes must be at least 1");
    }
    let brand = args.brand.brand()?;
    let console = ConsoleConfig {
        secure_cookies: !args.insecure_http,
        sessions: SessionPolicy { idle_minutes: args.session_idle_minutes, ..SessionPolicy::default() },
        silent_after_hours: args.silent_after_hours,
        msp_name: brand.msp_name.clone(),
        brand,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server =
        serve::Server::bind(args.listen, tls).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = server.local_addr()?;
    // Before "listening": whoever waits for that line may stop us at once.
    let shutdown = serve::shutdown_signal();
    eprintln!("plumbline-collector listening on {scheme}://{addr} ({} database); console at {scheme}://{addr}/", store.backend());
    let state = api::AppState::new(store).with_console(console);
    server.run(api::app(state), shutdown).await.context("serving")?;
    eprintln!("plumbline-collector stopped");
    Ok(())
}
