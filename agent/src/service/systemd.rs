//! The systemd units `plumbline service install` writes on Linux: a oneshot
//! `plumbline.service` that runs `plumbline service run --once`, and a
//! `plumbline.timer` that starts it at each step of `[schedule]`; and
//! `plumbline-flush.service` (`plumbline spool flush`) with its timer, every
//! `flush_every`, which pushes batches a scan could not deliver.
//!
//! Why a timer and a oneshot, not the long-lived loop Windows runs: systemd
//! keeps the schedule itself (`OnCalendar=` with the same UTC steps), catches
//! up a step missed while the machine was off (`Persistent=true`), spreads a
//! fleet (`RandomizedDelaySec=` from `jitter`), and nothing stays resident
//! between scans. A stop (`systemctl stop`, shutdown) is SIGTERM, which lets
//! the plugin calls in progress finish; `TimeoutStopSec=` leaves them time.
//!
//! The agent runs as root (it reads the key, the spool and the granted
//! folders as the RMM-deployed service does on Windows as LocalSystem), and
//! the unit takes away what root does not need: the file system is read-only
//! except the agent's own state, cache and log directories (and paths the
//! config moves them to), no new privileges, a private /tmp and /dev, and
//! one capability: reading files it does not own (the granted folders).

use crate::config::{Resolved, Schedule};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The service unit's name.
pub const SERVICE_UNIT: &str = "plumbline.service";
/// The timer unit's name.
pub const TIMER_UNIT: &str = "plumbline.timer";
/// The unit that pushes waiting batches between scans.
pub const FLUSH_SERVICE_UNIT: &str = "plumbline-flush.service";
/// Its timer.
pub const FLUSH_TIMER_UNIT: &str = "plumbline-flush.timer";
/// Every unit `service install` writes, timers last (they name the services).
pub const UNITS: [&str; 4] = [SERVICE_UNIT, FLUSH_SERVICE_UNIT, TIMER_UNIT, FLUSH_TIMER_UNIT];
/// The timers `service install` enables.
pub const TIMERS: [&str; 2] = [TIMER_UNIT, FLUSH_TIMER_UNIT];
/// Where units an administrator installs go (below `--root`, if given).
pub const UNIT_DIR: &str = "etc/systemd/system";
/// Time a stop gives the agent beyond its longest plugin call: the batch is
/// signed and spooled after the call, and that takes well under a minute.
pub const STOP_MARGIN: Duration = Duration::from_secs(60);
/// Time a scan may take beyond its longest plugin call: compiling the
/// plugins (up to 180 s each, in parallel) and pushing a spool that waited
/// out a long outage (five attempts of 60 s at most per batch).
pub const START_MARGIN: Duration = Duration::from_secs(3600);
/// The directories systemd creates for the agent, below /var/lib,
/// /var/cache and /var/log: the platform defaults for root.
const DIRECTORY_NAME: &str = "plumbline";

/// What the units are made from.
#[derive(Debug, Clone)]
pub struct Units {
    /// The `plumbline` binary, absolute.
    pub binary: PathBuf,
    /// The config file, absolute.
    pub config: PathBuf,
    /// The schedule.
    pub schedule: Schedule,
    /// The longest plugin call the config allows.
    pub longest_call: Duration,
    /// Directories the agent writes outside systemd's own for it.
    pub writable: Vec<PathBuf>,
}

