//! The compiled-component cache: hit on the second load, private files, and
//! a damaged entry is recompiled rather than trusted.

use plumbline_agent::capabilities::Network;
use plumbline_agent::config::Config;
use plumbline_agent::runtime::Runtime;
use crate::support::signed_only;
use plumbline_tests::plugins;
use std::sync::Arc;

fn runtime(cache: &std::path::Path) -> Runtime {
    let cfg: Config = toml::from_str("tenant_id = 't'\nsite_id = 's'").unwrap();
    Runtime::new(Some(cache), Arc::new(Network::from_config(&cfg).unwrap())).unwrap()
}

#[tokio::test]
async fn second_load_comes_from_the_cache_and_damage_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let component = plugins::fixture_plugin("fixture-trap");

    let first = runtime(&cache).load(&component, &signed_only("fixture-trap")).unwrap();
    assert!(!first.from_cache);
    let second = runtime(&cache).load(&component, &signed_only("fixture-trap")).unwrap();
    assert!(second.from_cache);
    assert_eq!(first.sha256, second.sha256);

    let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].file_name().unwrap().to_string_lossy().starts_with(&first.sha256));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&entries[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "compiled plugins are native code: private to the agent");
        let dmode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(dmode, 0o700);
    }

    std::fs::write(&entries[0], b"not a compiled component").unwrap();
    let rt = runtime(&cache);
    let third = rt.load(&component, &signed_only("fixture-trap")).unwrap();
    assert!(!third.from_cache, "a damaged cache entry must not be used");
    let desc = rt.describe(&third).await.unwrap();
    assert_eq!(desc.name, "fixture-trap");
}
