//! The `plumbline-collector` binary: admin commands, `serve` with nothing
//! configured, and two real collector processes on one PostgreSQL.

use crate::https::client_trusting;
use crate::support::{Backend, TestAgent};
use plumbline_protocol::identity::{public_key_b64, AgentKey};
use plumbline_protocol::messages::{EnrollRequest, EnrollResponse, IngestResponse};
use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_plumbline-collector");

fn collector(args: &[&str], data_dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("PLUMBLINE_COLLECTOR_DATA_DIR", data_dir)
        .env_remove("PLUMBLINE_COLLECTOR_DATABASE")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn failure(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "exit code 2; stdout: {}", String::from_utf8_lossy(&o.stdout));
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn admin_commands_work_on_the_default_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let created = stdout(&collector(&["init"], d));
    assert!(created.starts_with("created the collector database at sqlite:") && created.contains("tenant add"), "{created}");
    assert!(stdout(&collector(&["init"], d)).contains("is there already"), "init twice changes nothing");
    assert_eq!(
        stdout(&collector(&["tenant", "add", "contoso", "--no-entra", "--name", "Contoso Ltd"], d)),
        "added tenant contoso (Contoso Ltd)"
    );
    assert!(d.join("collector.db").exists(), "the default SQLite file is in the data dir");
    assert!(failure(&collector(&["tenant", "add", "contoso", "--no-entra"], d)).contains("already exists"));
    assert!(failure(&collector(&["tenant", "add", "no/slashes", "--no-entra"], d)).contains("tenant id"));
    // A tenant is its Entra tenant id, in lower case, with its name beside it.
    let named = failure(&collector(&["tenant", "add", "northwind", "--name", "Northwind Dental"], d));
    assert!(named.contains("\"northwind\" is not an Entra tenant id") && named.contains("--no-entra"), "{named}");
    assert_eq!(
        stdout(&collector(&["tenant", "add", "5F0C1A8E-2B6D-4C1E-9A77-3D2F8B41C0AA", "--name", "Northwind Dental"], d)),
        "added tenant 5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa (Northwind Dental)"
    );

    let token = stdout(&collector(&["enroll-token", "create", "--tenant", "contoso", "--site", "hq"], d));
    assert!(token.starts_with("ple_") && !token.contains('\n'), "{token}");
    assert!(
        failure(&collector(&["enroll-token", "create", "--tenant", "nobody", "--site", "hq"], d)).contains("no tenant")
    );
    let api = stdout(&collector(&["api-token", "create", "--tenant", "contoso"], d));
    assert!(api.starts_with("plt_"));
    assert!(stdout(&collector(&["api-token", "create", "--all", "--name", "noc"], d)).starts_with("plt_"));
    failure(&collector(&["api-token", "create"], d));
    failure(&collector(&["api-token", "create", "--all", "--tenant", "contoso"], d));

    assert!(stdout(&collector(&["agent", "list"], d)).starts_with("AGENT"));
    assert!(stdout(&collector(&["agent", "list", "--tenant", "contoso"], d)).starts_with("AGENT"));
    let unknown = failure(&collector(&["agent", "list", "--tenant", "nosuch"], d));
    assert!(unknown.starts_with("plumbline-collector: error: no tenant \"nosuch\""), "{unknown}");
    assert!(unknown.contains("tenant list"), "{unknown}");
    assert!(failure(&collector(&["agent", "revoke", "agt_nope"], d)).contains("no agent"));
    assert!(failure(&collector(&["tenant", "add", "x", "--no-entra", "--database", "mysql://nope"], d)).contains("sqlite:PATH"));

    // The environment variable supplies --database.
    let elsewhere = d.join("elsewhere.db");
    let with_database = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("PLUMBLINE_COLLECTOR_DATABASE", format!("sqlite:{}", elsewhere.display()))
            .output()
            .unwrap()
    };
    assert!(failure(&with_database(&["tenant", "add", "fabrikam", "--no-entra"])).contains("--database (or PLUMBLINE_COLLECTOR_DATABASE)"));
    stdout(&with_database(&["init"]));
    stdout(&with_database(&["tenant", "add", "fabrikam", "--no-entra"]));
    assert!(elsewhere.exists());
}

