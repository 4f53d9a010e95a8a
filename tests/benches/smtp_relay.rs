//! smtp-relay benchmark (run: `cargo bench -p plumbline-agent --bench smtp_relay`).
//!
//! N loopback SMTP targets — one real Postfix (Debian's package, open-relay
//! configuration, started by scripts/postfix-peer with its client
//! throttling off) listening on N addresses of a 127.x.y.0/28 block, port
//! 25 — checked by the smtp-relay component in
//! the real host (banner, EHLO, STARTTLS probe, the 16-combination relay
//! test, QUIT, one endpoint after another), next to nmap's smtp-open-relay
//! script on the same targets in the same run:
//!
//! - `nmap -p 25 -sV --script smtp-open-relay IP...` (the usual command;
//!   `-sV` service detection is most of its time), and
//! - `nmap -p 25 -Pn --script smtp-open-relay IP...` (the script alone;
//!   port 25 matches its port rule without -sV).
//!
//! Postfix's default throttling would measure the peer, not the clients:
//! `in_flow_delay = 1s` makes every MAIL FROM wait up to a second once its
//! flow tokens (about 100) are spent, because a relay test never queues a
//! message; the plugin, checking one endpoint at a time, then needs about
//! 16 s per endpoint while nmap overlaps its hosts.
//!
//! Runs are interleaved so both see the same machine load; medians of
//! `PLUMBLINE_BENCH_SMTP_RUNS` runs (default 3). `PLUMBLINE_BENCH_SMTP_TARGETS`
//! sets N (1 to 14, default 14). Every run's verdicts are checked: all open,
//! 16/16. Without nmap, only the plugin's times are printed.
//!
//! Then a /24 sweep as a real network shows it: two addresses of a
//! 127.x.y.0/24 are a real Postfix, and an nftables rule on the input hook
//! drops the SYNs to the other 252, so that each of them costs a connect
//! timeout (a loopback address with no listener would refuse at once). It
//! needs root and `nft` (Debian's nftables); without them it is skipped.

use plumbline_agent::capabilities::Network;
use plumbline_agent::config::{Config, Grants, TcpGrant};
use plumbline_agent::runtime::{Runtime, ScanInput};
use plumbline_tests::plugins;
use plumbline_tests::postfix::{self, free_loopback_block, Mode, PostfixPeer};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn nmap_installed() -> bool {
    Command::new("nmap").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// One nmap run; returns its time and how many targets it called open (16/16).
fn nmap(extra: &str, ips: &[Ipv4Addr]) -> (Duration, usize) {
    let t = Instant::now();
    let out = Command::new("nmap")
        .args(["-p", "25", extra, "--script", "smtp-open-relay"])
        .args(ips.iter().map(Ipv4Addr::to_string))
        .output()
        .expect("nmap runs");
    let took = t.elapsed();
    assert!(out.status.success(), "nmap failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    (took, text.matches("Server is an open relay (16/16 tests)").count())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !postfix::available() {
        println!("smtp-relay benchmark skipped: {}", postfix::NOT_AVAILABLE);
        return;
    }
    let n = env_usize("PLUMBLINE_BENCH_SMTP_TARGETS", 14).clamp(1, 14);
    let runs = env_usize("PLUMBLINE_BENCH_SMTP_RUNS", 3).max(1);
    let (block, hosts) = free_loopback_block(25).expect("a free loopback block");
    let ips: Vec<Ipv4Addr> = hosts.into_iter().take(n).collect();
    let listen: Vec<SocketAddrV4> = ips.iter().map(|ip| SocketAddrV4::new(*ip, 25)).collect();
    let peer = PostfixPeer::start_with(Mode::Open, &listen, &[], false).expect("Postfix peer");

    let cfg: Config = toml::from_str("tenant_id = 't'\nsite_id = 's'").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let rt = Runtime::new(Some(&tmp.path().join("cache")), Arc::new(Network::from_config(&cfg).unwrap())).unwrap();
    let loaded = rt.load(&plugins::plugin("smtp-relay"), &signed_by_the_build()).unwrap();
    let desc = rt.describe(&loaded).await.unwrap();
    let targets: Vec<String> = ips.iter().map(|ip| format!("{ip}:25")).collect();
    let input = || scan_input(vec![("targets".into(), targets.join(","))], &format!("{block}/28:25"), tmp.path());

    let have_nmap = nmap_installed();
    let (mut ours, mut nmap_sv, mut nmap_script) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let report = rt.scan(&loaded, &desc, input()).await.expect("smtp-relay scan");
        ours.push(t.elapsed());
        let open = report
            .connectors
            .iter()
            .filter(|c| c.attributes.get("open_relay_tests").map(String::as_str) == Some("16/16 accepted"))
            .count();
        assert_eq!(open, n, "the plugin must call every target an open relay (16/16): {:?}", report.connectors);
        if have_nmap {
            let (d, open) = nmap("-sV", &ips);
            assert_eq!(open, n, "nmap -sV must call every target an open relay");
            nmap_sv.push(d);
            let (d, open) = nmap("-Pn", &ips);
            assert_eq!(open, n, "nmap must call every target an open relay");
            nmap_script.push(d);
        }
    }
    drop(peer);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ours = median(ours);
    println!("smtp-relay vs nmap smtp-open-relay: {n} loopback targets (one Postfix on {block}/28, port 25, open relay, throttling off), median of {runs} runs");
    println!("  smtp-relay plugin (wasm, real host):      {:>9.1} ms  {:>7.1} ms/target", ms(ours), ms(ours) / n as f64);
    if !have_nmap {
        println!("  nmap is not installed (apt-get install nmap): no comparison");
        return;
    }
    let (sv, script) = (median(nmap_sv), median(nmap_script));
    println!("  nmap -p 25 -sV --script smtp-open-relay:  {:>9.1} ms  {:>7.1} ms/target", ms(sv), ms(sv) / n as f64);
    println!("  nmap -p 25 -Pn --script smtp-open-relay:  {:>9.1} ms  {:>7.1} ms/target", ms(script), ms(script) / n as f64);
    println!("  nmap -sV / plugin time:                   {:>9.2}x", sv.as_secs_f64() / ours.as_secs_f64());
    println!("  nmap -Pn / plugin time:                   {:>9.2}x", script.as_secs_f64() / ours.as_secs_f64());
    sweep(&rt, runs).await;
}

