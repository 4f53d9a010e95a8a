//! `plumbline install`: one silent command for an RMM. Enroll with the
//! collector, write the config (when there is none), put the binary in
//! place and install and start the service. Every value can come from the
//! RMM's script variables, which arrive as environment variables:
//! `COLLECTOR_URL`, `ENROLL_TOKEN`, `SITE` (else Datto's `CS_PROFILE_NAME`),
//! `COLLECTOR_CA_FILE`, `COLLECTOR_PIN`, `PLUGIN_PUBLISHERS`. `deploy/install.sh` and
//! `deploy/install.ps1` only find the binary and call this.
//!
//! The publishers trusted for plugins are set here, on the site, and never
//! by the collector: a plugin the collector's policy names must also be
//! signed by one of them, so a collector taken over cannot run code of its
//! own on every site.
//!
//! Order, so that a wrong token or an unreachable collector changes
//! nothing: the collector is asked first; only after its yes are the config,
//! the binary and the service written.

use super::exit::Exit;
use super::service::InstallArgs;
use anyhow::{bail, Context, Result};
use plumbline_agent::config::{default_paths, parse_collector_url, Config, DeliverySettings};
use plumbline_agent::delivery::{enrollment, DeliveryError};
use plumbline_agent::platform::private::{self, Access};
use plumbline_agent::runtime::trust::PublisherKey;
use std::path::{Path, PathBuf};

/// What `install` takes.
#[derive(clap::Args)]
pub struct InstallCommand {
    /// The collector's base URL.
    #[arg(long, env = "COLLECTOR_URL")]
    collector: Option<String>,
    /// The site's enrollment token, or the tenant's fleet secret
    /// (`enroll-token create --reusable`).
    #[arg(long, env = "ENROLL_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The site's name as the MSP knows it (default: Datto's
    /// CS_PROFILE_NAME). A fleet secret enrolls the agent at this site and
    /// needs it; a single-use token's own site wins, and a different one
    /// given here is warned about.
    #[arg(long, env = "SITE")]
    site: Option<String>,
    /// PEM file of the CA (or the self-signed certificate) to trust for the
    /// collector.
    #[arg(long, env = "COLLECTOR_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// The collector's certificate or key sha256, as `plumbline-collector
    /// serve` prints it: only that one is trusted (no CA file needed).
    #[arg(long, env = "COLLECTOR_PIN")]
    pin: Option<String>,
    /// Publisher keys whose signed plugins this agent runs, `ed25519:BASE64`
    /// as `plumbline plugin keygen` prints them, separated by commas or
    /// spaces: written as `[plugin_trust] publishers` in a new config. The
    /// plugins the collector's policy names run only when signed by one.
    #[arg(long, env = "PLUGIN_PUBLISHERS")]
    plugin_publishers: Option<String>,
    /// The config file to write, or to keep if it exists (default: the
    /// platform's config path).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Keep the key, the spool and the compiled-plugin cache below this
    /// directory instead of the platform's (written into a new config).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Where the binary goes (default: /usr/local/bin; on Windows
    /// %ProgramFiles%\Plumbline).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Linux: write the service's units below this directory (see `service install --root`).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Enroll and write the config only; install no service.
    #[arg(long)]
    no_service: bool,
    /// Install the service, but do not start it.
    #[arg(long)]
    no_start: bool,
}

/// Where the .deb installs the binary.
const PACKAGED_BIN_DIR: &str = "/usr/bin";

/// A value given empty is not given: RMMs pass every script variable, the
/// ones left blank as empty strings, and the MSI passes its properties the
/// same way (`--pin "[COLLECTOR_PIN]"`).
fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn required(value: Option<String>, flag: &str, env: &str) -> Result<String> {
    match given(value) {
        Some(v) => Ok(v),
        _ => bail!("give the {flag} (or set {env}); e.g. plumbline install --collector https://collector.msp.example --token TOKEN"),
    }
}

/// A TOML string holding `text`.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn toml_path(path: &Path) -> String {
    toml_string(&path.display().to_string())
}

