//! A throwaway client site: a temp dir, an agent config, and ways to scan it.

use plumbline_agent::config::Config;
use plumbline_agent::register::ScanResult;
use plumbline_tests::plugins;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

pub const TENANT: &str = plumbline_tests::fixture::DEMO_TENANT_ID;

/// One compiled-plugin cache for the whole test run: compiling a component
/// takes seconds in a debug build, and the cache is keyed by the
/// component's sha256, so sharing it cannot mix plugins up. (The cache's own
/// tests use private directories.)
pub fn shared_compile_cache() -> PathBuf {
    plugins::root().join("target/test-plugin-cache")
}

/// Load only what the build signed: the policy of a config that trusts
/// [`plugins::publisher`] and nothing else.
pub fn signed_only(section: &str) -> plumbline_agent::runtime::trust::TrustPolicy {
    let key = plumbline_agent::runtime::trust::PublisherKey::parse(plugins::publisher()).unwrap();
    plumbline_agent::runtime::trust::TrustPolicy::new(section, vec![key], None, false)
}

pub struct Site {
    pub dir: TempDir,
}

/// A TOML literal string for a path (no escapes needed in '...').
pub fn lit(p: &Path) -> String {
    format!("'{}'", p.display())
}

impl Site {
    pub fn new() -> Self {
        Site { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Copy the bundled demo exports to `exchange/` in the site.
    pub fn demo_exports(&self) -> PathBuf {
        let to = self.path("exchange");
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(plugins::root().join("demo/exchange")).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "json") {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
        to
    }

    /// The exchange-connectors section, offline against `dir`.
    pub fn exchange_offline_section(dir: &Path) -> String {
        format!(
            "[plugins.exchange-connectors]\npath = {}\n[plugins.exchange-connectors.grants]\nfiles = [{}]\n\
             [plugins.exchange-connectors.settings]\nmode = 'offline'\nexport_dir = {}\nrecent_days = 30\n",
            lit(&plugins::plugin("exchange-connectors")),
            lit(dir),
            lit(dir)
        )
    }

    /// A section for a hostile fixture plugin, with extra lines appended.
    pub fn fixture_section(name: &str, extra: &str) -> String {
        format!(
            "[plugins.{name}]\npath = {}\n{extra}\n",
            lit(&plugins::fixture_plugin(name))
        )
    }

    /// Write `plumbline.toml` with the tenant header, trusting the key the
    /// build signed the plugins with, and `body`.
    pub fn config(&self, body: &str) -> PathBuf {
        self.config_trusting(&[plugins::publisher()], body)
    }

    /// [`Site::config`] trusting exactly these publisher keys.
    pub fn config_trusting(&self, publishers: &[&str], body: &str) -> PathBuf {
        let keys: Vec<String> = publishers.iter().map(|k| format!("'{k}'")).collect();
        let text = format!(
            "tenant_id = '{TENANT}'\nsite_id = 'test-site'\nplugin_dir = {}\ncache_dir = {}\n\
             plugin_trust = {{ publishers = [{}] }}\n\n{body}",
            lit(&plugins::plugins_dir()),
            lit(&shared_compile_cache()),
            keys.join(", ")
        );
        let path = self.path("plumbline.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Scan through the library, as `plumbline scan` does.
    pub async fn scan(&self, config: &Path) -> ScanResult {
        let resolved = Config::load(config).expect("config loads");
        let runtime = plumbline_agent::scan::runtime_for(&resolved).expect("runtime starts");
        plumbline_agent::scan::run(&resolved, &runtime).await
    }

    /// Run the real `plumbline` binary.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.run_with(args, &[])
    }

    /// [`Site::run`] with these variables set.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_plumbline"))
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("PLUMBLINE_LOG")
            .env_remove("COLUMNS")
            .envs(env.iter().copied())
            .output()
            .expect("plumbline runs")
    }
}

pub fn status<'a>(r: &'a ScanResult, plugin: &str) -> &'a plumbline_agent::register::PluginStatus {
    r.plugins
        .iter()
        .find(|p| p.name == plugin)
        .unwrap_or_else(|| panic!("no status for {plugin}: {:?}", r.plugins))
}

/// The error of a plugin that did not run: it failed (`error`), or its
/// configuration stopped it (`config`: settings, signature, pin).
pub fn error_of(r: &ScanResult, plugin: &str) -> String {
    let s = status(r, plugin);
    assert!(["error", plumbline_agent::scan::CONFIG_STATUS].contains(&s.status.as_str()), "{plugin} should have failed: {s:?}");
    s.error.clone().unwrap_or_default()
}

/// A register key without its plugin namespace: what the plugin itself
/// chose (`exchange-connectors/exchange:inbound:X` gives `exchange:inbound:X`).
pub fn local(key: &str) -> &str {
    plumbline_agent::register::split_key(key).map_or(key, |(_, local)| local)
}
