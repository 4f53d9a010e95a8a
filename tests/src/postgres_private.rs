//! A PostgreSQL cluster of one test's own, which the test may crash and start
//! again (`pg_ctl stop -m immediate`, `pg_ctl start`), unlike the shared
//! server of [`crate::postgres`] that every test of the binary uses.
//!
//! It is found as the shared one is (Debian's newest binaries, else `initdb`
//! on `PATH`), lives in a temp dir with its own socket dir on a free loopback
//! port, and is stopped and removed on drop. Unlike the shared server it keeps
//! `synchronous_commit` on: an immediate stop drops WAL not yet written, and
//! with it commits already acknowledged, which would be the test's fault, not
//! the collector's. `fsync=off` is kept: a process crash leaves the kernel's
//! page cache intact.

use crate::postgres::{find_bin_dir, system_user, tail, NOT_INSTALLED};
use std::path::PathBuf;
use std::process::Command;

/// A running (or stopped) private cluster; removed on drop.
pub struct PrivatePg {
    bin: PathBuf,
    base: PathBuf,
    port: u16,
    owner: Option<(u32, u32)>,
}

impl PrivatePg {
    /// Create and start a cluster.
    pub fn start() -> Result<PrivatePg, String> {
        let bin = find_bin_dir().ok_or_else(|| NOT_INSTALLED.to_string())?;
        let owner = if unsafe { libc::geteuid() } == 0 { Some(system_user("postgres")?) } else { None };
        let base = tempfile::Builder::new()
            .prefix("plumbline-pgprivate-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("creating a temp dir for PostgreSQL: {e}"))?
            .keep();
        let pg = PrivatePg { bin, base, port: crate::ports::free_port()?, owner };
        for dir in [pg.base.clone(), pg.data(), pg.base.join("sock")] {
            std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                    .map_err(|e| format!("chown {} to postgres: {e}", dir.display()))?;
            }
        }
        let mut initdb = pg.as_owner("initdb");
        initdb.arg("-D").arg(pg.data()).args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"]);
        pg.run(initdb.args(["--no-sync", "--no-instructions"]), "initdb")?;
        let hba = "local all all trust\nhost all all 127.0.0.1/32 trust\n";
        std::fs::write(pg.data().join("pg_hba.conf"), hba).map_err(|e| format!("writing pg_hba.conf: {e}"))?;
        pg.restart()?;
        Ok(pg)
    }

    /// A superuser URL on the maintenance database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A new, empty database; its URL.
    pub async fn fresh_database(&self) -> String {
        let name = crate::postgres::create_database(&self.admin_url()).await;
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Crash it: every server process quits at once, with no checkpoint.
    pub fn stop_immediate(&self) -> Result<(), String> {
        let mut stop = self.as_owner("pg_ctl");
        self.run(stop.arg("-D").arg(self.data()).args(["-w", "-m", "immediate", "stop"]), "pg_ctl stop")
    }

    /// Start it (again), waiting until it takes connections (after crash recovery).
    pub fn restart(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=100",
            self.port,
            self.base.join("sock").display()
        );
        let mut start = self.as_owner("pg_ctl");
        start.arg("-D").arg(self.data()).arg("-l").arg(self.log()).args(["-w", "-t", "60", "-o", &options, "start"]);
        self.run(&mut start, "pg_ctl start")
    }

    fn data(&self) -> PathBuf {
        self.base.join("data")
    }

    fn log(&self) -> PathBuf {
        self.base.join("postgres.log")
    }

    /// `program` of the cluster's binaries, as the `postgres` user when root.
    fn as_owner(&self, program: &str) -> Command {
        let mut c = match self.owner {
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(self.bin.join(program));
                c
            }
            None => Command::new(self.bin.join(program)),
        };
        c.current_dir(&self.base);
        c
    }

    fn run(&self, cmd: &mut Command, what: &str) -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("running {what}: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "{what} failed ({}): {}{}\nthe server's log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log())
        ))
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self.stop_immediate();
        let _ = std::fs::remove_dir_all(&self.base);
    }
}