/// `--plugin-publishers`: each key checked, so that a mistyped one stops
/// the install before anything is enrolled or written.
fn publisher_keys(text: Option<String>) -> Result<Vec<PublisherKey>> {
    let Some(text) = given(text) else { return Ok(Vec::new()) };
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|k| !k.is_empty())
        .map(|k| {
            PublisherKey::parse(k).map_err(|e| {
                anyhow::anyhow!("--plugin-publishers (PLUGIN_PUBLISHERS): {k:?}: {e}; nothing was installed")
            })
        })
        .collect()
}

/// The config `install` writes: the enrollment's tenant and site, the
/// collector, the trusted plugin publishers, and the state directory when
/// one was given.
fn config_text(
    tenant: &str,
    site: &str,
    url: &str,
    trust: (Option<&Path>, Option<&str>),
    publishers: &[PublisherKey],
    state: Option<&Path>,
) -> String {
    let (ca, pin) = trust;
    let mut out = String::from(
        "# Written by `plumbline install`. Every setting is documented in plumbline.sample.toml;\n\
         # plugins run only when they have a [plugins.NAME] section.\n",
    );
    out.push_str(&format!("tenant_id = {}\nsite_id = {}\n", toml_string(tenant), toml_string(site)));
    if let Some(state) = state {
        out.push_str(&format!("cache_dir = {}\n", toml_path(&state.join("cache"))));
    }
    if !publishers.is_empty() {
        let keys: Vec<String> = publishers.iter().map(|k| toml_string(&k.to_string())).collect();
        out.push_str(&format!("\n[plugin_trust]\npublishers = [{}]\n", keys.join(", ")));
    }
    out.push_str("\n[schedule]\nevery = \"6h\"\n\n[delivery]\n");
    out.push_str(&format!("collector_url = {}\n", toml_string(url)));
    if let Some(ca) = ca {
        out.push_str(&format!("collector_ca_file = {}\n", toml_path(ca)));
    }
    if let Some(pin) = pin {
        out.push_str(&format!("collector_pin = {}\n", toml_string(pin)));
    }
    if let Some(state) = state {
        out.push_str(&format!("key_file = {}\n", toml_path(&state.join("keys").join("agent.key"))));
        out.push_str(&format!("spool_dir = {}\n", toml_path(&state.join("spool"))));
    }
    out
}

/// Where the binary goes when --bin-dir is not given: where a package put
/// it (/usr/bin, from the .deb), so that the package manager's updates are
/// the ones the service runs; else /usr/local/bin, or Program Files.
fn default_bin_dir(current: Option<&Path>) -> PathBuf {
    let packaged = Path::new(PACKAGED_BIN_DIR);
    if !cfg!(windows) && current.and_then(Path::parent) == Some(packaged) {
        return packaged.to_path_buf();
    }
    if cfg!(windows) {
        PathBuf::from(std::env::var_os("ProgramFiles").unwrap_or_else(|| "C:\\Program Files".into())).join("Plumbline")
    } else {
        PathBuf::from("/usr/local/bin")
    }
}