/// `policy check` names each problem before an agent meets it, and exits 2;
/// `policy show` prints what a tenant's agents are sent.
#[test]
fn policy_check_names_each_problem_and_show_prints_what_agents_are_sent() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stdout(&collector(&["init"], d));
    stdout(&collector(&["tenant", "add", "contoso", "--no-entra"], d));
    std::fs::create_dir_all(d.join("plugins")).unwrap();
    std::fs::create_dir_all(d.join("policy/tenants")).unwrap();
    std::fs::write(d.join("plugins/relay.wasm"), b"a plugin").unwrap();
    let sha = hex::encode(sha2::Sha256::digest(b"a plugin"));
    let policy = |sha: &str| format!("[schedule]\nevery = \"6h\"\n[plugins.relay]\nsha256 = \"{sha}\"\n");
    std::fs::write(d.join("policy/tenants/contoso.toml"), policy(&sha)).unwrap();
    let ok = stdout(&collector(&["policy", "check"], d));
    assert!(ok.contains("contoso: 1 plugin from its own file, every 6h") && ok.contains(&format!("relay {sha}")), "{ok}");
    assert!(stdout(&collector(&["policy", "show", "contoso"], d)).contains(&format!("sha256 = \"{sha}\"")));

    // A plugin that is not in the folder, and a file for a tenant that does not exist.
    let gone = "1".repeat(64);
    std::fs::write(d.join("policy/tenants/contoso.toml"), policy(&gone)).unwrap();
    std::fs::write(d.join("policy/tenants/contso.toml"), "[schedule]\nevery = \"1h\"\n").unwrap();
    let out = collector(&["policy", "check"], d);
    assert!(failure(&out).contains("2 problems in the policy files"), "{}", failure(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("PROBLEM: [plugins.relay]: no file in {} has sha256 {gone}", d.join("plugins").display())), "{said}");
    assert!(said.contains("contso: 0 plugins") && said.contains("PROBLEM: there is no tenant \"contso\""), "{said}");
    let one = collector(&["policy", "check", "--tenant", "contoso"], d);
    assert!(failure(&one).contains("1 problem in"), "{}", failure(&one));
    assert!(failure(&collector(&["policy", "check", "--tenant", "nosuch"], d)).contains("tenant list"));
    std::fs::remove_file(d.join("policy/tenants/contoso.toml")).unwrap();
    let none = failure(&collector(&["policy", "show", "contoso"], d));
    assert!(none.contains("has no policy") && none.contains("local config alone"), "{none}");
}

/// Only `init` and `serve` create a database: a mistyped data dir, or none
/// at all, is an error that says where it looked and what to run, and
/// creates nothing.
#[test]
fn admin_commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("colector");
    for args in [&["tenant", "list"][..], &["agent", "list"], &["tenant", "add", "contoso", "--no-entra"], &["api-token", "list"]] {
        let e = failure(&collector(args, &typo));
        assert!(e.contains("there is no collector database at sqlite:") && e.contains("colector"), "{e}");
        assert!(e.contains("PLUMBLINE_COLLECTOR_DATA_DIR") && e.contains("plumbline-collector init"), "{e}");
    }
    assert!(!typo.exists(), "nothing was created");
    // An existing file that is not a collector database is refused too, and left as it was.
    std::fs::create_dir_all(&typo).unwrap();
    std::fs::write(typo.join("collector.db"), b"").unwrap();
    assert!(failure(&collector(&["tenant", "list"], &typo)).contains("no collector database"));
    assert_eq!(std::fs::metadata(typo.join("collector.db")).unwrap().len(), 0);
}

