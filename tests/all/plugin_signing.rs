//! Signed plugins: `plugin keygen` and `plugin sign` through the real binary,
//! and each refusal (unsigned, untrusted key, tampered, sha256 pin) through a
//! real scan, with the message that says what was expected and what to do.

use crate::support::{error_of, lit, status, Site};
use plumbline_agent::config::Config;
use plumbline_agent::runtime::trust::{PublisherKey, SignatureState};
use plumbline_protocol::plugin_signature::{self, PublisherSecret};
use plumbline_tests::plugins;
use std::path::{Path, PathBuf};

const PLUGIN: &str = "exchange-connectors";

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn build_key_id() -> String {
    PublisherKey::parse(plugins::publisher()).unwrap().key_id()
}

/// The build's signed exchange-connectors with its signature cut off.
fn unsigned_bytes() -> Vec<u8> {
    let signed = std::fs::read(plugins::plugin(PLUGIN)).unwrap();
    let parsed = plugin_signature::parse(&signed).unwrap();
    assert!(parsed.signature.is_some() && parsed.verifies(), "the build signs its plugins");
    parsed.unsigned.to_vec()
}

/// Write `bytes` into the site as the plugin's component and scan it offline
/// with `extra` lines in its section, trusting the build's key.
async fn scan_with(site: &Site, bytes: &[u8], extra: &str) -> plumbline_agent::register::ScanResult {
    let file = site.path(&format!("{PLUGIN}.wasm"));
    std::fs::write(&file, bytes).unwrap();
    let section = Site::exchange_offline_section(&site.demo_exports())
        .replace(&lit(&plugins::plugin(PLUGIN)), &format!("{}\n{extra}", lit(&file)));
    site.scan(&site.config(&section)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_plugin_is_refused_with_the_trusted_keys_and_the_fix() {
    let site = Site::new();
    let result = scan_with(&site, &unsigned_bytes(), "").await;
    let e = error_of(&result, PLUGIN);
    assert_eq!(status(&result, PLUGIN).status, plumbline_agent::scan::CONFIG_STATUS, "a refusal is the config's to fix");
    assert!(e.contains("was refused") && e.contains("is not signed"), "{e}");
    assert!(e.contains(&format!("trusted: {}", build_key_id())), "{e}");
    assert!(e.contains("plumbline plugin sign") && e.contains(&format!("allow_unsigned = true in [plugins.{PLUGIN}]")), "{e}");
    assert!(result.connectors.is_empty(), "a refused plugin reports nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_signed_by_an_untrusted_key_is_refused_naming_both_keys() {
    let site = Site::new();
    let stranger = PublisherSecret::generate();
    let signed = plugin_signature::sign(&unsigned_bytes(), &stranger).unwrap();
    let e = error_of(&scan_with(&site, &signed, "").await, PLUGIN);
    assert!(e.contains(&format!("signed by key {}", stranger.public().key_id())), "{e}");
    assert!(e.contains(&stranger.public().to_string()), "the full key, to paste into [plugin_trust]: {e}");
    assert!(e.contains(&format!("trusted: {}", build_key_id())) && e.contains("add that key"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_plugin_is_refused_even_where_unsigned_ones_are_allowed() {
    let mut bytes = std::fs::read(plugins::plugin(PLUGIN)).unwrap();
    // A byte inside the signed part, well past the header.
    let at = plugin_signature::parse(&bytes).unwrap().unsigned.len() / 2;
    bytes[at] ^= 0x20;
    for extra in ["", "allow_unsigned = true"] {
        let site = Site::new();
        let e = error_of(&scan_with(&site, &bytes, extra).await, PLUGIN);
        assert!(e.contains(&format!("signature by key {} does not verify", build_key_id())), "{extra:?}: {e}");
        assert!(e.contains("changed after it was signed") && e.contains("intact copy"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sha256_pin_mismatch_shows_the_pinned_and_the_actual_hash() {
    let site = Site::new();
    let signed = std::fs::read(plugins::plugin(PLUGIN)).unwrap();
    let pin = "0".repeat(64);
    let e = error_of(&scan_with(&site, &signed, &format!("sha256 = '{pin}'")).await, PLUGIN);
    assert!(e.contains(&format!("sha256 is {}", sha256_of(&signed))) && e.contains(&format!("pins {pin}")), "{e}");
    assert!(e.contains("set the pin"), "{e}");
    // The right pin on the build's own signed component runs.
    let result = scan_with(&site, &signed, &format!("sha256 = '{}'", sha256_of(&signed).to_uppercase())).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", status(&result, PLUGIN));
}

/// An unsigned plugin allowed once has its compile in the cache; once the
/// config stops allowing it, the cache does not let it run: the check is on
/// the file's bytes at every load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_compile_does_not_let_a_refused_plugin_through() {
    let site = Site::new();
    let allowed = scan_with(&site, &unsigned_bytes(), "allow_unsigned = true").await;
    assert_eq!(status(&allowed, PLUGIN).status, "ok", "{:?}", status(&allowed, PLUGIN));
    let config = Config::load(&site.path("plumbline.toml")).unwrap();
    let runtime = plumbline_agent::scan::runtime_for(&config).unwrap();
    let loaded = runtime.load(&site.path(&format!("{PLUGIN}.wasm")), &config.trust(PLUGIN)).unwrap();
    assert!(loaded.from_cache, "the allowed build was compiled into the cache");
    assert_eq!(loaded.signature, SignatureState::Unsigned);

    let refused = scan_with(&site, &unsigned_bytes(), "").await;
    assert!(error_of(&refused, PLUGIN).contains("is not signed"));
}

fn run_ok(site: &Site, args: &[&str]) -> String {
    let out = site.run(args);
    assert!(out.status.success(), "plumbline {args:?}: {}", text(&out));
    text(&out)
}

fn public_key_in(printed: &str) -> String {
    let line = printed.lines().find(|l| l.starts_with("publishers = [")).unwrap_or_else(|| panic!("{printed}"));
    line.trim_start_matches("publishers = [\"").trim_end_matches("\"]").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_then_sign_gives_a_plugin_a_config_trusting_that_key_runs() {
    let site = Site::new();
    let key: PathBuf = site.path("publisher.key");
    let printed = run_ok(&site, &["plugin", "keygen", "--out", &key.to_string_lossy()]);
    let public = public_key_in(&printed);
    let id = PublisherKey::parse(&public).unwrap().key_id();
    assert!(printed.contains(&format!("publisher key {id}")) && printed.contains("[plugin_trust]"), "{printed}");
    assert_eq!(std::fs::read_to_string(site.path("publisher.key.pub")).unwrap().trim(), public);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600, "a private key is private");
    }
    let again = site.run(&["plugin", "keygen", "--out", &key.to_string_lossy()]);
    assert!(!again.status.success() && text(&again).contains("never overwrites"), "{}", text(&again));

    let file = site.path(&format!("{PLUGIN}.wasm"));
    std::fs::write(&file, unsigned_bytes()).unwrap();
    let inspect = |f: &Path| run_ok(&site, &["plugins", "inspect", &f.to_string_lossy()]);
    assert!(inspect(&file).contains("signature:   unsigned"), "{}", inspect(&file));
    let signed_out = run_ok(&site, &["plugin", "sign", &file.to_string_lossy(), "--key", &key.to_string_lossy()]);
    let sha = sha256_of(&std::fs::read(&file).unwrap());
    assert!(signed_out.contains(&id) && signed_out.contains(&format!("sha256 = \"{sha}\"")), "{signed_out}");
    assert!(inspect(&file).contains(&format!("signature:   signed by key {id} ({public})")), "{}", inspect(&file));
    let list = run_ok(&site, &["plugins", "list", "--dir", &site.path("").to_string_lossy()]);
    assert!(list.lines().any(|l| l.starts_with(PLUGIN) && l.contains(&id)), "{list}");

    let section = Site::exchange_offline_section(&site.demo_exports()).replace(&lit(&plugins::plugin(PLUGIN)), &lit(&file));
    let config = site.config_trusting(&[&public], &section);
    let result = site.scan(&config).await;
    assert_eq!(status(&result, PLUGIN).status, "ok", "{:?}", status(&result, PLUGIN));
    assert!(!result.connectors.is_empty());
    // The same file under a config trusting only the build's key is refused.
    let config = site.config(&section);
    assert!(error_of(&site.scan(&config).await, PLUGIN).contains(&format!("signed by key {id}")));
}

#[test]
fn signing_a_core_module_or_with_a_bad_key_says_what_to_do() {
    let site = Site::new();
    let module = site.path("module.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let key = site.path("k.key");
    run_ok(&site, &["plugin", "keygen", "--out", &key.to_string_lossy()]);
    let out = site.run(&["plugin", "sign", &module.to_string_lossy(), "--key", &key.to_string_lossy()]);
    assert!(!out.status.success() && text(&out).contains("core module"), "{}", text(&out));
    std::fs::write(site.path("bad.key"), "not a key").unwrap();
    let file = plugins::plugin(PLUGIN);
    let out = site.run(&["plugin", "sign", &file.to_string_lossy(), "--key", &site.path("bad.key").to_string_lossy(), "--out", &site.path("x.wasm").to_string_lossy()]);
    assert!(!out.status.success() && text(&out).contains("plumbline plugin keygen"), "{}", text(&out));
    assert!(!site.path("x.wasm").exists(), "nothing is written when signing fails");
}
