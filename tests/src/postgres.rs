//! A real PostgreSQL server for tests: no mock.
//!
//! [`server`] starts one server per test binary, the first time a test asks,
//! and [`PgServer::fresh_database`] gives each test its own empty database.
//!
//! - With `PLUMBLINE_TEST_PG_URL` set (a `postgres://` URL of a superuser on
//!   the maintenance database), that server is used and nothing is started.
//! - Otherwise Debian's binaries (`/usr/lib/postgresql/*/bin`, newest first,
//!   then `initdb` on `PATH`) create a cluster in a fresh temp dir, and
//!   `postgres` runs on a free loopback port with its own unix socket dir and
//!   trust auth for 127.0.0.1 only. As root, `initdb` runs as the `postgres`
//!   system user (`runuser`), and the server process drops to that user.
//! - The server is a child of a thread that lives as long as the process, with
//!   `PR_SET_PDEATHSIG`, and an `atexit` hook stops it (SIGQUIT, immediate
//!   shutdown) and removes the temp dir: no server outlives `cargo test`, even
//!   when the test binary is killed (the temp dir of a killed one is removed
//!   by a later run).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The message when no PostgreSQL is installed.
pub const NOT_INSTALLED: &str =
    "PostgreSQL is not installed: run `apt-get install -y postgresql` (the .ci/run script does)";

/// How long the server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running PostgreSQL server for this test binary.
#[derive(Debug, Clone)]
pub struct PgServer {
    admin_url: String,
}