/// An empty PostgreSQL database is not a collector either: only `init`
/// makes it one.
#[tokio::test(flavor = "multi_thread")]
async fn an_empty_postgres_database_is_not_a_collector() {
    let (url, _) = Backend::Postgres.fresh_url().await;
    let dir = tempfile::tempdir().unwrap();
    let on = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--database", url.as_str()]);
        collector(&all, dir.path())
    };
    let e = failure(&on(&["tenant", "list"]));
    assert!(e.contains("there is no collector database at postgres://") && e.contains("init"), "{e}");
    assert!(stdout(&on(&["init"])).starts_with("created the collector database at postgres://"));
    stdout(&on(&["tenant", "add", "contoso", "--no-entra"]));
    assert!(stdout(&on(&["tenant", "list"])).contains("contoso"));
}

/// The data dir and database come from the config file when no flag names
/// them, so that admin commands need no `--data-dir`; a flag still wins.
#[test]
fn the_config_file_says_where_the_data_is() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("collector.toml");
    std::fs::write(&config, "data_dir = \"data\"\n").unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("PLUMBLINE_COLLECTOR_CONFIG", &config)
            .env_remove("PLUMBLINE_COLLECTOR_DATA_DIR")
            .env_remove("PLUMBLINE_COLLECTOR_DATABASE")
            .current_dir(dir.path().parent().unwrap())
            .output()
            .unwrap()
    };
    let e = failure(&run(&["tenant", "list"]));
    assert!(e.contains(&format!("data_dir in {}", config.display())), "{e}");
    stdout(&run(&["init"]));
    assert!(dir.path().join("data/collector.db").is_file(), "beside the config file, not the working directory");
    stdout(&run(&["tenant", "add", "contoso", "--no-entra", "--name", "Contoso Ltd"]));
    assert!(stdout(&run(&["tenant", "list"])).contains("Contoso Ltd"));
    // --data-dir wins over the file.
    let other = dir.path().join("other");
    let e = failure(&run(&["tenant", "list", "--data-dir", other.to_str().unwrap()]));
    assert!(e.contains("other") && e.contains("--data-dir"), "{e}");
    // A typo in the file is an error with its line, before anything is opened.
    std::fs::write(&config, "data_dri = \"data\"\n").unwrap();
    let e = failure(&run(&["tenant", "list"]));
    assert!(e.contains("collector.toml") && e.contains("data_dri") && e.contains("line 1"), "{e}");
}

#[test]
fn serve_refuses_a_bad_alert_config_before_it_listens() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stdout(&collector(&["init"], d));
    stdout(&collector(&["tenant", "add", "contoso", "--no-entra"], d));
    let config = d.join("collector.toml");
    let serve = |text: &str| {
        std::fs::write(&config, text).unwrap();
        failure(&collector(&["serve", "--insecure-http", "--listen", "127.0.0.1:0", "--config", config.to_str().unwrap()], d))
    };
    let typo = serve("[alerts]\nrulez = []\n");
    assert!(typo.contains("collector.toml") && typo.contains("line 2") && typo.contains("rulez"), "{typo}");
    let unset = serve("[alerts.destinations.noc]\nkind = \"teams\"\nurl_env = \"PLUMBLINE_TEST_UNSET_URL\"\n");
    assert!(unset.contains("PLUMBLINE_TEST_UNSET_URL (its URL) is not set"), "{unset}");
    let tenant = serve(
        "[alerts.destinations.noc]\nkind = \"teams\"\nurl = \"https://prod-01.westeurope.logic.azure.com/workflows/x\"\n\
         [[alerts.rules]]\nname = \"r\"\nwhen = \"exchange-connector-changed\"\ntenant = \"nosuch\"\nsend_to = [\"noc\"]\n",
    );
    assert!(tenant.contains("no tenant \"nosuch\"") && tenant.contains("tenant list"), "{tenant}");
}

