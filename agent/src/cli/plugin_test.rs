//! `plumbline plugin test FILE --record DIR | --replay DIR`: run one plugin
//! for real and keep every answer it got, or run it again from those
//! answers with no tenant, network or files, and print its report as
//! `plumbline scan` does.

use super::exit::Exit;
use super::scan::{print_scan, scan_exit, Print};
use anyhow::{bail, Context, Result};
use plumbline_agent::capabilities::tape::{scrub, CredentialText, GrantsText, Header, Tape, MAX_ENTRIES, TAPE_VERSION};
use plumbline_agent::capabilities::Network;
use plumbline_agent::config::{Config, Resolved};
use plumbline_agent::output::Format;
use plumbline_agent::runtime::{trust::TrustPolicy, Runtime};
use plumbline_agent::service::stop::Stop;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `plugin test` takes.
#[derive(clap::Args)]
pub struct TestArgs {
    /// The component file.
    file: PathBuf,
    /// Run it for real (its section in --config: settings, grants,
    /// credentials, endpoints) and write every answer it got into DIR,
    /// secrets removed.
    #[arg(long, value_name = "DIR", conflicts_with = "replay", required_unless_present = "replay")]
    record: Option<PathBuf>,
    /// Answer its calls from the recording in DIR instead of the network
    /// and the file system; its grants still apply.
    #[arg(long, value_name = "DIR")]
    replay: Option<PathBuf>,
    /// Agent config holding the plugin's section; needed to record. A
    /// replay without it uses the settings and grants the recording kept.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// `plumbline plugin test`.
pub async fn exec(args: TestArgs) -> Result<Exit> {
    let file = std::path::absolute(&args.file).with_context(|| format!("resolving {}", args.file.display()))?;
    let given = args.config.as_deref().map(Config::load).transpose()?;
    let cache = given.as_ref().map_or_else(|| std::env::temp_dir().join(REPLAY_CACHE), |c| c.cache_dir.clone());
    let name = plugin_name(&file, &cache).await?;
    let print = Print::new(args.format, false);
    match (&args.record, &args.replay) {
        (Some(dir), _) => {
            let Some(config) = given else {
                bail!("--record runs the plugin for real, so it needs --config with a [plugins.{name}] section (its settings, grants and credentials)");
            };
            let config = only(config, &name, &file)?;
            let tape = Arc::new(Tape::record());
            let started_ms = plumbline_agent::platform::clock::now_ms();
            let result = run(&config, &tape, started_ms).await?;
            let entries = tape.recorded();
            if tape.calls() > MAX_ENTRIES {
                bail!("the plugin made over {MAX_ENTRIES} calls; a recording keeps at most that many, so none was written");
            }
            let version = result.plugins.first().and_then(|p| p.version.clone()).unwrap_or_default();
            header(&config, &name, &version, started_ms).write(dir, &entries)?;
            print_scan(&result, print)?;
            eprintln!("recorded {} calls in {} files into {}", tape.calls(), entries.len(), dir.display());
            Ok(scan_exit(&config, &[], &result, None))
        }
        (None, Some(dir)) => {
            let (header, entries) = Header::read(dir)?;
            if header.plugin != name {
                bail!("{} was recorded for plugin `{}`, but {} is `{name}`; replay it with that plugin", dir.display(), header.plugin, file.display());
            }
            let config = match given {
                Some(c) => c,
                None => config_of(&header, &file, dir, &cache)?,
            };
            let config = only(config, &name, &file)?;
            let tape = Arc::new(Tape::replay(entries));
            let result = run(&config, &tape, header.started_at_ms).await?;
            print_scan(&result, print)?;
            let misses = tape.misses();
            for m in &misses {
                eprintln!("plumbline: error: {m}");
            }
            let mut exit = scan_exit(&config, &[], &result, None);
            if !misses.is_empty() {
                eprintln!(
                    "plumbline: the plugin made {} call(s) {} has no answer for. If you changed the plugin on purpose, record again: \
                     plumbline plugin test {} --config CONFIG --record {}",
                    misses.len(),
                    dir.display(),
                    file.display(),
                    dir.display()
                );
                exit = exit.and(Exit::PluginFailed);
            }
            Ok(exit)
        }
        (None, None) => bail!("say --record DIR or --replay DIR"),
    }
}

/// The plugin's name, as the component says.
async fn plugin_name(file: &Path, cache: &Path) -> Result<String> {
    let empty: Config = toml::from_str("tenant_id = \"-\"\nsite_id = \"-\"")?;
    let runtime = Runtime::new(Some(cache), Arc::new(Network::from_config(&empty)?))?;
    let loaded = runtime.load(file, &TrustPolicy::inspect_only())?;
    Ok(runtime.describe(&loaded).await?.name)
}

/// `config` with only `name`'s section, pointing at `file`.
fn only(mut config: Resolved, name: &str, file: &Path) -> Result<Resolved> {
    let Some(mut section) = config.config.plugins.remove(name) else {
        bail!("{} has no [plugins.{name}] section; add one with the plugin's settings and grants", config.source.display());
    };
    section.path = Some(file.to_path_buf());
    section.enabled = true;
    config.config.plugins = BTreeMap::from([(name.to_string(), section)]);
    Ok(config)
}

async fn run(config: &Resolved, tape: &Arc<Tape>, started_ms: u64) -> Result<plumbline_agent::register::ScanResult> {
    let mut net = Network::from_config(&config.config).context("starting the plugin's network")?;
    net.tape = Some(tape.clone());
    let runtime = Runtime::new(Some(&config.cache_dir), Arc::new(net)).context("starting the plugin runtime")?;
    Ok(plumbline_agent::scan::run_at(config, &runtime, None, &Stop::never(), started_ms).await)
}

/// What a replay needs from the config, without a secret.
fn header(config: &Resolved, name: &str, version: &str, started_ms: u64) -> Header {
    let section = &config.config.plugins[name];
    let g = &section.grants;
    let credentials = g
        .credentials
        .iter()
        .filter_map(|c| config.config.credentials.get(c).map(|p| (c, p)))
        .map(|(c, p)| {
            (c.clone(), CredentialText { client_id: p.client_id.clone(), scope: p.scope.clone(), audience: p.audience.clone() })
        })
        .collect();
    Header {
        format: "plumbline-tape".into(),
        version: TAPE_VERSION,
        plugin: name.to_string(),
        plugin_version: version.to_string(),
        tenant_id: config.config.tenant_id.clone(),
        site_id: config.config.site_id.clone(),
        started_at_ms: started_ms,
        settings: config.settings(name).into_iter().map(|(k, v)| (k.clone(), scrub::header(&k, &v))).collect(),
        grants: GrantsText {
            http: g.http.clone(),
            tcp: g.tcp.clone(),
            files: g.files.iter().map(|f| f.display().to_string()).collect(),
            credentials: g.credentials.clone(),
        },
        credentials,
    }
}

/// Compiled components of a replay given no config, under the temp dir.
const REPLAY_CACHE: &str = "plumbline-plugin-test-cache";

/// Environment variable named as the secret of a replay's credential
/// profiles: a replay sends no request, so it never asks for a token.
const NO_SECRET_ENV: &str = "PLUMBLINE_REPLAY_HAS_NO_SECRET";

/// The config a replay runs with when none is given: the recording's
/// tenant, settings, grants and credential profiles (without secrets).
fn config_of(header: &Header, file: &Path, dir: &Path, cache: &Path) -> Result<Resolved> {
    let strings = |v: &[String]| toml::Value::Array(v.iter().map(|s| toml::Value::String(s.clone())).collect());
    let grants = toml::Table::from_iter([
        ("http".to_string(), strings(&header.grants.http)),
        ("tcp".to_string(), strings(&header.grants.tcp)),
        ("files".to_string(), strings(&header.grants.files)),
        ("credentials".to_string(), strings(&header.grants.credentials)),
    ]);
    let settings: toml::Table = header.settings.iter().map(|(k, v)| (k.clone(), toml::Value::String(v.clone()))).collect();
    let section = toml::Table::from_iter([
        ("path".to_string(), toml::Value::String(file.display().to_string())),
        ("allow_unsigned".to_string(), toml::Value::Boolean(true)),
        ("grants".to_string(), toml::Value::Table(grants)),
        ("settings".to_string(), toml::Value::Table(settings)),
    ]);
    let credentials: toml::Table = header
        .credentials
        .iter()
        .map(|(name, c)| {
            let profile = toml::Table::from_iter([
                ("client_id".to_string(), toml::Value::String(c.client_id.clone())),
                ("scope".to_string(), toml::Value::String(c.scope.clone())),
                ("audience".to_string(), strings(&c.audience)),
                ("client_secret_env".to_string(), toml::Value::String(NO_SECRET_ENV.into())),
            ]);
            (name.clone(), toml::Value::Table(profile))
        })
        .collect();
    let root = toml::Table::from_iter([
        ("tenant_id".to_string(), toml::Value::String(header.tenant_id.clone())),
        ("site_id".to_string(), toml::Value::String(header.site_id.clone())),
        ("cache_dir".to_string(), toml::Value::String(cache.display().to_string())),
        ("plugins".to_string(), toml::Value::Table(toml::Table::from_iter([(header.plugin.clone(), toml::Value::Table(section))]))),
        ("credentials".to_string(), toml::Value::Table(credentials)),
    ]);
    let text = toml::to_string(&root).context("writing the replay's config")?;
    let source = std::path::absolute(dir.join(plumbline_agent::capabilities::tape::HEADER_FILE))?;
    Config::parse(&text, &source).with_context(|| format!("the settings and grants in {}", source.display()))
}