/// A scan with these settings and one TCP grant.
fn scan_input(settings: Vec<(String, String)>, grant: &str, base_dir: &std::path::Path) -> ScanInput {
    ScanInput {
        tenant_id: "t".into(),
        site_id: "s".into(),
        settings,
        grants: Grants { tcp: vec![TcpGrant::parse(grant).unwrap()], ..Grants::default() },
        base_dir: base_dir.to_path_buf(),
        timeout: Duration::from_secs(600),
        started_at_ms: 1_795_597_200_000,
        progress: None,
    }
}

/// An nftables table that drops SYNs, removed when dropped.
struct SilentAddresses(String);

impl SilentAddresses {
    /// Drop TCP to port 25 of `block`/24 on the input hook, except to `live`.
    fn install(block: Ipv4Addr, live: &[Ipv4Addr]) -> Result<Self, String> {
        let table = format!("plumbline_sweep_{}", std::process::id());
        let live: Vec<String> = live.iter().map(Ipv4Addr::to_string).collect();
        let rules = format!(
            "table inet {table} {{ chain input {{ type filter hook input priority 0; policy accept; \
             ip daddr {block}/24 ip daddr != {{ {} }} tcp dport 25 drop; }}; }}",
            live.join(", ")
        );
        let out = Command::new("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn().and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("piped").write_all(rules.as_bytes())?;
            c.wait_with_output()
        });
        match out {
            Ok(o) if o.status.success() => Ok(SilentAddresses(table)),
            Ok(o) => Err(format!("nft refused the rule: {}", String::from_utf8_lossy(&o.stderr).trim())),
            Err(e) => Err(format!("nft could not run ({e}); apt-get install nftables, as root")),
        }
    }
}

impl Drop for SilentAddresses {
    fn drop(&mut self) {
        let _ = Command::new("nft").args(["delete", "table", "inet", &self.0]).status();
    }
}

/// The /24 sweep: two live Postfix addresses among 254, the rest silent.
async fn sweep(rt: &Runtime, runs: usize) {
    let first = postfix::free_loopback(&[25]).expect("a free loopback address");
    let [_, b, c, _] = first.octets();
    let block = Ipv4Addr::new(127, b, c, 0);
    let free = |ip: &Ipv4Addr| *ip != first && std::net::TcpListener::bind(SocketAddrV4::new(*ip, 25)).is_ok();
    let second = (1..=254).rev().map(|i| Ipv4Addr::new(127, b, c, i)).find(free).expect("a second free address");
    let silent = match SilentAddresses::install(block, &[first, second]) {
        Ok(s) => s,
        Err(why) => {
            println!("/24 sweep skipped: {why}");
            return;
        }
    };
    let listen = [SocketAddrV4::new(first, 25), SocketAddrV4::new(second, 25)];
    let peer = PostfixPeer::start_with(Mode::Open, &listen, &[], false).expect("Postfix peer");
    let loaded = rt.load(&plugins::plugin("smtp-relay"), &signed_by_the_build()).unwrap();
    let desc = rt.describe(&loaded).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let settings = vec![("targets".into(), format!("{block}/24")), ("ports".into(), "25".into())];
    let input = || scan_input(settings.clone(), &format!("{block}/24:25"), tmp.path());
    let mut took = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let report = rt.scan(&loaded, &desc, input()).await.expect("smtp-relay sweep");
        took.push(t.elapsed());
        let open = report
            .connectors
            .iter()
            .filter(|c| c.attributes.get("open_relay_tests").map(String::as_str) == Some("16/16 accepted"))
            .count();
        assert_eq!(open, 2, "the sweep must find both peers open (16/16), nothing else: {:?}", report.connectors);
        assert_eq!(report.connectors.len(), 2, "the 252 silent addresses are counted, not reported");
    }
    drop((peer, silent));
    // What the plugin says its default is: it bounds a sweep from below.
    let connect_timeout = desc.settings.iter().find(|s| s.name == "sweep_connect_timeout_ms").and_then(|s| s.default.clone());
    let d = median(took);
    println!("/24 sweep: {block}/24, 2 Postfix peers, 252 addresses dropping SYNs (nftables), median of {runs} runs");
    println!(
        "  smtp-relay plugin (wasm, real host):      {:>9.1} ms  (sweep connect timeout {} ms)",
        d.as_secs_f64() * 1e3,
        connect_timeout.as_deref().unwrap_or("not declared")
    );
}

/// Load what the build signed, as a config trusting its key does.
fn signed_by_the_build() -> plumbline_agent::runtime::trust::TrustPolicy {
    let key = plumbline_agent::runtime::trust::PublisherKey::parse(plugins::publisher()).unwrap();
    plumbline_agent::runtime::trust::TrustPolicy::new("smtp-relay", vec![key], None, false)
}
