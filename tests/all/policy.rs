//! Policy and plugins from the real collector over HTTPS on loopback: the
//! agent fetches its signed policy and the plugin it names by sha256, runs
//! it, and refuses (keeping the last good policy) a policy with an unknown
//! setting, a tampered plugin, a lower serial, another key's signature and
//! an expired one; `local_override` wins over the policy.

use crate::delivery::text;
use crate::end_to_end::Collector;
use crate::support::{lit, Site, TENANT};
use plumbline_collector::policy::PolicyService;
use plumbline_protocol::plugin_signature;
use plumbline_protocol::policy::{PolicyDocument, PolicySigner, POLICY_SCHEMA};
use plumbline_tests::plugins;
use std::sync::Arc;

const PLUGIN: &str = "exchange-connectors";

fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The tenant's policy: the plugin `sha` offline over `exports`, with `settings` lines.
fn policy_text(sha: &str, exports: &std::path::Path, settings: &str) -> String {
    format!(
        "[schedule]\nevery = \"1h\"\n\n[plugins.{PLUGIN}]\nsha256 = \"{sha}\"\n[plugins.{PLUGIN}.grants]\nfiles = [{}]\n\
         [plugins.{PLUGIN}.settings]\nmode = 'offline'\nexport_dir = {}\n{settings}\n",
        lit(exports),
        lit(exports)
    )
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

fn ran(out: &std::process::Output) -> bool {
    json(out)["plugins"].as_array().unwrap().iter().any(|p| p["name"] == PLUGIN && p["status"] == "ok")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_and_plugins_come_from_the_collector_signed_and_checked() {
    let site = Site::new();
    let exports = site.demo_exports();
    let db = format!("sqlite:{}", site.path("collector.db").display());
    let mut collector = Collector::start(&site, &db).await;
    let data = collector.data_dir.clone();
    let signed = std::fs::read(plugins::plugin(PLUGIN)).unwrap();
    let sha = sha256_of(&signed);
    std::fs::create_dir_all(data.join("plugins")).unwrap();
    std::fs::write(data.join("plugins/exchange-connectors.wasm"), &signed).unwrap();
    let tenant_file = data.join(format!("policy/tenants/{TENANT}.toml"));
    std::fs::create_dir_all(tenant_file.parent().unwrap()).unwrap();
    std::fs::write(&tenant_file, policy_text(&sha, &exports, "recent_days = 30")).unwrap();

    // The local config names no plugin at all: the policy brings it.
    let cache = site.path("cache");
    let cert_file = collector.cert_file.clone();
    let local = |base: &str, top: &str, extra: &str| {
        let text = format!(
            "tenant_id = '{TENANT}'\nsite_id = 'test-site'\nplugin_dir = {}\ncache_dir = {}\n{top}\n\
             plugin_trust = {{ publishers = ['{}'] }}\n\n[delivery]\ncollector_url = '{base}'\ncollector_ca_file = {}\n\
             key_file = {}\nspool_dir = {}\n{extra}\n",
            lit(&site.path("no-plugins")),
            lit(&cache),
            plugins::publisher(),
            lit(&cert_file),
            lit(&site.path("keys/agent.key")),
            lit(&site.path("spool")),
        );
        std::fs::write(site.path("plumbline.toml"), text).unwrap();
        site.path("plumbline.toml").to_string_lossy().into_owned()
    };
    let config = local(&collector.base, "", "");
    let out = site.run(&["enroll", "--collector", &collector.base, "--token", &collector.enroll_token, "--config", &config]);
    assert!(out.status.success(), "{}", text(&out));
    let enrollment = std::fs::read_to_string(site.path("keys/enrollment.json")).unwrap();
    assert!(enrollment.contains(&collector.policy.public_key().to_string()), "the policy key is pinned: {enrollment}");

    // Applied: the plugin is fetched by sha256, cached, and runs.
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(ran(&out), "{}", text(&out));
    let fetched = cache.join(format!("fetched-plugins/{sha}.wasm"));
    assert_eq!(std::fs::read(&fetched).unwrap(), signed, "cached as fetched");
    assert_eq!(std::fs::read_to_string(site.path("keys/policy-serial")).unwrap().trim(), "1");
    assert!(collector.store.counts().await.unwrap().connectors > 0, "its findings reached the collector");
    // `scan` finds what `run` would (the policy merged in); `--local` scans the local config alone.
    let out = site.run(&["scan", "--config", &config, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(ran(&out) && text(&out).contains("policy (serial 1) is merged in"), "{}", text(&out));
    let out = site.run(&["scan", "--local", "--config", &config, "--format", "json"]);
    assert!(!ran(&out) && !text(&out).contains("merged in"), "the local config alone: {}", text(&out));

    // A setting the plugin does not declare: refused with "did you mean", the last good one runs.
    std::fs::write(&tenant_file, policy_text(&sha, &exports, "recnt_days = 30")).unwrap();
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert!(text(&out).contains("refused the policy") && text(&out).contains("did you mean `recent_days`?"), "{}", text(&out));
    assert!(ran(&out), "the last good policy still runs: {}", text(&out));
    assert_eq!(std::fs::read_to_string(site.path("keys/policy-serial")).unwrap().trim(), "1", "nothing accepted");

    // A tampered plugin (its signature no longer verifies): refused, not cached.
    let mut tampered = signed.clone();
    let at = plugin_signature::parse(&tampered).unwrap().unsigned.len() / 2;
    tampered[at] ^= 0x20;
    let bad_sha = sha256_of(&tampered);
    std::fs::write(data.join("plugins/tampered.wasm"), &tampered).unwrap();
    std::fs::write(&tenant_file, policy_text(&bad_sha, &exports, "recent_days = 30")).unwrap();
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert!(text(&out).contains("refused and not cached") && text(&out).contains("does not verify"), "{}", text(&out));
    assert!(!cache.join(format!("fetched-plugins/{bad_sha}.wasm")).exists(), "a tampered download is never kept");
    assert!(ran(&out), "the last good policy still runs: {}", text(&out));

    // local_override: the local `enabled = false` wins over the policy's.
    std::fs::write(&tenant_file, policy_text(&sha, &exports, "recent_days = 30")).unwrap();
    let overridden = local(&collector.base, &format!("local_override = ['plugins.{PLUGIN}.enabled']"), &format!("[plugins.{PLUGIN}]\nenabled = false\n"));
    let out = site.run(&["run", "--config", &overridden, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!ran(&out) && !text(&out).contains("refused"), "the local value won: {}", text(&out));
    let config = local(&collector.base, "", "");

    // Rollback: this agent accepted serial 100 before (planted, signed with
    // the collector's key); the collector's lower serial is refused and
    // serial 100 stays applied.
    let signer = PolicySigner::from_pem(&std::fs::read_to_string(data.join("policy-key.pem")).unwrap()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let doc = PolicyDocument {
        schema: POLICY_SCHEMA,
        tenant_id: TENANT.into(),
        site_id: "test-site".into(),
        serial: 100,
        issued_at: fmt(now),
        expires_at: fmt(now + time::Duration::days(1)),
        content: policy_text(&sha, &exports, "recent_days = 30"),
    };
    std::fs::write(site.path("keys/policy.json"), signer.sign(&doc)).unwrap();
    std::fs::write(site.path("keys/policy-serial"), "100\n").unwrap();
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert!(text(&out).contains("lower than 100") && text(&out).contains("rollback"), "{}", text(&out));
    assert!(ran(&out), "serial 100 stays applied: {}", text(&out));

    // Another key's signature (the collector's key swapped): refused.
    collector.down().await;
    collector.policy = Arc::new(PolicyService::new(&data, PolicySigner::generate()));
    collector.serve_anywhere().await;
    let config = local(&collector.base, "", "");
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert!(text(&out).contains("does not verify with the collector's policy key pinned"), "{}", text(&out));
    assert!(ran(&out), "the last good policy still runs: {}", text(&out));

    // Expired as signed: refused.
    collector.down().await;
    let mut expiring = PolicyService::new(&data, signer);
    expiring.validity = time::Duration::minutes(-1);
    collector.policy = Arc::new(expiring);
    collector.serve_anywhere().await;
    let config = local(&collector.base, "", "");
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert!(text(&out).contains("refused the policy") && text(&out).contains("expired at"), "{}", text(&out));
    assert!(ran(&out), "the last good policy still runs: {}", text(&out));

    // The last good one tampered on disk, with the collector withdrawn: the local config alone.
    let mut planted: serde_json::Value = serde_json::from_slice(&std::fs::read(site.path("keys/policy.json")).unwrap()).unwrap();
    planted["payload"] = serde_json::Value::String(planted["payload"].as_str().unwrap().replace('A', "B"));
    std::fs::write(site.path("keys/policy.json"), serde_json::to_vec(&planted).unwrap()).unwrap();
    collector.down().await;
    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert!(text(&out).contains("the last good policy cannot be applied"), "{}", text(&out));
    assert!(!ran(&out), "nothing from a tampered cache runs: {}", text(&out));
}
