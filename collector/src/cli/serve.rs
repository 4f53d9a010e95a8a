//! `serve`: the API and the console on one listener.

use super::Db;
use anyhow::{Context, Result};
use clap::Args;
use plumbline_collector::accounts::sessions::SessionPolicy;
use plumbline_collector::console::{ConsoleConfig, DEFAULT_SILENT_AFTER_HOURS};
use plumbline_collector::{api, serve, tls};
use plumbline_collector::alerts::config::ProcessEnvironment;
use plumbline_collector::alerts::dispatch::Dispatcher;
use plumbline_collector::alerts::live::LiveRules;
use plumbline_collector::config::ConfigFile;
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

/// The alert rules in force (the config file's, checked against the store,
/// and the console's), and the dispatcher that sends them (none without a
/// destination to send to).
async fn alerts(
    config: Option<(&std::path::Path, &ConfigFile)>,
    store: &std::sync::Arc<dyn plumbline_collector::store::Store>,
) -> Result<(LiveRules, Option<Dispatcher>)> {
    let Some((path, file)) = config else { return Ok((LiveRules::default(), None)) };
    let live = LiveRules::load(file.alerts.clone(), std::sync::Arc::new(ProcessEnvironment), store.as_ref())
        .await
        .with_context(|| format!("in {}", path.display()))?;
    let rules = live.current();
    if rules.destinations.is_empty() {
        return Ok((live, None));
    }
    let ca = match &file.alerts.ca_file {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("reading [alerts] ca_file {}", p.display()))?),
        None => None,
    };
    let dispatcher = Dispatcher::new(store.clone(), rules.clone(), ca.as_deref(), file.console_url.clone())?.following(live.clone());
    for d in &rules.destinations {
        eprintln!("alerts: destination {} ({:?}) {}", d.name, d.kind, d.fingerprint());
    }
    eprintln!("alerts: {} rule(s) from {} and the console", rules.rules.len(), path.display());
    Ok((live, Some(dispatcher)))
}

/// `serve`.
pub async fn exec(args: ServeArgs) -> Result<()> {
    let site = args.db.site()?;
    // `serve` may start a new collector; every other command needs one.
    let store = site.create().await?;
    let file = site.file();
    let (rules, dispatcher) = alerts(file, &store).await?;
    let proxies = match file {
        // Checked when the file was parsed.
        Some((_, f)) => f.proxies().map_err(anyhow::Error::msg)?,
        None => Default::default(),
    };
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
             that CA's certificate in [delivery] collector_ca_file, or pin this one with [delivery] collector_pin = \
             \"sha256:{fingerprint}\""
        );
        Some(config)
    } else {
        let dir = &site.dir;
        let pair =
            tls::ensure_self_signed(dir).with_context(|| format!("self-signed certificate in {}", dir.display()))?;
        eprintln!(
            "{} self-signed TLS certificate {}",
            if pair.created { "generated" } else { "using" },
            pair.cert.display()
        );
        eprintln!("TLS certificate sha256 fingerprint: {}", pair.fingerprint);
        eprintln!(
            "agents do not trust a self-signed certificate by themselves: set [delivery] collector_pin = \
             \"sha256:{}\" in each agent's config, or copy {} to each agent and name the copy in its config's \
             [delivery] collector_ca_file (check the copy against the fingerprint above)",
            pair.fingerprint,
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
    let (stop_alerts, alerts_stopped) = tokio::sync::oneshot::channel::<()>();
    let dispatching = dispatcher.map(|d| tokio::spawn(d.run(async move { let _ = alerts_stopped.await; })));
    let retention = file.map(|(_, f)| f.retention.clone()).unwrap_or_default();
    let (stop_pruning, pruning_stopped) = tokio::sync::oneshot::channel::<()>();
    let pruning = retention.prunes().then(|| {
        eprintln!(
            "retention: envelopes {}, history {}; pruned every hour",
            retention.envelopes.as_deref().unwrap_or("kept for ever"),
            retention.history.as_deref().unwrap_or("kept for ever")
        );
        tokio::spawn(plumbline_collector::retention::sweep(store.clone(), retention, async move {
            let _ = pruning_stopped.await;
        }))
    });
    let dir = site.dir.clone();
    let releases = plumbline_collector::releases::Releases::in_data_dir(&dir);
    let (signer, made) =
        plumbline_collector::policy::key::ensure(&dir).with_context(|| format!("the policy key in {}", dir.display()))?;
    let policy = plumbline_collector::policy::PolicyService::new(&dir, signer);
    eprintln!(
        "{} policy key {} ({}); policy files in {}, plugins in {}",
        if made { "generated" } else { "using" },
        policy.public_key().key_id(),
        dir.join(plumbline_collector::policy::key::KEY_FILE).display(),
        policy.dir().display(),
        policy.plugin_dir().display()
    );
    let state = api::AppState::new(store)
        .with_console(console)
        .with_live_alerts(rules)
        .with_proxies(proxies)
        .with_policy(std::sync::Arc::new(policy))
        .with_releases(releases);
    server.run(api::app(state), shutdown).await.context("serving")?;
    let _ = stop_alerts.send(());
    let _ = stop_pruning.send(());
    if let Some(task) = pruning {
        // A prune in flight is one transaction: it commits or rolls back.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
    }
    if let Some(task) = dispatching {
        // A send in flight finishes or is retried after the next start.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
    }
    eprintln!("plumbline-collector stopped");
    Ok(())
}