#[test]
fn report_writes_a_tenant_qbr_or_the_fleet_report_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stdout(&collector(&["init"], d));
    stdout(&collector(&["tenant", "add", "contoso", "--no-entra", "--name", "Contoso Ltd", "--group", "contract"], d));
    stdout(&collector(&["tenant", "add", "fabrikam", "--no-entra", "--name", "Fabrikam Inc"], d));
    let out = d.join("fleet.html");
    let period = ["--from", "2026-10-01", "--to", "2026-12-31"];
    let fleet = |extra: &[&str]| {
        let mut args = vec!["report", "--fleet", "--out", out.to_str().unwrap()];
        args.extend_from_slice(&period);
        args.extend_from_slice(extra);
        collector(&args, d)
    };
    assert!(stdout(&fleet(&[])).starts_with("wrote "));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("Contoso Ltd") && html.contains("Fabrikam Inc") && html.contains("2 tenants"));
    stdout(&fleet(&["--group", "contract"]));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("Contoso Ltd") && !html.contains("Fabrikam Inc"), "only the group");
    let typo = failure(&fleet(&["--group", "contrakt"]));
    assert!(typo.contains("no tenant is in group \"contrakt\"") && typo.contains("contract"), "{typo}");

    // --tenant or --fleet, not both and not neither; --group only with --fleet.
    let refused = d.join("x.html");
    let refused_out = refused.to_str().unwrap();
    let o = collector(&["report", "--out", refused_out, "--from", "2026-10-01", "--to", "2026-12-31"], d);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--tenant"));
    let o = collector(&["report", "--tenant", "contoso", "--fleet", "--out", refused_out, "--from", "2026-10-01", "--to", "2026-12-31"], d);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("cannot be used with"));
    let o = collector(&["report", "--tenant", "contoso", "--group", "g", "--out", refused_out, "--from", "2026-10-01", "--to", "2026-12-31"], d);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("cannot be used with '--group <GROUP>'"));
    assert!(!refused.exists(), "nothing written on a refusal");
}

/// A running `serve`; killed on drop.
type Serving = plumbline_tests::serve_process::ServeProcess;

fn serve(args: &[&str], data_dir: &Path) -> Serving {
    serve_logging(args, data_dir, "warn")
}

/// `serve` with `PLUMBLINE_LOG=log`.
fn serve_logging(args: &[&str], data_dir: &Path, log: &str) -> Serving {
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("PLUMBLINE_COLLECTOR_DATA_DIR", data_dir)
        .env_remove("PLUMBLINE_COLLECTOR_DATABASE")
        .env("PLUMBLINE_LOG", log);
    Serving::start(command)
}

#[test]
fn serve_with_nothing_configured_just_works() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = serve(&[], dir.path());
    assert!(s.base.starts_with("https://127.0.0.1:"), "{}", s.base);
    let cert = std::fs::read_to_string(dir.path().join("tls-cert.pem")).unwrap();
    let expected = plumbline_collector::tls::pem_fingerprint(cert.as_bytes()).unwrap();
    assert_eq!(s.fingerprint().as_deref(), Some(expected.as_str()), "{:#?}", s.startup);
    // What the agent has to trust it: the pin to paste, or the file to copy.
    let trust = format!("copy {} to each agent", dir.path().join("tls-cert.pem").display());
    let told = s.startup.iter().any(|l| l.contains(&trust) && l.contains("[delivery] collector_ca_file"));
    assert!(told, "{:#?}", s.startup);
    let pin = format!("collector_pin = \"sha256:{expected}\"");
    assert!(s.startup.iter().any(|l| l.contains(&pin)), "{:#?}", s.startup);

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let body = rt.block_on(async {
        client_trusting(&cert).get(format!("{}/v1/health", s.base)).send().await.unwrap().text().await.unwrap()
    });
    assert_eq!(body, "ok");
    assert!(dir.path().join("collector.db").exists());

    // SIGTERM: a graceful stop, exit 0.
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    let status = wait_for(&mut s.child, Duration::from_secs(20)).expect("stopped after SIGTERM");
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = s.stderr.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:#?}");
    drop(s);

    // A restart reuses the certificate.
    let again = serve(&[], dir.path());
    assert_eq!(again.fingerprint().as_deref(), Some(expected.as_str()));
    assert!(again.startup.iter().any(|l| l.contains("using self-signed")), "{:#?}", again.startup);
}

/// The log line's timestamp when it has the agent's shape too: UTC, to the
/// microsecond (`2026-11-25T09:00:00.123456Z`).
fn log_time(line: &str) -> Option<&str> {
    let t = line.get(..27)?;
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let shape = b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && b[26] == b'Z' && digits(20..26) && digits(0..4);
    shape.then_some(t)
}