/// Copy this binary to `dir` (unless it runs from there), replacing an
/// older one atomically; its path.
fn place_binary(dir: &Path) -> Result<PathBuf> {
    let current = std::env::current_exe().context("finding this plumbline binary")?;
    let name = current.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("plumbline"));
    let target = dir.join(name);
    let same = match (std::fs::canonicalize(&current), std::fs::canonicalize(&target)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Ok(target);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let bytes = std::fs::read(&current).with_context(|| format!("reading {}", current.display()))?;
    private::write_atomic(&target, &bytes, Access::Public).with_context(|| format!("writing {}", target.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", target.display()))?;
    }
    Ok(target)
}

/// `plumbline install`.
pub async fn exec(args: InstallCommand) -> Result<Exit> {
    let collector = required(args.collector, "collector URL (--collector)", "COLLECTOR_URL")?;
    let url = parse_collector_url(&collector).map_err(|e| anyhow::anyhow!("--collector / COLLECTOR_URL: {e}"))?;
    let config_path = super::service::absolute_config(args.config.clone())?;
    #[cfg(target_os = "linux")]
    if !args.no_service && args.root.is_none() {
        super::service::linux::require_systemd()?;
    }
    let existing = match config_path.exists() {
        true => Some(Config::load(&config_path)?),
        false => None,
    };
    let state = args.state_dir.as_deref().map(std::path::absolute).transpose().context("making --state-dir absolute")?;
    let ca_file = args.ca_file.filter(|p| !p.as_os_str().is_empty());
    let ca = ca_file.as_deref().map(std::path::absolute).transpose().context("making --ca-file absolute")?;
    let pin = given(args.pin);
    let publishers = publisher_keys(args.plugin_publishers)?;
    let mut settings = match &existing {
        Some(config) => config.delivery.clone(),
        None => DeliverySettings::defaults(),
    };
    if existing.is_none() {
        if let Some(state) = &state {
            settings.key_file = state.join("keys").join("agent.key");
            settings.spool_dir = state.join("spool");
        }
        if ca.is_some() {
            settings.collector_ca_file = ca.clone();
        }
        if let Some(pin) = &pin {
            let pin = plumbline_agent::delivery::trust::Pin::parse(pin).map_err(|e| anyhow::anyhow!("--pin (COLLECTOR_PIN): {e}"))?;
            settings.collector_pin = Some(pin);
        }
    }

    let site = given(args.site).or_else(|| given(std::env::var("CS_PROFILE_NAME").ok()));
    // The collector first: a refusal or no answer writes nothing else.
    let enrolled = match settings.key_file.exists() {
        true => match enrollment::Enrollment::load(&settings.enrollment_file())? {
            Some(e) => {
                outln!("already enrolled as agent {} (key {}); keeping it", e.agent_id, settings.key_file.display())?;
                e
            }
            None => return Err(DeliveryError::NotEnrolled { missing: settings.enrollment_file(), config: args.config }.into()),
        },
        false => {
            let token = required(args.token, "enrollment token (--token)", "ENROLL_TOKEN")?;
            let claims = enrollment::Claims {
                site: site.as_deref(),
                tenant: existing.as_ref().map(|c| c.config.tenant_id.as_str()),
            };
            let done = enrollment::enroll(&settings, &url, &token, claims, false)
                .await
                .with_context(|| format!("enrolling with {url}; nothing was installed"))?;
            outln!(
                "enrolled agent {} for tenant {}, site {}",
                done.enrollment.agent_id,
                done.enrollment.tenant_id,
                done.enrollment.site_id
            )?;
            done.enrollment
        }
    };
    if let Some(site) = site.as_deref().filter(|s| *s != enrolled.site_id) {
        eprintln!(
            "plumbline: warning: the site given is {site:?}, but the token was made for site {:?}, which the \
             collector holds this agent to; the config says {:?}. Make a token for {site:?} if that is the site",
            enrolled.site_id, enrolled.site_id
        );
    }

    match &existing {
        Some(config) => {
            outln!("kept the config {}", config.source.display())?;
            let kept: Vec<String> = config.config.plugin_trust.publishers.clone();
            let missing: Vec<String> =
                publishers.iter().map(PublisherKey::to_string).filter(|k| !kept.contains(k)).collect();
            if !missing.is_empty() {
                eprintln!(
                    "plumbline: warning: the config is kept as it is, so the publishers given are not in its \
                     [plugin_trust]; add {} to `publishers` there by hand",
                    missing.join(", ")
                );
            }
        }
        None => {
            let trust = (ca.as_deref(), pin.as_deref());
            let text =
                config_text(&enrolled.tenant_id, &enrolled.site_id, url.as_str(), trust, &publishers, state.as_deref());
            // What was written must load, or the service would not start.
            Config::parse(&text, &config_path).context("the config install was about to write")?;
            // A folder made here holds what decides which plugins run with
            // which grants: only the agent's account and administrators may
            // write in it (on Windows, ProgramData lets every user add files).
            // So does the platform's own folder when a package made it (the
            // MSI creates ProgramData\Plumbline with the inherited rights).
            let own = default_paths().config.parent().map(Path::to_path_buf);
            if let Some(dir) = config_path.parent().filter(|d| !d.exists() || own.as_deref() == Some(*d)) {
                private::create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            private::write_atomic(&config_path, text.as_bytes(), Access::Public)
                .with_context(|| format!("writing {}", config_path.display()))?;
            outln!("wrote the config {}", config_path.display())?;
        }
    }
    let current = std::env::current_exe().ok();
    let binary = place_binary(&args.bin_dir.unwrap_or_else(|| default_bin_dir(current.as_deref())))?;
    outln!("binary: {}", binary.display())?;
    if args.no_service {
        outln!("no service installed (--no-service); `plumbline service install --config {}` installs it", config_path.display())?;
        return Ok(Exit::Ok);
    }
    let service = InstallArgs { config: Some(config_path), binary: Some(binary), root: args.root, no_start: args.no_start };
    super::service::install(service).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packaged_binary_stays_where_the_package_put_it_and_blank_values_are_not_given() {
        #[cfg(not(windows))]
        {
            assert_eq!(default_bin_dir(Some(Path::new("/usr/bin/plumbline"))), Path::new("/usr/bin"));
            assert_eq!(default_bin_dir(Some(Path::new("/tmp/x/plumbline"))), Path::new("/usr/local/bin"));
            assert_eq!(default_bin_dir(None), Path::new("/usr/local/bin"));
        }
        assert_eq!(given(Some("  ".into())), None);
        assert_eq!(given(Some(" site-a ".into())).as_deref(), Some("site-a"));
        assert!(required(Some(String::new()), "collector URL (--collector)", "COLLECTOR_URL").is_err());
    }

    #[test]
    fn the_written_config_loads_with_the_enrolled_site_and_state_dir() {
        let pin = format!("sha256:{}", "ab".repeat(32));
        let trust = (Some(Path::new("/x/ca.pem")), Some(pin.as_str()));
        let publisher = plumbline_protocol::plugin_signature::PublisherSecret::generate().public();
        let text = config_text("t-1", "it's-hq", "https://c.example/", trust, &[publisher.clone()], Some(Path::new("/srv/p")));
        let c = Config::parse(&text, Path::new("/etc/plumbline/plumbline.toml")).unwrap();
        assert_eq!(c.publishers, [publisher.clone()], "the publishers go into [plugin_trust]");
        assert_eq!(c.delivery.collector_pin.map(|p| p.0), Some([0xab; 32]), "the pin goes into the config");
        assert_eq!((c.config.tenant_id.as_str(), c.config.site_id.as_str()), ("t-1", "it's-hq"));
        assert_eq!(c.delivery.key_file, Path::new("/srv/p/keys/agent.key"));
        assert_eq!(c.delivery.spool_dir, Path::new("/srv/p/spool"));
        assert_eq!(c.cache_dir, Path::new("/srv/p/cache"));
        assert_eq!(c.delivery.collector_url.unwrap().as_str(), "https://c.example/");
        let none = config_text("t-1", "s", "https://c.example/", (None, None), &[], None);
        assert!(!none.contains("plugin_trust"), "{none}");
    }

    #[test]
    fn publishers_are_split_on_commas_and_spaces_and_each_one_checked() {
        use plumbline_protocol::plugin_signature::PublisherSecret;
        let (a, b) = (PublisherSecret::generate().public(), PublisherSecret::generate().public());
        assert_eq!(publisher_keys(Some(format!(" {a}, {b}\n"))).unwrap(), [a.clone(), b.clone()]);
        assert_eq!(publisher_keys(Some(format!("{a} {b}"))).unwrap(), [a.clone(), b]);
        assert!(publisher_keys(Some("  ".into())).unwrap().is_empty(), "blank is not given");
        let e = publisher_keys(Some(format!("{a},ed25519:AAAA"))).unwrap_err().to_string();
        assert!(e.contains("\"ed25519:AAAA\"") && e.contains("PLUGIN_PUBLISHERS") && e.contains("nothing was installed"), "{e}");
    }
}
