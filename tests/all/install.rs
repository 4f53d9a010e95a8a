//! `deploy/install.sh` (a thin wrapper of `plumbline install`) against the
//! real collector over HTTPS on loopback: one line enrolls, writes the
//! config, places the binary and installs the systemd timer (below a
//! `--root`, enabled offline); the installed agent then delivers. A wrong
//! token and an unreachable collector are clear errors that install
//! nothing.
#![cfg(target_os = "linux")]

use crate::delivery::text;
use crate::end_to_end::Collector;
use crate::support::{Site, TENANT};
use plumbline_agent::config::Config;
use plumbline_tests::plugins;
use std::path::PathBuf;
use std::process::{Command, Output};

struct Layout {
    config: PathBuf,
    state: PathBuf,
    bin: PathBuf,
    root: PathBuf,
}

fn layout(site: &Site) -> Layout {
    Layout { config: site.path("etc/plumbline.toml"), state: site.path("var"), bin: site.path("bin"), root: site.path("root") }
}

/// `sh deploy/install.sh` with the RMM's variables in `env`.
fn install_sh(l: &Layout, env: &[(&str, &str)]) -> Output {
    let script = plugins::root().join("deploy/install.sh");
    let mut command = Command::new("sh");
    command
        .arg(script)
        .args(["--config", &l.config.to_string_lossy(), "--state-dir", &l.state.to_string_lossy()])
        .args(["--bin-dir", &l.bin.to_string_lossy(), "--root", &l.root.to_string_lossy()])
        .env("PLUMBLINE_BIN", env!("CARGO_BIN_EXE_plumbline"))
        .env("NO_COLOR", "1")
        .env_remove("COLLECTOR_URL")
        .env_remove("ENROLL_TOKEN")
        .env_remove("SITE")
        .env_remove("CS_PROFILE_NAME")
        .env_remove("COLLECTOR_CA_FILE")
        .env_remove("PLUGIN_PUBLISHERS");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("sh runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_line_installs_an_agent_that_delivers_to_the_real_collector() {
    let site = Site::new();
    let db = format!("sqlite:{}", site.path("collector.db").display());
    let mut collector = Collector::start(&site, &db).await;
    let l = layout(&site);
    let ca = collector.cert_file.to_string_lossy().into_owned();
    let env = [
        ("COLLECTOR_URL", collector.base.as_str()),
        ("ENROLL_TOKEN", collector.enroll_token.as_str()),
        ("SITE", "test-site"),
        ("COLLECTOR_CA_FILE", ca.as_str()),
        // Left blank, as RMMs pass unset script variables and the MSI its properties: not given.
        ("COLLECTOR_PIN", ""),
        ("PLUGIN_PUBLISHERS", plugins::publisher()),
    ];
    let out = install_sh(&l, &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The config: the token's tenant and site, the collector, the state dir.
    let config = Config::load(&l.config).expect("the written config loads");
    assert_eq!((config.config.tenant_id.as_str(), config.config.site_id.as_str()), (TENANT, "test-site"));
    assert_eq!(config.delivery.key_file, l.state.join("keys/agent.key"));
    assert!(config.delivery.key_file.exists());
    let trusted: Vec<String> = config.publishers.iter().map(ToString::to_string).collect();
    assert_eq!(trusted, [plugins::publisher()], "the publisher is trusted for the policy's plugins");
    assert_eq!(plumbline_agent::platform::private::describe(l.config.parent().unwrap()).unwrap(), "mode 0700", "a folder it made is private");
    let agents = collector.store.agents(Some(TENANT)).await.unwrap();
    assert_eq!(agents.len(), 1);
    // The binary and the timer that runs it.
    let binary = l.bin.join("plumbline");
    assert!(std::fs::metadata(&binary).unwrap().len() > 0);
    let unit = std::fs::read_to_string(l.root.join("etc/systemd/system/plumbline.service")).unwrap();
    assert!(unit.contains(&format!("ExecStart={} service run --once --config {}", binary.display(), l.config.display())), "{unit}");
    assert!(std::fs::symlink_metadata(l.root.join("etc/systemd/system/timers.target.wants/plumbline.timer")).is_ok(), "{}", text(&out));

    // The installed agent, as the timer would run it, delivers.
    let out = Command::new(&binary).args(["service", "run", "--once", "--config", &l.config.to_string_lossy()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("delivery: 1 delivered"), "{}", text(&out));
    assert_eq!(collector.store.counts().await.unwrap().batches, 1);

    // Again (an RMM policy re-applied): nothing changes, nobody new enrolls.
    let before = std::fs::read(&l.config).unwrap();
    let out = install_sh(&l, &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("already enrolled") && text(&out).contains("kept the config"), "{}", text(&out));
    assert_eq!(std::fs::read(&l.config).unwrap(), before);
    assert_eq!(collector.store.agents(Some(TENANT)).await.unwrap().len(), 1);
    collector.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_or_an_unreachable_collector_is_a_clear_error_that_installs_nothing() {
    let site = Site::new();
    let db = format!("sqlite:{}", site.path("collector.db").display());
    let mut collector = Collector::start(&site, &db).await;
    let l = layout(&site);
    let ca = collector.cert_file.to_string_lossy().into_owned();
    let nothing = |l: &Layout| !l.config.exists() && !l.bin.exists() && !l.root.exists() && !l.state.join("keys/agent.key").exists();

    let out = install_sh(&l, &[("COLLECTOR_URL", &collector.base), ("ENROLL_TOKEN", "not-a-token"), ("COLLECTOR_CA_FILE", &ca)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("refused the enrollment") && text(&out).contains("nothing was installed"), "{}", text(&out));
    assert!(nothing(&l), "a refused token installs nothing");

    let out = install_sh(&l, &[("COLLECTOR_URL", &collector.base), ("COLLECTOR_CA_FILE", &ca)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--token") && text(&out).contains("ENROLL_TOKEN"), "{}", text(&out));

    let bad = [("COLLECTOR_URL", collector.base.as_str()), ("ENROLL_TOKEN", collector.enroll_token.as_str()), ("PLUGIN_PUBLISHERS", "ed25519:AAAA")];
    let out = install_sh(&l, &bad);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("PLUGIN_PUBLISHERS") && text(&out).contains("nothing was installed"), "{}", text(&out));
    assert!(nothing(&l) && !l.state.join("keys/agent.key.new").exists(), "a mistyped publisher installs nothing");

    let wrong_pin = format!("sha256:{}", "00".repeat(32));
    let out = install_sh(&l, &[("COLLECTOR_URL", &collector.base), ("ENROLL_TOKEN", &collector.enroll_token), ("COLLECTOR_PIN", &wrong_pin)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("nothing was installed"), "{}", text(&out));
    assert!(nothing(&l), "a pin mismatch installs nothing");

    let base = collector.base.clone();
    collector.down().await;
    let out = install_sh(&l, &[("COLLECTOR_URL", &base), ("ENROLL_TOKEN", "any"), ("COLLECTOR_CA_FILE", &ca)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(&base) && text(&out).contains("nothing was installed"), "{}", text(&out));
    assert!(nothing(&l), "an unreachable collector installs nothing");
    assert!(!l.state.join("keys/agent.key.new").exists(), "not even the key made for it");
}

/// A tenant's fleet secret in the RMM policy: every machine installs with
/// the same secret and its own SITE, and each becomes its own agent there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_fleet_secret_installs_agents_at_every_site() {
    let site = Site::new();
    let db = format!("sqlite:{}", site.path("collector.db").display());
    let mut collector = Collector::start(&site, &db).await;
    let secret = plumbline_collector::admin::create_fleet_secret(collector.store.as_ref(), TENANT, 1).await.unwrap().token;
    let ca = collector.cert_file.to_string_lossy().into_owned();
    let machine = |name: &str| {
        let base = site.path(name);
        Layout { config: base.join("etc/plumbline.toml"), state: base.join("var"), bin: base.join("bin"), root: base.join("root") }
    };

    let (hq, branch) = (machine("hq-pc"), machine("branch-pc"));
    for (l, s) in [(&hq, "hq"), (&branch, "branch-7")] {
        let vars = [("COLLECTOR_URL", collector.base.as_str()), ("ENROLL_TOKEN", &secret), ("SITE", s), ("COLLECTOR_CA_FILE", &ca)];
        let out = install_sh(l, &vars);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let config = Config::load(&l.config).expect("the written config loads");
        assert_eq!((config.config.tenant_id.as_str(), config.config.site_id.as_str()), (TENANT, s), "the site the machine named");
    }
    let agents = collector.store.agents(Some(TENANT)).await.unwrap();
    assert_eq!(agents.len(), 2, "two agents, one key each");
    assert_ne!(agents[0].public_key, agents[1].public_key);
    let mut sites: Vec<&str> = agents.iter().map(|a| a.site_id.as_str()).collect();
    sites.sort();
    assert_eq!(sites, ["branch-7", "hq"]);

    // Without SITE the secret enrolls nowhere: the error says what to give.
    let nowhere = machine("no-site-pc");
    let out = install_sh(&nowhere, &[("COLLECTOR_URL", &collector.base), ("ENROLL_TOKEN", &secret), ("COLLECTOR_CA_FILE", &ca)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("SITE") && text(&out).contains("nothing was installed"), "{}", text(&out));
    assert!(!nowhere.config.exists());
    collector.down().await;
}