/// Everything `serve` wrote to stderr once a SIGTERM, sent as soon as it
/// said it was listening, has stopped it gracefully.
fn stop(mut s: Serving) -> Vec<String> {
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    let status = wait_for(&mut s.child, Duration::from_secs(20)).expect("stopped after SIGTERM");
    assert!(status.success(), "a graceful stop: {status:?}");
    let mut lines = std::mem::take(&mut s.startup);
    lines.extend(s.stderr.iter());
    lines
}

#[test]
fn serve_logs_as_the_agent_does_filtered_by_plumbline_log_and_without_colour_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let lines = stop(serve_logging(&["--insecure-http"], dir.path(), "info"));
    assert!(!lines.iter().any(|l| l.contains('\x1b')), "stderr is a pipe: no ANSI colour: {lines:#?}");
    let info = lines.iter().find(|l| l.contains("shutting down")).unwrap_or_else(|| panic!("{lines:#?}"));
    let time = log_time(info).unwrap_or_else(|| panic!("not the agent's timestamp: {info}"));
    assert!(info[time.len()..].starts_with("  INFO "), "{info}");

    let lines = stop(serve_logging(&["--insecure-http"], dir.path(), "warn"));
    assert!(!lines.iter().any(|l| l.contains(" INFO ")), "PLUMBLINE_LOG=warn: {lines:#?}");
}

fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collector_processes_on_one_postgres() {
    let t = Backend::Postgres.store().await;
    let dir = tempfile::tempdir().unwrap();
    let collectors = [
        serve(&["--insecure-http", "--database", &t.url], dir.path()),
        serve(&["--insecure-http", "--database", &t.url], dir.path()),
    ];
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().build().unwrap();

    let mut agents = Vec::new();
    for i in 0..3 {
        t.tenant("contoso").await;
        let issued = plumbline_collector::admin::create_enroll_token(t.dyn_store(), "contoso", &format!("site{i}"), 1)
            .await
            .unwrap();
        let key = AgentKey::generate();
        // Enroll through one process, push through both.
        let answer = client
            .post(format!("{}/v1/enroll", collectors[i % 2].base))
            .json(&EnrollRequest {
                token: issued.token,
                public_key: public_key_b64(&key.verifying()),
                hostname: "h".into(),
                replaces: None,
                site: None,
                tenant: None,
            })
            .send()
            .await
            .unwrap();
        // Once seen failing here under a loaded machine: say what came back.
        let status = answer.status();
        let body = answer.text().await.unwrap();
        let enrolled: EnrollResponse = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("enrollment {i} through process {}: {status} {body:?}: {e}", i % 2));
        agents.push(TestAgent { key, tenant: enrolled.tenant_id, site: enrolled.site_id });
    }
    let bases: Vec<String> = collectors.iter().map(|c| c.base.clone()).collect();
    let pushes = agents.iter().map(|agent| {
        let (client, bases) = (client.clone(), bases.clone());
        async move {
            let mut stored = 0;
            for seq in 1..=8u64 {
                let body = agent.sign(&agent.typical(seq, 3));
                let send = |base: String, body: Vec<u8>| {
                    let client = client.clone();
                    async move {
                        let r: IngestResponse = client
                            .post(format!("{base}/v1/ingest"))
                            .body(body)
                            .send()
                            .await
                            .unwrap()
                            .json()
                            .await
                            .unwrap();
                        r.status
                    }
                };
                let (a, b) = tokio::join!(send(bases[0].clone(), body.clone()), send(bases[1].clone(), body));
                assert!(
                    matches!((a.as_str(), b.as_str()), ("stored", "duplicate") | ("duplicate", "stored")),
                    "{a} {b}"
                );
                stored += 1;
            }
            stored
        }
    });
    let total: u64 = futures::future::join_all(pushes).await.into_iter().sum();
    assert_eq!(total, 24);
    assert_eq!(t.store.counts().await.unwrap().batches, 24);
    drop(collectors);
}