impl Units {
    /// The units for `config`, run by `binary` (both absolute).
    pub fn for_config(config: &Resolved, binary: &Path) -> Units {
        let longest_call = config
            .config
            .plugins
            .values()
            .filter(|p| p.enabled)
            .map(|p| p.timeout_secs.map(Duration::from_secs).unwrap_or(crate::runtime::limits::DEFAULT_SCAN_TIMEOUT))
            .max()
            .unwrap_or(crate::runtime::limits::DEFAULT_SCAN_TIMEOUT);
        let mut writable = Vec::new();
        let own = [
            PathBuf::from("/var/lib").join(DIRECTORY_NAME),
            PathBuf::from("/var/cache").join(DIRECTORY_NAME),
            PathBuf::from("/var/log").join(DIRECTORY_NAME),
        ];
        // Self-update stages the new release beside the binary and renames it
        // over it: only with `[update]` on is the binary's folder writable.
        let binary_dir = match config.update.enabled {
            true => binary.parent().map(Path::to_path_buf).unwrap_or_default(),
            false => PathBuf::new(),
        };
        let dirs = [
            config.delivery.spool_dir.clone(),
            config.delivery.key_file.parent().map(Path::to_path_buf).unwrap_or_default(),
            config.cache_dir.clone(),
            binary_dir,
        ];
        for dir in dirs {
            if !dir.as_os_str().is_empty() && !own.iter().any(|o| dir.starts_with(o)) && !writable.contains(&dir) {
                writable.push(dir);
            }
        }
        Units {
            binary: binary.to_path_buf(),
            config: config.source.clone(),
            schedule: config.schedule,
            longest_call,
            writable,
        }
    }

    /// The units for the default schedule, plugin timeout and paths, naming
    /// `binary` and `config` as the installed system will have them: what a
    /// package ships (`plumbline service units`). No config is read, so the
    /// files do not depend on the machine that builds the package;
    /// `service install` later writes the units for the real config into
    /// /etc/systemd/system, where they take precedence.
    pub fn defaults(binary: &Path, config: &Path) -> Units {
        Units {
            binary: binary.to_path_buf(),
            config: config.to_path_buf(),
            schedule: Schedule::default(),
            longest_call: crate::runtime::limits::DEFAULT_SCAN_TIMEOUT,
            writable: Vec::new(),
        }
    }

    /// `plumbline.service`.
    pub fn service(&self) -> String {
        let mut out = String::new();
        out.push_str("# Written by `plumbline service install`; `plumbline service uninstall` removes it.\n");
        out.push_str("# Started by plumbline.timer at each step of [schedule]; `systemctl start plumbline.service` scans now.\n");
        out.push_str("[Unit]\nDescription=Plumbline: scan and deliver the Microsoft 365 connector register\n");
        out.push_str("Wants=network-online.target\nAfter=network-online.target\n\n[Service]\nType=oneshot\n");
        out.push_str(&format!(
            "ExecStart={} service run --once --config {}\n",
            quote(&self.binary),
            quote(&self.config)
        ));
        out.push_str(&format!("TimeoutStartSec={}\n", (self.longest_call + START_MARGIN).as_secs()));
        out.push_str("# A stop is SIGTERM: the plugin calls in progress finish and their results are spooled.\n");
        out.push_str(&format!("TimeoutStopSec={}\n", (self.longest_call + STOP_MARGIN).as_secs()));
        out.push_str("KillMode=mixed\n");
        self.hardening(&mut out);
        out
    }

    /// `plumbline-flush.service`: `spool flush`, which exits 1 while batches
    /// still wait (the collector is still down): not a failure of the unit.
    pub fn flush_service(&self) -> String {
        let mut out = String::new();
        out.push_str("# Written by `plumbline service install`; `plumbline service uninstall` removes it.\n");
        out.push_str("[Unit]\nDescription=Plumbline: push the batches that wait in the spool\n");
        out.push_str("Wants=network-online.target\nAfter=network-online.target\n\n[Service]\nType=oneshot\n");
        out.push_str(&format!("ExecStart={} spool flush --config {}\n", quote(&self.binary), quote(&self.config)));
        out.push_str("# 1: batches still wait for the collector; they go at the next try.\nSuccessExitStatus=1\n");
        out.push_str(&format!("TimeoutStartSec={}\n", START_MARGIN.as_secs()));
        self.hardening(&mut out);
        out
    }

