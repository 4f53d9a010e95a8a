//! Large scans on the wire: gzipped bodies, and a scan over
//! `[delivery] max_batch_bytes` sent as signed parts, each under it.

use crate::delivery::{delivery_section, enroll, spooled, text};
use crate::support::Site;
use plumbline_tests::stub_collector::StubCollector;

/// Every batch goes gzipped; a scan over the limit goes as parts `1..n` of
/// one scan id, in order, each envelope under the limit, each signed under
/// its own sequence, and together they are exactly the scan printed.
#[test]
fn a_scan_over_max_batch_bytes_goes_in_gzipped_signed_parts_under_the_limit() {
    const LIMIT: usize = 4096;
    let stub = StubCollector::start();
    let site = Site::new();
    let exports = site.demo_exports();
    let extra = format!("max_batch_bytes = {LIMIT}");
    let config = site.config(&format!("{}\n{}", delivery_section(&site, &extra), Site::exchange_offline_section(&exports)));
    let config = config.to_string_lossy().into_owned();
    let out = enroll(&site, &config, &stub, "enroll-token-1");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is the scan's JSON");
    let stored = stub.stored();
    assert!(stored.len() >= 2, "the demo scan is over {LIMIT} bytes, so it goes in parts: {}", stored.len());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("delivery: {} delivered, 0 queued, 0 rejected", stored.len())), "{err}");
    let scan_id = stored[0].batch.part.as_ref().expect("a part header").scan_id.clone();
    for (i, s) in stored.iter().enumerate() {
        assert!(s.envelope.len() <= LIMIT, "part {} is {} bytes", i + 1, s.envelope.len());
        let part = s.batch.part.as_ref().expect("a part header");
        assert_eq!((part.scan_id.as_str(), part.index, part.count), (scan_id.as_str(), i as u32 + 1, stored.len() as u32));
        assert_eq!(s.batch.sequence, i as u64 + 1);
        assert_eq!(s.batch.plugins[0].name, "exchange-connectors", "every part names the scan's plugins");
    }
    let keys = |v: &serde_json::Value, field: &str| -> Vec<String> {
        v[field].as_array().unwrap().iter().map(|e| e[if field == "connectors" { "key" } else { "id" }].as_str().unwrap().to_string()).collect()
    };
    let sent: Vec<String> = stored.iter().flat_map(|s| s.batch.connectors.iter().map(|c| c.key.clone())).collect();
    assert_eq!(sent, keys(&printed, "connectors"));
    let sent: Vec<String> = stored.iter().flat_map(|s| s.batch.findings.iter().map(|f| f.id.clone())).collect();
    assert_eq!(sent, keys(&printed, "findings"));
    assert_eq!(stub.gzip_requests(), stub.ingest_requests(), "every push is gzipped");
    assert!(spooled(&site).is_empty());

    // A scan that fits is one batch with no part header, as before.
    std::fs::write(&config, std::fs::read_to_string(&config).unwrap().replace(&extra, "")).unwrap();
    let out = site.run(&["run", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let last = stub.stored().pop().unwrap();
    assert!(last.batch.part.is_none() && last.batch.sequence == stored.len() as u64 + 1);
}

/// Too small a limit is a config error that says what to write.
#[test]
fn a_max_batch_bytes_too_small_for_any_batch_is_a_config_error() {
    let site = Site::new();
    let config = site.config(&delivery_section(&site, "max_batch_bytes = 100"));
    let out = site.run(&["scan", "--config", &config.to_string_lossy()]);
    assert_ne!(out.status.code(), Some(0));
    let t = text(&out);
    assert!(t.contains("max_batch_bytes = 100") && t.contains("at least 4096"), "{t}");
}

/// A collector from before gzip reads the compressed body as a broken
/// envelope (400 malformed, a refusal for good): the agent sends the batch
/// as it is instead, and nothing goes to `rejected/`.
#[test]
fn a_collector_that_predates_gzip_gets_the_batch_uncompressed() {
    let stub = StubCollector::start();
    stub.set_predates_gzip(true);
    let (site, config) = crate::delivery::enrolled_site(&stub, "");
    stub.go_down();
    site.run(&["run", "--config", &config]);
    stub.come_up();
    let out = site.run(&["run", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("delivery: 2 delivered, 0 queued, 0 rejected"), "{}", text(&out));
    assert_eq!(stub.stored_sequences(), vec![1, 2]);
    assert_eq!((stub.gzip_requests(), stub.ingest_requests()), (1, 3), "gzip tried once, then every batch as it is");
    assert_eq!(stub.refusals(), vec![(400, "malformed".to_string())]);
    assert!(!site.path("spool/rejected").exists() || std::fs::read_dir(site.path("spool/rejected")).unwrap().next().is_none());
}
