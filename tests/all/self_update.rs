//! Signed self-update against the real collector over HTTPS on loopback.
//! The agent under test is a copy of the `plumbline` binary in the site
//! ("v1"); "v2" is the same build with bytes appended (so its sha256
//! differs, and it still runs and reports the crate's version). The copy
//! starts with a state whose highest verified version is lower than that,
//! so v2's manifest, signed for the version v2 really reports, is an
//! update; nothing in the binary can be told to report another version.
//! Every refusal is checked to change nothing: the executable, the state
//! and the folder beside it stay as they were.
#![cfg(target_os = "linux")]

use crate::delivery::text;
use crate::end_to_end::Collector;
use crate::support::{lit, Site};
use plumbline_agent::update::{state, VERSION};
use plumbline_protocol::plugin_signature::PublisherSecret;
use plumbline_protocol::release::{self, Manifest};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Lower than the crate's version: what the copy has "verified" so far.
const EARLIER: &str = "0.0.1";

struct Fleet {
    site: Site,
    collector: Collector,
    config: PathBuf,
    exe: PathBuf,
    key: PathBuf,
}

fn sha(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// The `plumbline` binary without its debug info (300 MB in a test build;
/// a release is about 25 MB, under the release size limit), at `to`.
fn stripped(to: &Path) {
    let out = Command::new("strip").arg("--strip-debug").arg("-o").arg(to).arg(env!("CARGO_BIN_EXE_plumbline")).output();
    let out = out.expect("strip (binutils) runs");
    assert!(out.status.success(), "strip: {}", text(&out));
}

impl Fleet {
    async fn new() -> Fleet {
        let site = Site::new();
        let collector = Collector::start(&site, &format!("sqlite:{}", site.path("collector.db").display())).await;
        let key = site.path("release.key");
        let out = site.run(&["release", "keygen", "--out", &key.to_string_lossy()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let public = std::fs::read_to_string(site.path("release.key.pub")).unwrap();
        assert!(text(&out).contains(&format!("release_keys = [\"{}\"]", public.trim())), "{}", text(&out));
        let body = format!(
            "[delivery]\ncollector_ca_file = {}\nkey_file = {}\nspool_dir = {}\n\n[update]\nrelease_keys = ['{}']\n",
            lit(&collector.cert_file),
            lit(&site.path("keys/agent.key")),
            lit(&site.path("spool")),
            public.trim()
        );
        let config = site.config(&body);
        let c = config.to_string_lossy().into_owned();
        let out = site.run(&["enroll", "--collector", &collector.base, "--token", &collector.enroll_token, "--config", &c]);
        assert!(out.status.success(), "enroll: {}", text(&out));
        let exe = site.path("bin/plumbline");
        std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
        stripped(&exe);
        let fleet = Fleet { site, collector, config, exe, key };
        fleet.set_highest(EARLIER);
        fleet
    }

    fn set_highest(&self, version: &str) {
        let s = state::UpdateState { highest_verified: Some(version.into()), ..Default::default() };
        state::save(&self.site.path("spool"), &s).unwrap();
    }

    fn highest(&self) -> Option<String> {
        state::load(&self.site.path("spool")).unwrap().highest_verified
    }

    /// The agent copy, as an operator or the service runs it.
    fn agent(&self, args: &[&str]) -> Output {
        Command::new(&self.exe).args(args).args(["--config", &self.config.to_string_lossy()]).env("NO_COLOR", "1").output().unwrap()
    }

    /// The binary with bytes appended: another file that runs the same.
    fn build(&self, name: &str, appended: &[u8]) -> PathBuf {
        let path = self.site.path(name);
        stripped(&path);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(appended);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `plumbline release sign`, then publish on the collector (as
    /// `plumbline-collector release add` does).
    fn publish(&self, binary: &Path, version: &str) -> PathBuf {
        let manifest = self.site.path(&format!("{version}.manifest.json"));
        let args = ["release", "sign", "--binary", &binary.to_string_lossy(), "--version", version, "--platform", "x86_64-linux"];
        let out = self.site.run(&[&args[..], &["--key", &self.key.to_string_lossy(), "--out", &manifest.to_string_lossy()]].concat());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        self.collector.releases.add(&std::fs::read(&manifest).unwrap(), binary).unwrap();
        manifest
    }

    fn clear_releases(&self) {
        let _ = std::fs::remove_dir_all(self.collector.releases.dir());
    }

    /// A refused update changed nothing here.
    fn unchanged(&self, exe_sha: &str, highest: &str) {
        assert_eq!(sha(&self.exe), exe_sha, "the executable is untouched");
        assert_eq!(self.highest().as_deref(), Some(highest), "the highest verified version is untouched");
        for leftover in ["plumbline.new", "plumbline.old"] {
            assert!(!self.site.path(&format!("bin/{leftover}")).exists(), "{leftover} left beside the executable");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_updates_itself_to_a_signed_v2_from_the_collector() {
    let mut fleet = Fleet::new().await;
    let v1 = sha(&fleet.exe);
    let out = fleet.agent(&["update"]);
    assert!(out.status.success() && text(&out).contains("publishes no release for x86_64-linux"), "{}", text(&out));

    let v2 = fleet.build("plumbline-v2", b"\nplumbline test build v2\n");
    fleet.publish(&v2, VERSION);
    let out = fleet.agent(&["update", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(&format!("update available: {VERSION} -> {VERSION}")), "{}", text(&out));
    assert_eq!(sha(&fleet.exe), v1, "--check installs nothing");

    let out = fleet.agent(&["update"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains(&format!("updated {} from {VERSION} to {VERSION}", fleet.exe.display())), "{}", text(&out));
    assert_eq!(sha(&fleet.exe), sha(&v2), "the executable is v2");
    assert_eq!(sha(&fleet.site.path("bin/plumbline.old")), v1, "v1 is kept to put back");
    assert!(!fleet.site.path("bin/plumbline.new").exists());
    assert_eq!(fleet.highest().as_deref(), Some(VERSION));

    // v2 runs, and the same release again is nothing to do.
    let out = Command::new(&fleet.exe).arg("self-check").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("plumbline-self-check {VERSION} x86_64-linux"));
    let out = fleet.agent(&["update"]);
    assert!(out.status.success() && text(&out).contains(&format!("up to date: {VERSION}")), "{}", text(&out));
    assert_eq!(sha(&fleet.exe), sha(&v2));
    fleet.collector.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_binary_a_wrong_signature_a_downgrade_and_an_expired_manifest_are_refused_and_change_nothing() {
    let mut fleet = Fleet::new().await;
    let v1 = sha(&fleet.exe);
    let v2 = fleet.build("plumbline-v2", b"\nv2\n");
    let refused = |out: &Output, says: &[&str]| {
        assert_eq!(out.status.code(), Some(2), "{}", text(out));
        for s in says {
            assert!(text(out).contains(s), "expected {s:?} in: {}", text(out));
        }
    };

    // Tampered on the collector after publishing: same size, one byte off.
    let manifest = fleet.publish(&v2, VERSION);
    let served = fleet.collector.releases.binary_path(&sha(&v2));
    let mut bytes = std::fs::read(&served).unwrap();
    bytes[1000] ^= 1;
    std::fs::write(&served, &bytes).unwrap();
    refused(&fleet.agent(&["update"]), &["update refused", "changed or damaged", &sha(&v2), "nothing was installed"]);
    fleet.unchanged(&v1, EARLIER);

    // Signed by a key the agent does not trust.
    fleet.clear_releases();
    let stranger = PublisherSecret::generate();
    let m: Manifest = release::read_unverified(&std::fs::read(&manifest).unwrap()).unwrap();
    fleet.collector.releases.add(&release::sign(&m, &stranger).unwrap(), &v2).unwrap();
    refused(&fleet.agent(&["update"]), &["update refused", &stranger.public().key_id(), "not in [update] release_keys"]);
    fleet.unchanged(&v1, EARLIER);

    // The trusted key's signature, over a changed manifest.
    fleet.clear_releases();
    let mut envelope: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let mut changed = m.clone();
    changed.expires_at = "2027-12-01T00:00:00Z".into();
    use base64::Engine as _;
    envelope["payload"] = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&changed).unwrap()).into();
    fleet.collector.releases.add(&serde_json::to_vec(&envelope).unwrap(), &v2).unwrap();
    refused(&fleet.agent(&["update"]), &["update refused", "does not verify", "nothing was installed"]);
    fleet.unchanged(&v1, EARLIER);

    // A downgrade: below the highest version verified here.
    fleet.clear_releases();
    fleet.set_highest(VERSION);
    fleet.publish(&v2, "0.0.5");
    refused(&fleet.agent(&["update"]), &["update refused", "release 0.0.5", "downgrade", &format!("({VERSION})")]);
    fleet.unchanged(&v1, VERSION);

    // Expired: correctly signed, long ago.
    fleet.clear_releases();
    fleet.set_highest(EARLIER);
    let secret = PublisherSecret::from_pem(&std::fs::read_to_string(&fleet.key).unwrap()).unwrap();
    let old = Manifest { issued_at: "2025-01-01T00:00:00Z".into(), expires_at: "2025-02-01T00:00:00Z".into(), ..m };
    fleet.collector.releases.add(&release::sign(&old, &secret).unwrap(), &v2).unwrap();
    refused(&fleet.agent(&["update"]), &["update refused", "expired at 2025-02-01T00:00:00Z", "signs it again"]);
    fleet.unchanged(&v1, EARLIER);
    fleet.collector.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_fails_its_self_check_is_rolled_back() {
    let mut fleet = Fleet::new().await;
    let v1 = sha(&fleet.exe);
    let unchanged_but_remembered = |fleet: &Fleet| {
        assert_eq!(sha(&fleet.exe), v1, "the executable is still v1");
        assert!(!fleet.site.path("bin/plumbline.new").exists(), "the staged binary is deleted");
        assert!(!fleet.site.path("bin/plumbline.old").exists(), "nothing was swapped");
        assert_eq!(fleet.highest().as_deref(), Some(VERSION), "a broken release is not fetched again");
    };

    // Not a working binary at all.
    let broken = fleet.site.path("broken");
    std::fs::write(&broken, "#!/bin/sh\necho 'segmentation fault' >&2\nexit 139\n").unwrap();
    fleet.publish(&broken, VERSION);
    let out = fleet.agent(&["update"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("update rolled back") && text(&out).contains("failed its self-check"), "{}", text(&out));
    assert!(text(&out).contains("segmentation fault") && text(&out).contains(&format!("still runs {VERSION}")), "{}", text(&out));
    unchanged_but_remembered(&fleet);
    let out = fleet.agent(&["update"]);
    assert!(out.status.success() && text(&out).contains("up to date"), "the same release is not tried again: {}", text(&out));

    // One that runs but is not the version its manifest promises.
    fleet.clear_releases();
    fleet.set_highest(EARLIER);
    let liar = fleet.site.path("liar");
    std::fs::write(&liar, "#!/bin/sh\necho 'plumbline-self-check 0.0.2 x86_64-linux'\n").unwrap();
    fleet.publish(&liar, VERSION);
    let out = fleet.agent(&["update"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("plumbline-self-check 0.0.2") && text(&out).contains("promises"), "{}", text(&out));
    unchanged_but_remembered(&fleet);
    fleet.collector.down().await;
}
