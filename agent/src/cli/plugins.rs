//! `plumbline plugins list|inspect|keygen|sign` (or `plugin …`): what a
//! plugin is, what it asks for and who signed it.

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
        /// The component file.
        file: PathBuf,
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
}

/// Run one plugin command.
pub async fn exec(command: PluginsCommand) -> Result<Exit> {
    match command {
        PluginsCommand::List { config, dir } => list(config, dir).await,
        PluginsCommand::Inspect { file } => inspect(&file).await,
        PluginsCommand::Keygen { out } => super::plugin_sign::keygen(&out),
        PluginsCommand::Sign { file, key, out } => super::plugin_sign::sign(&file, &key, out.as_deref()),
    }
}

async fn list(config: Option<PathBuf>, dir: Option<PathBuf>) -> Result<Exit> {
    let (dir, cache) = match dir {
        Some(d) => (d, None),
        None => {
            let c = Config::load(&config_path(config))?;
            (c.plugin_dir.clone(), Some(c.cache_dir.clone()))
        }
    };
    let runtime = plugin_runtime(cache.as_deref())?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading plugin directory {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    files.sort();
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

async fn inspect(file: &Path) -> Result<Exit> {
    let runtime = plugin_runtime(None)?;
    let (d, loaded) = describe(&runtime, file).await?;
    outln!("name:        {}", d.name)?;
    outln!("version:     {}", d.version)?;
    outln!("description: {}", d.description)?;
    outln!("sha256:      {}", loaded.sha256)?;
    outln!("signature:   {}", loaded.signature.describe())?;
    outln!("contract:    plumbline:plugin@{}", d.contract)?;
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
    let kinds: Vec<String> = d.settings.iter().map(|s| kind_name(&s.kind)).collect();
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

fn kind_name(k: &runtime::SettingKind) -> String {
    use runtime::SettingKind as K;
    match k {
        K::Text => "text".into(),
        K::Integer => "integer".into(),
        K::Boolean => "boolean".into(),
        K::Duration => "duration".into(),
        K::Path => "path".into(),
        K::List => "list".into(),
        K::Choice(words) => words.join("|"),
    }
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