    /// What both services may do, and what they may not.
    fn hardening(&self, out: &mut String) {
        let mut line = |l: &str| {
            out.push_str(l);
            out.push('\n');
        };
        line("# The platform defaults for root: the spool and keys, the compiled-plugin cache, the logs.");
        line(&format!("StateDirectory={DIRECTORY_NAME}"));
        line("StateDirectoryMode=0700");
        line(&format!("CacheDirectory={DIRECTORY_NAME}"));
        line("CacheDirectoryMode=0700");
        line(&format!("LogsDirectory={DIRECTORY_NAME}"));
        line("LogsDirectoryMode=0700");
        if !self.writable.is_empty() {
            line("# Where the config moves the spool, the keys or the cache, and with [update] on the binary's");
            line("# folder ('-': need not exist yet).");
            let paths: Vec<String> = self.writable.iter().map(|p| format!("-{}", quote(p))).collect();
            line(&format!("ReadWritePaths={}", paths.join(" ")));
        }
        line("UMask=0077");
        line("ProtectSystem=strict");
        line("ProtectHome=read-only");
        line("PrivateTmp=true");
        line("PrivateDevices=true");
        line("NoNewPrivileges=true");
        line("# Root, with one capability: reading granted folders whose files it does not own.");
        line("CapabilityBoundingSet=CAP_DAC_READ_SEARCH");
        line("AmbientCapabilities=");
        line("ProtectKernelTunables=true");
        line("ProtectKernelModules=true");
        line("ProtectKernelLogs=true");
        line("ProtectControlGroups=true");
        line("ProtectClock=true");
        line("ProtectHostname=true");
        line("RestrictNamespaces=true");
        line("RestrictRealtime=true");
        line("RestrictSUIDSGID=true");
        line("LockPersonality=true");
        line("SystemCallArchitectures=native");
        line("# HTTPS and SMTP (IPv4, IPv6), name lookups (netlink, and local resolver sockets).");
        line("RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK");
        line("# No MemoryDenyWriteExecute=: wasmtime compiles each plugin to machine code at run time");
        line("# (Cranelift), which needs memory that is written and then executed; with it no plugin loads.");
    }

    /// `plumbline-flush.timer`: every `flush_every` after the last push, the
    /// first a `flush_every` after boot.
    pub fn flush_timer(&self) -> String {
        let every = self.schedule.flush_every.as_secs();
        format!(
            "# Written by `plumbline service install`; `plumbline service uninstall` removes it.\n\
             [Unit]\n\
             Description=Plumbline: push waiting batches every {}\n\
             \n\
             [Timer]\n\
             OnBootSec={every}\n\
             OnUnitInactiveSec={every}\n\
             Unit={FLUSH_SERVICE_UNIT}\n\
             \n\
             [Install]\n\
             WantedBy=timers.target\n",
            crate::config::format_duration(self.schedule.flush_every)
        )
    }

    /// Each unit file's name and text.
    pub fn files(&self) -> [(&'static str, String); 4] {
        [
            (SERVICE_UNIT, self.service()),
            (FLUSH_SERVICE_UNIT, self.flush_service()),
            (TIMER_UNIT, self.timer()),
            (FLUSH_TIMER_UNIT, self.flush_timer()),
        ]
    }

    /// `plumbline.timer`.
    pub fn timer(&self) -> String {
        format!(
            "# Written by `plumbline service install`; `plumbline service uninstall` removes it.\n\
             [Unit]\n\
             Description=Plumbline: scan on the [schedule] of {config}\n\
             \n\
             [Timer]\n\
             # every = \"{every}\": steps of the UTC clock, the same on every agent.\n\
             OnCalendar={calendar}\n\
             # jitter: a random delay up to this, so a fleet does not scan at the same second.\n\
             RandomizedDelaySec={jitter}\n\
             # A step missed while the machine was off is caught up at boot.\n\
             Persistent=true\n\
             Unit={SERVICE_UNIT}\n\
             \n\
             [Install]\n\
             WantedBy=timers.target\n",
            config = self.config.display().to_string().replace('%', "%%"),
            every = crate::config::format_duration(self.schedule.every),
            calendar = self.schedule.on_calendar(),
            jitter = self.schedule.jitter.as_secs(),
        )
    }
}

/// A path as one word of a unit file: quoted when it holds spaces or
/// quotes, with `%` (specifiers) and `$` (variables) doubled so systemd
/// takes them literally.
pub fn quote(path: &Path) -> String {
    let text = path.display().to_string().replace('%', "%%").replace('$', "$$");
    if text.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\' || c == ';') {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn units(extra: &str) -> Units {
        let text = format!("tenant_id = \"t\"\nsite_id = \"s\"\n{extra}");
        let config = Config::parse(&text, Path::new("/etc/plumbline/plumbline.toml")).unwrap();
        Units::for_config(&config, Path::new("/usr/local/bin/plumbline"))
    }

