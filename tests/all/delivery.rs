//! Delivery as an operator and an auditor see it, with the real `plumbline`
//! binary against a stand-in collector that speaks the wire contract:
//! enrollment, signed batches, the spool surviving outages and SIGKILL,
//! refusals quarantined, and offline verification.

use crate::support::{lit, Site, TENANT};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use plumbline_protocol::identity::{agent_id, parse_public_key, public_key_b64, public_key_pem, AgentKey};
use plumbline_tests::stub_collector::{Hold, StubCollector};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

const TOKEN: &str = "enroll-token-1";
const SITE_ID: &str = "test-site";

/// `[delivery]` for a site: spool and key inside it, fast retries.
pub fn delivery_section(site: &Site, extra: &str) -> String {
    format!(
        "[delivery]\nkey_file = {}\nspool_dir = {}\nretry_base_ms = 5\nretry_cap_ms = 50\nretry_max_attempts = 3\n{extra}\n",
        lit(&site.path("keys/agent.key")),
        lit(&site.path("spool"))
    )
}

/// A site with no plugins (an empty but real scan) and a delivery section.
fn quiet_site(extra: &str) -> (Site, String) {
    let site = Site::new();
    let config = site.config(&delivery_section(&site, extra));
    let config = config.to_string_lossy().into_owned();
    (site, config)
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn enroll(site: &Site, config: &str, stub: &StubCollector, token: &str) -> Output {
    stub.add_token(token, TENANT, SITE_ID);
    site.run(&["enroll", "--collector", &stub.url(), "--token", token, "--config", config])
}

pub fn enrolled_site(stub: &StubCollector, extra: &str) -> (Site, String) {
    let (site, config) = quiet_site(extra);
    let out = enroll(&site, &config, stub, TOKEN);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    (site, config)
}

pub fn spooled(site: &Site) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(site.path("spool"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("batch-"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn batch_name(sequence: u64) -> String {
    format!("batch-{sequence:020}.json")
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// An enrollment whose answer never came keeps its staged key, and the next
/// attempt asks with that same key (which the collector then answers with
/// the same enrollment instead of "token already used").
#[test]
fn a_lost_enrollment_answer_keeps_the_key_for_the_next_attempt() {
    let stub = StubCollector::start();
    let (site, config) = quiet_site("");
    // Takes the request whole, then hangs up without answering.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let hang_up = std::thread::spawn(move || {
        use std::io::Read;
        let (mut conn, _) = silent.accept().unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_millis(500))).unwrap();
        let mut buf = [0u8; 65536];
        let mut got = Vec::new();
        while let Ok(n) = conn.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    let out = site.run(&["enroll", "--collector", &format!("http://{addr}"), "--token", TOKEN, "--config", &config]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let request = String::from_utf8_lossy(&hang_up.join().unwrap()).to_string();
    assert!(request.starts_with("POST /v1/enroll") && request.contains("public_key"), "{request}");
    let staged = std::fs::read(site.path("keys/agent.key.new")).expect("the staged key is kept after a lost answer");
    let out = enroll(&site, &config, &stub, TOKEN);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(std::fs::read(site.path("keys/agent.key")).unwrap(), staged, "the same key was asked again");
    assert!(!site.path("keys/agent.key.new").exists());
}

/// A collector that could not be reached at all never saw the key made for
/// it: nothing of it is left behind, and the next attempt makes its own.
#[test]
fn an_unreachable_collector_leaves_no_staged_key() {
    let (site, config) = quiet_site("");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let out = site.run(&["enroll", "--collector", &format!("http://{closed}"), "--token", TOKEN, "--config", &config]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains(&closed.to_string()), "{}", text(&out));
    assert!(!site.path("keys/agent.key.new").exists() && !site.path("keys/agent.key").exists());
}

#[test]
fn enroll_writes_a_private_key_and_the_agent_id_matches() {
    let stub = StubCollector::start();
    let (site, config) = quiet_site("");
    let key_file = site.path("keys/agent.key");

    // Before enrolling, `run` fails fast and says what to do.
    let out = site.run(&["run", "--config", &config]);
    assert_eq!(out.status.code(), Some(2));
    let fix = format!("run `plumbline enroll --collector URL --token TOKEN --config {config}` first");
    assert!(text(&out).contains("not enrolled") && text(&out).contains(&fix), "{}", text(&out));
    let out = site.run(&["spool", "requeue", "--all", "--config", &config]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains(&fix), "{}", text(&out));

    // A token the collector does not know: refused, and no key is left.
    let out = site.run(&["enroll", "--collector", &stub.url(), "--token", "nope", "--config", &config]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("refused the enrollment") && text(&out).contains("bad_token"), "{}", text(&out));
    assert!(!key_file.exists() && !site.path("keys/agent.key.new").exists());

    let out = enroll(&site, &config, &stub, TOKEN);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let agents = stub.agents();
    assert_eq!(agents.len(), 1);
    let enrolled = &agents[0];
    assert_eq!(enrolled.tenant_id, TENANT);
    assert!(!enrolled.hostname.is_empty());

    // The key on disk is the key the collector enrolled.
    let key = AgentKey::from_pem(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    assert_eq!(key.agent_id(), enrolled.agent_id);
    assert_eq!(public_key_b64(&key.verifying()), enrolled.public_key);
    let public = parse_public_key(&std::fs::read_to_string(site.path("keys/agent.pub")).unwrap()).unwrap();
    assert_eq!(agent_id(&public), enrolled.agent_id);
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(site.path("keys/enrollment.json")).unwrap()).unwrap();
    assert_eq!(record["agent_id"], enrolled.agent_id.as_str());
    assert_eq!((record["tenant_id"].as_str(), record["site_id"].as_str()), (Some(TENANT), Some(SITE_ID)));
    assert!(record["collector_url"].as_str().unwrap().starts_with(&stub.url()));
    // The operator is told the id and where the public key is.
    let said = stdout(&out);
    assert!(said.contains(&enrolled.agent_id) && said.contains("agent.pub"), "{said}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&key_file), 0o600, "the private key is the agent account's alone");
        assert_eq!(mode(key_file.parent().unwrap()), 0o700);
    }

    // A second enrollment does not silently replace the key ...
    let before = std::fs::read(&key_file).unwrap();
    let out = enroll(&site, &config, &stub, "enroll-token-2");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("already enrolled") && text(&out).contains("--force"), "{}", text(&out));
    assert_eq!(std::fs::read(&key_file).unwrap(), before);
    // ... unless asked to.
    let out = site.run(&["enroll", "--collector", &stub.url(), "--token", "enroll-token-2", "--config", &config, "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The stub collector does not revoke, so the operator is told to.
    assert!(text(&out).contains(&format!("replaced the key of agent {}", enrolled.agent_id)), "{}", text(&out));
    assert!(text(&out).contains(&format!("agent revoke {}", enrolled.agent_id)), "{}", text(&out));
    assert_ne!(std::fs::read(&key_file).unwrap(), before);
    assert_eq!(stub.agents().len(), 2);
}

#[test]
fn a_config_for_another_site_than_enrolled_fails_before_scanning() {
    let stub = StubCollector::start();
    let (site, config) = quiet_site("");
    stub.add_token("other-site-token", TENANT, "other-site");
    let out = site.run(&["enroll", "--collector", &stub.url(), "--token", "other-site-token", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("warning") && text(&out).contains("other-site"), "{}", text(&out));
    let out = site.run(&["run", "--config", &config]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("would refuse every batch"), "{}", text(&out));
    assert!(stdout(&out).is_empty(), "no scan was run");
    assert!(spooled(&site).is_empty() && stub.ingest_requests() == 0);
}

#[test]
fn run_delivers_one_signed_batch() {
    let stub = StubCollector::start();
    let site = Site::new();
    let exports = site.demo_exports();
    let config = site.config(&format!("{}\n{}", delivery_section(&site, ""), Site::exchange_offline_section(&exports)));
    let config = config.to_string_lossy().into_owned();
    let out = enroll(&site, &config, &stub, TOKEN);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = site.run(&["run", "--config", &config, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The scan prints exactly as `scan` does ...
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is the scan's JSON");
    // ... and the delivery summary goes to stderr with the scan summary.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("delivery: 1 delivered, 0 queued, 0 rejected"), "{err}");

    let stored = stub.stored();
    assert_eq!(stored.len(), 1);
    let b = &stored[0].batch;
    assert_eq!((b.sequence, b.tenant_id.as_str(), b.site_id.as_str()), (1, TENANT, SITE_ID));
    assert_eq!(b.agent_id, stub.agents()[0].agent_id);
    assert_eq!(b.plugins[0].name, "exchange-connectors");
    assert_eq!(b.plugins[0].sha256.as_deref().map(str::len), Some(64));
    let ids: Vec<&str> = printed["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert!(!ids.is_empty());
    assert_eq!(ids, b.findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>());
    assert_eq!(printed["connectors"].as_array().unwrap().len(), b.connectors.len());
    assert!(spooled(&site).is_empty(), "acknowledged batches leave the spool");

    // The table format ends with the delivery line; the next batch is 2.
    let out = site.run(&["run", "--config", &config, "--fail-on", "high"]);
    assert_eq!(out.status.code(), Some(1), "--fail-on works as in `scan`: {}", text(&out));
    let last = stdout(&out).trim_end().lines().last().unwrap().to_string();
    assert_eq!(last, "delivery: 1 delivered, 0 queued, 0 rejected");
    assert_eq!(stub.stored_sequences(), vec![1, 2]);
}

#[test]
fn collector_down_keeps_batches_and_flush_delivers_each_once() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "");

    stub.go_down();
    for queued in ["1 batch", "2 batches"] {
        let out = site.run(&["run", "--config", &config]);
        assert_eq!(out.status.code(), Some(0), "the scan still succeeds: {}", text(&out));
        let all = text(&out);
        let still = format!("{queued} still queued in");
        assert!(all.contains("warning") && all.contains("unreachable") && all.contains(&still), "{all}");
    }
    assert_eq!(spooled(&site), vec![batch_name(1), batch_name(2)]);

    let out = site.run(&["spool", "status", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = stdout(&out);
    assert!(status.contains("queued:     2 batches") && status.contains("sequence 1 .. 2"), "{status}");
    assert!(status.contains("rejected:   0") && status.contains("unreachable"), "{status}");

    // Back, but busy: 503 is retried, then the batches keep waiting.
    stub.come_up();
    stub.set_unavailable(Some(0));
    let out = site.run(&["spool", "flush", "--config", &config]);
    assert_eq!(out.status.code(), Some(1), "batches still queued: {}", text(&out));
    assert!(stdout(&out).contains("delivery: 0 delivered, 2 queued, 0 rejected"), "{}", text(&out));
    assert_eq!(stub.ingest_requests(), 3, "retried up to retry_max_attempts, and stopped at the first batch");
    assert!(stub.stored().is_empty());

    stub.set_unavailable(None);
    let out = site.run(&["spool", "flush", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).contains("delivery: 2 delivered, 0 queued, 0 rejected"), "{}", text(&out));
    assert_eq!(stub.stored_sequences(), vec![1, 2], "each batch once, in order");
    assert!(spooled(&site).is_empty());

    let out = site.run(&["spool", "flush", "--config", &config]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("delivery: 0 delivered, 0 queued, 0 rejected"));
    assert_eq!(stub.stored().len(), 2);
    assert_eq!(stub.duplicates(), 0);
    let status = stdout(&site.run(&["spool", "status", "--config", &config]));
    assert!(status.contains("queued:     0 batches") && status.contains("last error: none"), "{status}");
}

#[test]
fn a_full_spool_drops_the_oldest_batch_with_a_warning() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "spool_max_batches = 2");
    stub.go_down();
    let mut last = String::new();
    for _ in 0..3 {
        let out = site.run(&["run", "--config", &config]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        last = text(&out);
    }
    assert!(last.contains("dropped the oldest batch, sequence 1"), "{last}");
    assert_eq!(spooled(&site), vec![batch_name(2), batch_name(3)]);
    stub.come_up();
    let out = site.run(&["spool", "flush", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stub.stored_sequences(), vec![2, 3]);
}

fn spawn_run(config: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_plumbline"))
        .args(["run", "--config", config])
        .env("NO_COLOR", "1")
        .env_remove("PLUMBLINE_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("plumbline starts")
}

#[cfg(unix)]
#[test]
fn sigkill_between_spool_write_and_acknowledgement_loses_and_duplicates_nothing() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "");

    // The collector stores the batch but the agent dies before the ack.
    stub.set_hold(Hold::AfterStore);
    let mut child = spawn_run(&config);
    assert!(stub.wait_until(Duration::from_secs(60), |s| s.stored().len() == 1), "the push never arrived");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(spooled(&site), vec![batch_name(1)], "unacknowledged, so still spooled");

    // The next run spools batch 2 and dies while the collector holds the
    // re-send of batch 1, before storing anything.
    stub.set_hold(Hold::BeforeStore);
    let mut child = spawn_run(&config);
    assert!(stub.wait_until(Duration::from_secs(60), |s| s.ingest_requests() == 2), "the push never arrived");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(spooled(&site), vec![batch_name(1), batch_name(2)]);
    assert_eq!(stub.stored_sequences(), vec![1]);

    // Restart: everything arrives exactly once, and numbering goes on.
    stub.set_hold(Hold::Never);
    let out = site.run(&["run", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).contains("delivery: 3 delivered, 0 queued, 0 rejected"), "{}", text(&out));
    assert_eq!(stub.stored_sequences(), vec![1, 2, 3], "each batch stored once");
    assert_eq!(stub.duplicates(), 1, "batch 1 was re-sent and recognised");
    assert!(spooled(&site).is_empty());
    let stored: std::collections::HashSet<String> = stub.stored().into_iter().map(|b| b.digest).collect();
    assert_eq!(stored.len(), 3);
}

#[test]
fn a_refused_batch_moves_to_rejected_and_later_batches_still_go() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "");
    stub.go_down();
    for _ in 0..3 {
        assert_eq!(site.run(&["run", "--config", &config]).status.code(), Some(0));
    }
    // Batch 2 is altered on disk: its signature no longer holds.
    let path = site.path("spool").join(batch_name(2));
    let mut env: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let payload = String::from_utf8(B64.decode(env["payload"].as_str().unwrap()).unwrap()).unwrap();
    env["payload"] = B64.encode(payload.replace(SITE_ID, "evil-site")).into();
    std::fs::write(&path, serde_json::to_vec(&env).unwrap()).unwrap();

    stub.come_up();
    let out = site.run(&["spool", "flush", "--config", &config]);
    assert_eq!(out.status.code(), Some(4), "one refusal fails the delivery: {}", text(&out));
    assert!(stdout(&out).contains("delivery: 2 delivered, 0 queued, 1 rejected"), "{}", text(&out));
    assert!(text(&out).contains("refused batch 2") && text(&out).contains("bad_signature"), "{}", text(&out));
    assert_eq!(stub.stored_sequences(), vec![1, 3]);
    assert_eq!(stub.refusals(), vec![(401, "bad_signature".to_string())]);

    let rejected = site.path("spool/rejected");
    assert_eq!(std::fs::read(rejected.join(batch_name(2))).unwrap(), serde_json::to_vec(&env).unwrap(), "kept as it was");
    let reason: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rejected.join(batch_name(2).replace(".json", ".reason.json"))).unwrap()).unwrap();
    assert_eq!((reason["status"].as_u64(), reason["error"].as_str()), (Some(401), Some("bad_signature")));
    assert!(spooled(&site).is_empty());
    let status = stdout(&site.run(&["spool", "status", "--config", &config]));
    assert!(status.contains("rejected:   1"), "{status}");

    // The next batch goes straight through.
    let out = site.run(&["run", "--config", &config]);
    assert!(stdout(&out).contains("delivery: 1 delivered, 0 queued, 0 rejected"), "{}", text(&out));
    assert_eq!(stub.stored_sequences(), vec![1, 3, 4]);

    // The tampered batch is never given the agent's signature by requeue.
    let out = site.run(&["spool", "requeue", "2", "--config", &config]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not signed by this agent's key"), "{}", text(&out));
    assert!(rejected.join(batch_name(2)).exists(), "still kept");
    let out = site.run(&["spool", "requeue", "7", "--config", &config]);
    assert!(text(&out).contains("no rejected batch has sequence 7; rejected: 2"), "{}", text(&out));
}

#[test]
fn a_batch_refused_by_a_mistaken_revocation_is_requeued_and_delivered() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "");
    assert_eq!(stub.stored_sequences(), Vec::<u64>::new());
    let agent = stub.agents()[0].agent_id.clone();
    stub.revoke(&agent);
    let out = site.run(&["run", "--config", &config]);
    assert_eq!(out.status.code(), Some(4), "a refused delivery is no success: {}", text(&out));
    assert!(stdout(&out).contains("0 delivered, 0 queued, 1 rejected"), "{}", text(&out));
    assert!(text(&out).contains("plumbline spool requeue 1"), "the warning says how to send it again: {}", text(&out));

    stub.reinstate(&agent);
    let out = site.run(&["spool", "requeue", "--all", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).contains("requeued rejected batch 1 as batch 2"), "{}", text(&out));
    assert!(std::fs::read_dir(site.path("spool/rejected")).unwrap().next().is_none(), "nothing left in rejected/");
    let out = site.run(&["spool", "flush", "--config", &config]);
    assert!(stdout(&out).contains("delivery: 1 delivered, 0 queued, 0 rejected"), "{}", text(&out));
    assert_eq!(stub.stored_sequences(), vec![2]);
}

/// Only the collector's own typed refusals are final: a proxy's HTML 413 in
/// front of it leaves the batch queued, to go when the proxy is fixed.
#[test]
fn an_untyped_4xx_from_something_in_between_keeps_the_batch() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "");
    stub.set_foreign_refusal(Some(413));
    let out = site.run(&["run", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).contains("0 delivered, 1 queued, 0 rejected"), "{}", text(&out));
    assert!(text(&out).contains("HTTP 413 from something that is not the collector"), "{}", text(&out));
    stub.set_foreign_refusal(None);
    let out = site.run(&["spool", "flush", "--config", &config]);
    assert!(stdout(&out).contains("delivery: 1 delivered, 0 queued, 0 rejected"), "{}", text(&out));
    assert_eq!(stub.stored_sequences(), vec![1]);
}

#[test]
fn verify_accepts_a_stored_envelope_and_rejects_tampering_and_other_keys() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "");
    assert_eq!(site.run(&["run", "--config", &config]).status.code(), Some(0));
    let stored = stub.stored().pop().expect("one stored batch");
    let file = site.path("evidence.json");
    std::fs::write(&file, &stored.envelope).unwrap();
    let file_s = file.to_string_lossy().into_owned();
    let public = site.path("keys/agent.pub").to_string_lossy().into_owned();

    let out = site.run(&["verify", &file_s, "--key", &public]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = stdout(&out);
    for want in [
        format!("VALID: signed by agent {}", stored.agent_id),
        format!("tenant:     {TENANT}"),
        format!("site:       {SITE_ID}"),
        "sequence:   1".to_string(),
        format!("digest:     {}", stored.digest),
        format!("scan:       {} .. {}", stored.batch.scan_started_at, stored.batch.scan_finished_at),
        "connectors: 0".to_string(),
    ] {
        assert!(said.contains(&want), "missing {want:?} in:\n{said}");
    }
    // The raw base64 key works too.
    let key = parse_public_key(&std::fs::read_to_string(&public).unwrap()).unwrap();
    let out = site.run(&["verify", &file_s, "--key", &public_key_b64(&key)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Tampered: one character of the payload changed.
    let mut env: serde_json::Value = serde_json::from_slice(&stored.envelope).unwrap();
    let payload = String::from_utf8(B64.decode(env["payload"].as_str().unwrap()).unwrap()).unwrap();
    env["payload"] = B64.encode(payload.replace("\"sequence\":1", "\"sequence\":9")).into();
    let tampered = site.path("tampered.json");
    std::fs::write(&tampered, serde_json::to_vec(&env).unwrap()).unwrap();
    let out = site.run(&["verify", &tampered.to_string_lossy(), "--key", &public]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stdout(&out).contains("INVALID") && stdout(&out).contains("bad signature"), "{}", text(&out));

    // Checked with another agent's key.
    let other = site.path("other.pub");
    std::fs::write(&other, public_key_pem(&AgentKey::generate().verifying())).unwrap();
    let out = site.run(&["verify", &file_s, "--key", &other.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stdout(&out).contains("INVALID") && stdout(&out).contains("no signature by"), "{}", text(&out));

    // Not an envelope at all.
    let junk = site.path("junk.json");
    std::fs::write(&junk, b"{\"hello\":1}").unwrap();
    let out = site.run(&["verify", &junk.to_string_lossy(), "--key", &public]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // A key that is not a key is a usage error.
    let out = site.run(&["verify", &file_s, "--key", "not-a-key"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_pinned_collector_is_trusted_without_any_ca_and_another_certificate_is_refused() {
    use rustls_pki_types::pem::PemObject;
    let stub = StubCollector::start_tls();
    let pem = plumbline_tests::plugins::root().join("tests/data/collector-test.crt");
    let cert = rustls_pki_types::CertificateDer::from_pem_file(&pem).unwrap();
    let (whole, key) = plumbline_agent::delivery::trust::fingerprints(&cert);

    // The wrong pin: refused, naming what the collector has, and nothing kept.
    let wrong = format!("sha256:{}", "00".repeat(32));
    let (site, config) = quiet_site(&format!("collector_pin = \"{wrong}\""));
    let out = enroll(&site, &config, &stub, "pin-token-1");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("does not match [delivery] collector_pin") && said.contains(&whole), "{said}");
    assert!(!site.path("keys/agent.key").exists());

    // The certificate's pin alone (no CA file): enrolled and delivered. The
    // key's pin works the same.
    let (site, config) = quiet_site(&format!("collector_pin = \"{whole}\""));
    assert_eq!(enroll(&site, &config, &stub, "pin-token-2").status.code(), Some(0));
    let out = site.run(&["run", "--config", &config]);
    assert!(stdout(&out).contains("delivery: 1 delivered"), "{}", text(&out));
    let (site, config) = quiet_site(&format!("collector_pin = \"{}\"", key.unwrap()));
    assert_eq!(enroll(&site, &config, &stub, "pin-token-3").status.code(), Some(0));

    // A pin that is no pin is a config error that shows one that is.
    let (site, config) = quiet_site("collector_pin = \"sha256:abc\"");
    let out = enroll(&site, &config, &stub, "pin-token-4");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("collector_pin = \"sha256:3f3f"), "{}", text(&out));
}

#[test]
fn a_private_collector_certificate_is_trusted_through_collector_ca_file() {
    let stub = StubCollector::start_tls();
    let ca: PathBuf = plumbline_tests::plugins::root().join("tests/data/collector-test-ca.crt");

    // Without the CA, the collector's certificate is not trusted, and the
    // message says which settings fix that.
    let (site, config) = quiet_site("");
    let out = enroll(&site, &config, &stub, "tls-token-1");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("UnknownIssuer") && said.contains("[delivery] collector_ca_file"), "{said}");
    assert!(said.contains("[delivery] collector_pin"), "{said}");
    assert!(!site.path("keys/agent.key").exists());

    // With the wrong CA in collector_ca_file, the message names that file.
    let wrong = plumbline_tests::plugins::root().join("tests/data/test-app.crt");
    let (site, config) = quiet_site(&format!("collector_ca_file = {}", lit(&wrong)));
    let out = enroll(&site, &config, &stub, "tls-token-3");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(&format!("collector_ca_file ({})", wrong.display())), "{}", text(&out));

    let (site, config) = quiet_site(&format!("collector_ca_file = {}", lit(&ca)));
    let out = enroll(&site, &config, &stub, "tls-token-2");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = site.run(&["run", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).contains("delivery: 1 delivered"), "{}", text(&out));
    assert_eq!(stub.stored_sequences(), vec![1]);
}
