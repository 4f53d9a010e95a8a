//! power-automate-flows throughput (run: `cargo bench -p plumbline-agent --bench flows`).
//!
//! One environment of `PLUMBLINE_BENCH_FLOWS` flows (default 20,000) served
//! by the fixture server on loopback; the real component in the real host,
//! live mode, tokens from the fixture's token endpoint, every request
//! through the host's `http` capability (allowlist, credential audience,
//! endpoint override, throttling retries). Measured end to end: listing,
//! one permissions request per flow, definitions for webhook and HTTP
//! flows, Graph owner lookups, checks and the register.
//!
//! The component is compiled into the cache first, so the time is the
//! scan's, not Cranelift's. Prints flows/s and the host calls by kind.
//!
//! `PLUMBLINE_BENCH_LATENCY_MS` adds that much to every answer, as a real
//! service's round trip does (loopback alone is CPU-bound on a small box).
//! `PLUMBLINE_BENCH_COMPONENT=v0.1` runs the committed contract-0.1.0 build
//! instead (every request one after another: the "before" of send-all);
//! any other value is a component file.

use plumbline_agent::config::Config;
use plumbline_tests::fixture::{FixtureServer, FlowData, Scenario, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use plumbline_tests::plugins;
use std::collections::BTreeMap;
use std::time::Instant;

fn lit(p: &std::path::Path) -> String {
    format!("'{}'", p.display())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("PLUMBLINE_BENCH_FLOWS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let t = Instant::now();
    let latency: u64 = std::env::var("PLUMBLINE_BENCH_LATENCY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let data = FlowData::with_many_flows(n);
    let scenario = Scenario::demo().with_flows(data).with_latency(std::time::Duration::from_millis(latency));
    let server = FixtureServer::start(scenario).await.unwrap();
    println!("fixture: {n} flows in one environment, {latency} ms per answer, ready in {:.1} s", t.elapsed().as_secs_f64());

    let component = match std::env::var("PLUMBLINE_BENCH_COMPONENT").ok().as_deref() {
        None | Some("") => plugins::plugin("power-automate-flows"),
        Some("v0.1") => plugins::v0_1_plugin("power-automate-flows"),
        Some(path) => std::path::PathBuf::from(path),
    };
    println!("component: {}", component.display());
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("app.secret");
    std::fs::write(&secret, DEMO_CLIENT_SECRET).unwrap();
    let mut text = format!(
        "tenant_id = '{}'\nsite_id = 'bench'\nplugin_dir = {}\ncache_dir = {}\n\n\
         plugin_trust = {{ publishers = ['{}'] }}\n\
         [plugins.power-automate-flows]\npath = {}\ntimeout_secs = 3600\n\
         # The component may be an old unsigned build (v0.1); a signed one is still checked.\n\
         allow_unsigned = true\n\
         [plugins.power-automate-flows.grants]\nhttp = ['api.bap.microsoft.com', 'api.flow.microsoft.com', 'graph.microsoft.com']\n\
         credentials = ['flow', 'bap', 'graph']\n\
         [plugins.power-automate-flows.settings]\nmode = 'live'\nmax_flows = {n}\n",
        plumbline_tests::fixture::DEMO_TENANT_ID,
        lit(&plugins::plugins_dir()),
        lit(&tmp.path().join("cache")),
        plugins::publisher(),
        lit(&component),
    );
    for (name, scope, host) in [
        ("flow", "https://service.flow.microsoft.com/.default", "api.flow.microsoft.com"),
        ("bap", "https://api.bap.microsoft.com/.default", "api.bap.microsoft.com"),
        ("graph", "https://graph.microsoft.com/.default", "graph.microsoft.com"),
    ] {
        text.push_str(&format!(
            "[credentials.{name}]\nclient_id = '{DEMO_CLIENT_ID}'\nscope = '{scope}'\naudience = ['{host}']\nclient_secret_file = {}\n",
            lit(&secret)
        ));
    }
    let endpoints: BTreeMap<String, String> = server.endpoint_overrides().into_iter().collect();
    text.push_str("[endpoints]\n");
    for (h, u) in endpoints {
        text.push_str(&format!("\"{h}\" = \"{u}\"\n"));
    }
    let config_path = tmp.path().join("plumbline.toml");
    std::fs::write(&config_path, text).unwrap();
    let resolved = Config::load(&config_path).expect("config loads");
    let runtime = plumbline_agent::scan::runtime_for(&resolved).expect("runtime");
    runtime.load(&component, &resolved.trust("power-automate-flows")).expect("component compiles into the cache");

    let t = Instant::now();
    let result = plumbline_agent::scan::run(&resolved, &runtime).await;
    let elapsed = t.elapsed();
    println!("scan: {:.2} s", elapsed.as_secs_f64());
    let status = result.plugins.iter().find(|p| p.name == "power-automate-flows").unwrap();
    assert_eq!(status.status, "ok", "{status:?}");

    let requests = server.requests();
    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in &requests {
        let kind = if r.path.ends_with("/oauth2/v2.0/token") {
            "token endpoint"
        } else if r.path.contains("BusinessAppPlatform") {
            "environments (BAP)"
        } else if r.path.ends_with("/v2/flows") {
            "flow list pages"
        } else if r.path.ends_with("/permissions") {
            "flow permissions"
        } else if r.query.as_deref().is_some_and(|q| q.contains("$expand=properties.definition")) {
            "flow definitions"
        } else if r.path.ends_with("/getByIds") {
            "Graph getByIds"
        } else if r.path.starts_with("/v1.0/users/") {
            "Graph user lookups"
        } else {
            "other"
        };
        let e = by_kind.entry(kind).or_default();
        e.0 += 1;
        if r.status != 200 {
            e.1 += 1;
        }
    }
    let host_calls = requests.iter().filter(|r| !r.path.ends_with("/oauth2/v2.0/token")).count();
    // Register keys are namespaced by plugin (`power-automate-flows/flow:...`).
    let local = |key: &str| plumbline_agent::register::split_key(key).map_or(key.to_string(), |(_, l)| l.to_string());
    let flows_in_register = result.connectors.iter().filter(|c| local(&c.key).starts_with("flow:")).count();
    let env = result.connectors.iter().find(|c| local(&c.key).starts_with("flow-environment:")).unwrap();
    let secs = elapsed.as_secs_f64();
    println!("power-automate-flows, live, {n} flows (fixture on loopback, release build)");
    println!("  scan wall time:        {secs:>10.2} s  (plugin's own timer: {} ms)", status.duration_ms);
    println!("  flows examined:        {:>10}  ({:.0} flows/s end to end)", env.attributes["flows_read"], n as f64 / secs);
    println!("  host http calls:       {host_calls:>10}  ({:.0} calls/s, {:.2} per flow)", host_calls as f64 / secs, host_calls as f64 / n as f64);
    for (kind, (count, not_ok)) in &by_kind {
        println!("    {kind:<22} {count:>8}{}", if *not_ok > 0 { format!("  ({not_ok} not 200)") } else { String::new() });
    }
    println!("  register:              {:>10} entries ({flows_in_register} flows), {} findings", result.connectors.len(), result.findings.len());
    println!("  register cut:          {}", env.attributes["register"]);
    let mut checks: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &result.findings {
        *checks.entry(f.check_id.as_str()).or_default() += 1;
    }
    for (id, count) in checks {
        println!("    {id:<26} {count:>6}");
    }
    server.stop().await;
}