/// The server, started on first use (once per process).
pub async fn server() -> PgServer {
    static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
    let started =
        tokio::task::spawn_blocking(|| SERVER.get_or_init(start).clone()).await.expect("starting PostgreSQL panicked");
    match started {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

impl PgServer {
    /// A superuser URL on the maintenance database.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// A new, empty database with a unique name; its `postgres://` URL.
    pub async fn fresh_database(&self) -> String {
        let name = create_database(&self.admin_url).await;
        let mut url = url::Url::parse(&self.admin_url).expect("the admin URL parses");
        url.set_path(&format!("/{name}"));
        url.to_string()
    }
}

/// A new, empty database with a unique name, made through `admin_url`; its name.
pub(crate) async fn create_database(admin_url: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let name = format!("plumbline_test_{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let (client, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL at {admin_url}: {e}"));
    let task = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    drop(client);
    let _ = task.await;
    name
}

fn start() -> Result<PgServer, String> {
    if let Ok(url) = std::env::var("PLUMBLINE_TEST_PG_URL") {
        if !url.trim().is_empty() {
            return Ok(PgServer { admin_url: url.trim().to_string() });
        }
    }
    let setup = Setup { hba: "local all all trust\nhost all all 127.0.0.1/32 trust\n".into(), ..Setup::default() };
    let started = start_cluster(setup)?;
    Ok(PgServer { admin_url: format!("postgres://postgres@127.0.0.1:{}/postgres", started.port) })
}

/// How a cluster differs from the plain one.
#[derive(Default)]
pub(crate) struct Setup {
    /// `pg_hba.conf`.
    pub hba: String,
    /// Files written into the data dir (owner-only, as the server wants its key).
    pub files: Vec<(&'static str, String)>,
    /// More `-c NAME=VALUE` settings.
    pub settings: Vec<String>,
}

/// A started cluster.
pub(crate) struct Started {
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    /// Its unix socket dir.
    pub sockets: PathBuf,
}

/// Start a cluster (see the module's notes) set up as `setup` says.
pub(crate) fn start_cluster(setup: Setup) -> Result<Started, String> {
    let bin = find_bin_dir().ok_or_else(|| NOT_INSTALLED.to_string())?;
    let as_root = unsafe { libc::geteuid() } == 0;
    let owner = if as_root { Some(system_user("postgres")?) } else { None };

    remove_stale_clusters();
    let base = if as_root {
        tempfile::Builder::new().prefix("plumbline-pg-").tempdir_in("/tmp")
    } else {
        tempfile::Builder::new().prefix("plumbline-pg-").tempdir()
    }
    .map_err(|e| format!("creating a temp dir for PostgreSQL: {e}"))?
    .keep();
    let data = base.join("data");
    let sockets = base.join("sock");
    for dir in [&data, &sockets] {
        std::fs::create_dir(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    if let Some((uid, gid)) = owner {
        for dir in [&base, &data, &sockets] {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown {} to postgres: {e}", dir.display()))?;
        }
    }

    let mut initdb = if owner.is_some() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join("initdb"));
        c
    } else {
        Command::new(bin.join("initdb"))
    };
    initdb
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"])
        .current_dir(&base);
    let out = initdb.output().map_err(|e| format!("running initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::write(data.join("pg_hba.conf"), &setup.hba).map_err(|e| format!("writing pg_hba.conf: {e}"))?;
    for (name, contents) in &setup.files {
        use std::os::unix::fs::PermissionsExt;
        let path = data.join(name);
        std::fs::write(&path, contents).map_err(|e| format!("writing {}: {e}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("chmod {}: {e}", path.display()))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                .map_err(|e| format!("chown {} to postgres: {e}", path.display()))?;
        }
    }

    let port = crate::ports::free_port()?;
    let log_path = base.join("postgres.log");
    let log = std::fs::File::create(&log_path).map_err(|e| format!("creating {}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.arg("-D")
        .arg(&data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(&sockets)
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
        .args(["-c", "max_connections=300"]);
    for setting in &setup.settings {
        cmd.arg("-c").arg(setting);
    }
    cmd.current_dir(&base).stdin(Stdio::null()).stdout(log).stderr(log2);
    let pid = spawn_tied_to_process(cmd, owner)?;
    let mut clusters = CLUSTERS.lock().unwrap_or_else(|e| e.into_inner());
    if clusters.is_empty() {
        unsafe { libc::atexit(stop_at_exit) };
    }
    clusters.push(Cluster { pid, dir: base.clone() });
    drop(clusters);

    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if exited(pid) {
            return Err(format!("PostgreSQL exited while starting:\n{}", tail(&log_path)));
        }
        if is_ready(&data) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("PostgreSQL did not start in {START_TIMEOUT:?}:\n{}", tail(&log_path)));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Started { port, sockets })
}

/// Clusters of test binaries that were killed (so their exit hook never
/// ran): temp dirs over ten minutes old whose server is not running.
fn remove_stale_clusters() {
    let roots = [std::env::temp_dir(), PathBuf::from("/tmp")];
    for entry in roots.iter().flat_map(std::fs::read_dir).flatten().flatten() {
        let path = entry.path();
        let is_ours = entry.file_name().to_str().is_some_and(|n| n.starts_with("plumbline-pg-"));
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        let running = std::fs::read_to_string(path.join("data/postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<libc::pid_t>().ok()))
            .is_some_and(|pid| unsafe { libc::kill(pid, 0) } == 0);
        if is_ours && old && !running {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// A started cluster, for the exit hook.
struct Cluster {
    pid: libc::pid_t,
    dir: PathBuf,
}

static CLUSTERS: Mutex<Vec<Cluster>> = Mutex::new(Vec::new());

extern "C" fn stop_at_exit() {
    let clusters = CLUSTERS.lock().unwrap_or_else(|e| e.into_inner());
    for cluster in clusters.iter() {
        unsafe {
            libc::kill(cluster.pid, libc::SIGQUIT);
            let mut status = 0;
            libc::waitpid(cluster.pid, &mut status, 0);
        }
        let _ = std::fs::remove_dir_all(&cluster.dir);
    }
}

/// Spawn `cmd` from a thread that never ends, with a parent-death signal, so
/// the child dies with this process. As root, the child runs as `owner`.
pub(crate) fn spawn_tied_to_process(mut cmd: Command, owner: Option<(u32, u32)>) -> Result<libc::pid_t, String> {
    use std::os::unix::process::CommandExt;
    unsafe {
        cmd.pre_exec(move || {
            if let Some((uid, gid)) = owner {
                if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            // After the uid change: a credential change clears the setting.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("postgres-parent".into())
        .spawn(move || {
            match cmd.spawn() {
                Ok(child) => {
                    let pid = child.id() as libc::pid_t;
                    // Reaped by the exit hook; the handle is not needed.
                    std::mem::forget(child);
                    let _ = tx.send(Ok(pid));
                }
                Err(e) => {
                    let _ = tx.send(Err(format!("starting postgres: {e}")));
                    return;
                }
            }
            loop {
                std::thread::park();
            }
        })
        .map_err(|e| format!("spawning a thread: {e}"))?;
    rx.recv().map_err(|_| "the postgres-parent thread died".to_string())?
}

fn exited(pid: libc::pid_t) -> bool {
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) == pid }
}

/// `postmaster.pid` says `ready` on its eighth line once connections are accepted.
fn is_ready(data: &Path) -> bool {
    std::fs::read_to_string(data.join("postmaster.pid"))
        .map(|s| s.lines().nth(7).map(str::trim) == Some("ready"))
        .unwrap_or(false)
}

pub(crate) fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Debian's newest `/usr/lib/postgresql/N/bin`, else the directory of `initdb` on `PATH`.
pub(crate) fn find_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).find(|p| p.join("initdb").is_file() && p.join("postgres").is_file())
    })
}

pub(crate) fn system_user(name: &str) -> Result<(u32, u32), String> {
    let cname = std::ffi::CString::new(name).expect("no NUL");
    let pw = unsafe { libc::getpwnam(cname.as_ptr()) };
    if pw.is_null() {
        return Err(format!(
            "running as root, but there is no `{name}` system user to run PostgreSQL as; {NOT_INSTALLED}"
        ));
    }
    let pw = unsafe { &*pw };
    Ok((pw.pw_uid, pw.pw_gid))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_fresh_database_is_empty_and_unique() {
        let server = super::server().await;
        let a = server.fresh_database().await;
        let b = server.fresh_database().await;
        assert_ne!(a, b);
        let (client, conn) = tokio_postgres::connect(&a, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let row = client
            .query_one("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, i64>(0), 0);
    }
}
