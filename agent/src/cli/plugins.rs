//! `plumbline plugins list|inspect|docs|keygen|sign|new|test` (or `plugin …`):
//! what a plugin is, what it asks for and who signed it; a new one; a test run.

use super::exit::Exit;
use super::config_path;
use anyhow::{Context, Result};
use plumbline_agent::config::Config;
use plumbline_agent::runtime;
use std::path::{Path, PathBuf};

/// The plugin commands.
#[derive(clap::Subcommand)]
pub enum PluginsCommand {
    /// List the plugins in the plugin directory.
    List {
        /// Agent config file; its plugin_dir is listed.
        #[arg(long)]
        config: Option<PathBuf>,
        /// List this directory instead.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Show one plugin's identity, the capabilities it asks for, its
    /// settings and the Microsoft 365 permissions it needs.
    Inspect {
        /// The component file, or the name of a plugin in the config's
        /// plugin folder (`exchange-connectors`).
        plugin: PathBuf,
        /// Agent config file, whose plugin folder a name is looked up in
        /// (default: the platform's config path).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Write the plugins' reference page (settings, permissions,
    /// capabilities) in Markdown, from what each declares.
    Docs {
        /// Agent config file, whose plugin folder is documented.
        #[arg(long, conflicts_with = "dir")]
        config: Option<PathBuf>,
        /// Document this folder instead.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Write here instead of to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Make an Ed25519 publisher key for signing plugins.
    Keygen {
        /// The private key file to create (never overwritten); the public
        /// key goes beside it as FILE.pub.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a component with a publisher key, in a custom section of the
    /// component (an earlier signature is replaced).
    Sign {
        /// The component file.
        file: PathBuf,
        /// The publisher's private key (from `plugin keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Write the signed component here instead of over FILE.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Start a plugin crate from the template: the SDK's `Plugin` trait, a
    /// native test and a README with the wasm build command.
    New(super::plugin_new::NewArgs),
    /// Run one plugin and record every answer it gets (--record), or run it
    /// from such a recording with no tenant, network or files (--replay).
    Test(super::plugin_test::TestArgs),
}

/// Run one plugin command.
pub async fn exec(command: PluginsCommand) -> Result<Exit> {
    match command {
        PluginsCommand::List { config, dir } => list(config, dir).await,
        PluginsCommand::Inspect { plugin, config } => {
            let (file, cache) = plugin_file(plugin, config)?;
            inspect(&file, cache.as_deref()).await
        }
        PluginsCommand::Docs { config, dir, out } => docs(config, dir, out).await,
        PluginsCommand::Keygen { out } => super::plugin_sign::keygen(&out),
        PluginsCommand::Sign { file, key, out } => super::plugin_sign::sign(&file, &key, out.as_deref()),
        PluginsCommand::New(args) => super::plugin_new::exec(args),
        PluginsCommand::Test(args) => super::plugin_test::exec(args).await,
    }
}

/// The components in `--dir`, or in the config's plugin folder, sorted; and
/// the config's compile cache.
fn components(config: Option<PathBuf>, dir: Option<PathBuf>) -> Result<(Vec<PathBuf>, Option<PathBuf>)> {
    let (dir, cache) = match dir {
        Some(d) => (d, None),
        None => {
            let c = Config::load(&config_path(config))?;
            (c.plugin_dir.clone(), Some(c.cache_dir.clone()))
        }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading plugin directory {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    files.sort();
    Ok((files, cache))
}

/// A component file as given, or a plugin's name looked up in the config's
/// plugin folder (and then the config's compile cache).
fn plugin_file(plugin: PathBuf, config: Option<PathBuf>) -> Result<(PathBuf, Option<PathBuf>)> {
    let name = plugin.to_string_lossy().to_string();
    let bare = plugin.components().count() == 1 && plugin.extension().is_none();
    if plugin.exists() || !bare {
        return Ok((plugin, None));
    }
    let c = Config::load(&config_path(config))
        .with_context(|| format!("{name:?} is not a file, so it was looked up as a plugin name in the config's plugin_dir"))?;
    let file = c.plugin_dir.join(format!("{name}.wasm"));
    anyhow::ensure!(
        file.exists(),
        "there is no plugin {name:?}: neither a file here nor {} (`plumbline plugins list` shows what there is)",
        file.display()
    );
    Ok((file, Some(c.cache_dir.clone())))
}

async fn docs(config: Option<PathBuf>, dir: Option<PathBuf>, out: Option<PathBuf>) -> Result<Exit> {
    let (files, cache) = components(config, dir)?;
    let runtime = plugin_runtime(cache.as_deref())?;
    let mut described = Vec::new();
    for f in &files {
        let (d, _) = describe(&runtime, f).await.with_context(|| format!("describing {}", f.display()))?;
        described.push(d);
    }
    let page = plumbline_agent::plugin_docs::markdown(&described);
    match out {
        Some(path) => {
            let page = match std::fs::read_to_string(&path) {
                Ok(old) => plumbline_agent::plugin_docs::keeping_hand_written(&page, &old),
                Err(_) => page,
            };
            std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} ({} plugins)", path.display(), described.len());
        }
        None => outln!("{}", page.trim_end())?,
    }
    Ok(Exit::Ok)
}

async fn list(config: Option<PathBuf>, dir: Option<PathBuf>) -> Result<Exit> {
    let (files, cache) = components(config, dir)?;
    let runtime = plugin_runtime(cache.as_deref())?;
    outln!("{:<24} {:<10} {:<8} {:<16} {:<16} FILE", "NAME", "VERSION", "CONTRACT", "SHA256", "SIGNED BY")?;
    for f in files {
        match describe(&runtime, &f).await {
            Ok((d, loaded)) => outln!(
                "{:<24} {:<10} {:<8} {:<16} {:<16} {}",
                d.name,
                d.version,
                d.contract,
                &loaded.sha256[..16],
                loaded.signature.short(),
                f.display()
            )?,
            Err(e) => outln!("{:<24} {:<10} {:<8} {:<16} {:<16} {} ({e})", "?", "?", "?", "-", "-", f.display())?,
        }
    }
    Ok(Exit::Ok)
}

async fn inspect(file: &Path, cache: Option<&Path>) -> Result<Exit> {
    let runtime = plugin_runtime(cache)?;
    let (d, loaded) = describe(&runtime, file).await?;
    outln!("name:        {}", d.name)?;
    outln!("version:     {}", d.version)?;
    outln!("description: {}", d.description)?;
    outln!("sha256:      {}", loaded.sha256)?;
    outln!("signature:   {}", loaded.signature.describe())?;
    outln!("contract:    plumbline:plugin@{}", d.contract)?;
    let other_imports = loaded.other_imports();
    if other_imports.is_empty() {
        outln!("imports:     the contract only")?;
    } else {
        // WASI is linked with nothing behind it (no files, network,
        // environment or stdio): the contract stays the only way out.
        outln!("imports:     the contract, and {} WASI interfaces linked deny-all:", other_imports.len())?;
        for (package, interfaces) in by_package(&other_imports) {
            outln!("    {package}: {}", interfaces.join(", "))?;
        }
    }
    outln!("categories:  {}", d.categories.join(", "))?;
    outln!("asks for:")?;
    let none = |v: bool| if v { "  (nothing)" } else { "" };
    outln!("  http hosts:{}", none(d.declared.http_hosts.is_empty()))?;
    for h in &d.declared.http_hosts {
        outln!("    {h}")?;
    }
    outln!("  tcp targets:{}", none(d.declared.tcp_targets.is_empty()))?;
    for (h, ports) in &d.declared.tcp_targets {
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        outln!("    {h} ports {}", ports.join(","))?;
    }
    outln!(
        "  file directories:{}",
        none(d.declared.file_dirs.is_empty())
    )?;
    for f in &d.declared.file_dirs {
        outln!("    {f}")?;
    }
    settings_table(&d)?;
    outln!("required permissions:{}", none(d.permissions.is_empty()))?;
    for p in &d.permissions {
        let via = p.credential_setting.as_ref().map(|s| format!(" (token of the profile in `{s}`)")).unwrap_or_default();
        outln!("  {:<14} {}{via}", p.api, p.name)?;
        outln!("  {:<14}   {}", "", p.why)?;
    }
    if !d.watch.is_empty() {
        outln!("rescan when these change: {}", d.watch.join(", "))?;
    }
    Ok(Exit::Ok)
}

/// `wasi:cli/exit@0.2.9` and `wasi:cli/stdin@0.2.9` as `wasi:cli@0.2.9`: `exit, stdin`,
/// one line per package instead of one per interface.
fn by_package(imports: &[String]) -> std::collections::BTreeMap<String, Vec<&str>> {
    let mut out: std::collections::BTreeMap<String, Vec<&str>> = std::collections::BTreeMap::new();
    for name in imports {
        let (path, version) = name.split_once('@').unwrap_or((name, ""));
        let (package, interface) = path.rsplit_once('/').unwrap_or((path, ""));
        let key = if version.is_empty() { package.to_string() } else { format!("{package}@{version}") };
        out.entry(key).or_default().push(interface);
    }
    out
}

/// The declared settings as a table: name, kind, default, doc.
fn settings_table(d: &runtime::Description) -> Result<()> {
    if d.settings.is_empty() {
        let why = match d.contract {
            "0.1.0" => "  (not declared: a contract 0.1.0 plugin; its settings are passed on unchecked)",
            _ => "  (none)",
        };
        return outln!("settings:{why}");
    }
    outln!("settings:")?;
    let kinds: Vec<String> = d.settings.iter().map(|s| s.kind.label()).collect();
    let name_w = d.settings.iter().map(|s| s.name.len()).max().unwrap_or(0).max(4);
    let kind_w = kinds.iter().map(String::len).max().unwrap_or(0).max(4);
    let defaults: Vec<String> = d
        .settings
        .iter()
        .map(|s| match (&s.default, s.required) {
            (_, true) => "(required)".to_string(),
            (Some(v), _) => v.clone(),
            (None, _) => "-".to_string(),
        })
        .collect();
    let default_w = defaults.iter().map(|v| v.chars().count()).max().unwrap_or(0).max(7);
    outln!("  {:<name_w$}  {:<kind_w$}  {:<default_w$}  DOC", "NAME", "KIND", "DEFAULT")?;
    for ((s, kind), default) in d.settings.iter().zip(&kinds).zip(&defaults) {
        outln!("  {:<name_w$}  {:<kind_w$}  {:<default_w$}  {}", s.name, kind, default, s.doc)?;
    }
    Ok(())
}

fn plugin_runtime(cache: Option<&Path>) -> Result<runtime::Runtime> {
    let empty: Config = toml::from_str("tenant_id = \"-\"\nsite_id = \"-\"")?;
    let net = std::sync::Arc::new(plumbline_agent::capabilities::Network::from_config(&empty)?);
    runtime::Runtime::new(cache, net)
}

/// Load (refusing nothing: this only looks) and describe a component.
async fn describe(runtime: &runtime::Runtime, file: &Path) -> Result<(runtime::Description, runtime::LoadedPlugin)> {
    let loaded = runtime.load(file, &runtime::trust::TrustPolicy::inspect_only())?;
    let d = runtime.describe(&loaded).await?;
    Ok((d, loaded))
}