    #[test]
    fn the_service_runs_once_hardened_but_may_compile_code() {
        let s = units("").service();
        assert!(s.contains("ExecStart=/usr/local/bin/plumbline service run --once --config /etc/plumbline/plumbline.toml\n"), "{s}");
        for want in [
            "Type=oneshot",
            "ProtectSystem=strict",
            "StateDirectory=plumbline",
            "NoNewPrivileges=true",
            "PrivateTmp=true",
            "CapabilityBoundingSet=CAP_DAC_READ_SEARCH",
            "TimeoutStopSec=660",
        ] {
            assert!(s.lines().any(|l| l == want), "{want} missing:\n{s}");
        }
        assert!(!s.lines().any(|l| l.starts_with("MemoryDenyWriteExecute")), "wasmtime JITs:\n{s}");
        assert!(s.contains("# No MemoryDenyWriteExecute=: wasmtime"), "and the unit says why");
    }

    #[test]
    fn the_timer_follows_the_schedule() {
        let t = units("[schedule]\nevery = \"4h\"\njitter = \"20m\"\n").timer();
        for want in ["OnCalendar=*-*-* 00/4:00:00 UTC", "RandomizedDelaySec=1200", "Persistent=true", "Unit=plumbline.service", "WantedBy=timers.target"] {
            assert!(t.lines().any(|l| l == want), "{want} missing:\n{t}");
        }
    }

    #[test]
    fn waiting_batches_are_flushed_on_their_own_timer_and_still_queued_is_no_failure() {
        let u = units("[schedule]\nflush_every = \"5m\"\n");
        let s = u.flush_service();
        assert!(s.contains("ExecStart=/usr/local/bin/plumbline spool flush --config /etc/plumbline/plumbline.toml\n"), "{s}");
        assert!(s.contains("SuccessExitStatus=1\n") && s.contains("ProtectSystem=strict\n"), "{s}");
        let t = u.flush_timer();
        assert!(t.contains("OnUnitInactiveSec=300\n") && t.contains("Unit=plumbline-flush.service\n"), "{t}");
        assert_eq!(u.files().map(|(name, _)| name), UNITS);
    }

    #[test]
    fn the_stop_timeout_covers_the_longest_plugin_call() {
        let u = units("[plugins.a]\ntimeout_secs = 30\n[plugins.b]\ntimeout_secs = 900\n[plugins.c]\nenabled = false\ntimeout_secs = 3000\n");
        assert_eq!(u.longest_call, Duration::from_secs(900));
        assert!(u.service().contains("TimeoutStopSec=960\n"));
    }

    #[test]
    fn a_package_s_units_are_those_of_a_config_with_every_default() {
        let system = "cache_dir = \"/var/cache/plumbline\"\n[delivery]\nspool_dir = \"/var/lib/plumbline/spool\"\n\
                      key_file = \"/var/lib/plumbline/keys/agent.key\"\n";
        let installed = units(system);
        let packaged = Units::defaults(Path::new("/usr/local/bin/plumbline"), Path::new("/etc/plumbline/plumbline.toml"));
        assert_eq!(packaged.files(), installed.files());
        assert!(packaged.timer().contains("OnCalendar=*-*-* 00/6:00:00 UTC\n"), "{}", packaged.timer());
    }

    #[test]
    fn paths_the_config_moves_are_writable_and_quoted() {
        let u = units("cache_dir = \"/srv/plumb cache\"\n[delivery]\nspool_dir = \"/var/lib/plumbline/spool\"\nkey_file = \"/opt/plumbline/keys/agent.key\"\n");
        assert_eq!(u.writable, vec![PathBuf::from("/opt/plumbline/keys"), PathBuf::from("/srv/plumb cache")]);
        assert!(u.service().contains("ReadWritePaths=-/opt/plumbline/keys -\"/srv/plumb cache\"\n"), "{}", u.service());
        assert_eq!(quote(Path::new("/a/100%/$x")), "/a/100%%/$$x");
    }
}
