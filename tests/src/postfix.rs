//! A real Postfix (Debian's package) as the SMTP test peer: no mock.
//!
//! [`PostfixPeer::start`] runs `scripts/postfix-peer` to start a throwaway
//! instance from a fresh temp dir, on a loopback address of its own
//! (127.x.y.z, picked at random and checked free) on the real SMTP ports,
//! so that peers of parallel tests never collide and the smtp-relay plugin
//! needs no test-only ports. Dropping the guard stops the instance; an
//! `atexit` hook stops any left when the test binary exits without
//! unwinding. Nothing the peer accepts leaves the machine: every transport
//! is `discard`.
//!
//! Needs root (Postfix's master binds port 25 and drops to the `postfix`
//! user) and the `postfix` package, which `scripts/install-deps` installs.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use tempfile::TempDir;

/// The message when Postfix cannot be run here.
pub const NOT_AVAILABLE: &str = "Postfix is not installed or this is not root: run scripts/install-deps as root \
     (the .ci/run script does); the SMTP relay tests need a real Postfix";

/// How the peer treats relaying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `mynetworks = 0.0.0.0/0`: relays for anyone. No STARTTLS.
    Open,
    /// Refuses outside recipients at RCPT TO; STARTTLS with a self-signed
    /// certificate, and implicit TLS on 465.
    Restricted,
    /// A mail server for alerts: STARTTLS as [`Mode::Restricted`], SMTP
    /// AUTH (after STARTTLS only) for [`MAILBOX_USER`], every recipient
    /// refused without it, and mail for `*@`[`MAILBOX_DOMAIN`] kept in a
    /// Maildir that [`PostfixPeer::inbox`] reads.
    Mailbox,
}

/// The mailbox peer's SMTP AUTH user.
pub const MAILBOX_USER: &str = "alerts@plumbline.test";
/// Its password (the script's default).
pub const MAILBOX_PASSWORD: &str = "plumbline-test-password";
/// The domain whose mail it keeps.
pub const MAILBOX_DOMAIN: &str = "inbox.plumbline.test";

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::Open => "open",
            Mode::Restricted => "restricted",
            Mode::Mailbox => "mailbox",
        }
    }

    /// The host name the peer announces in its banner.
    pub fn host_name(self) -> &'static str {
        match self {
            Mode::Open => "relay-open.plumbline.test",
            Mode::Restricted => "relay-restricted.plumbline.test",
            Mode::Mailbox => "mail.plumbline.test",
        }
    }
}

/// A running Postfix instance; stopped on drop.
#[derive(Debug)]
pub struct PostfixPeer {
    dir: TempDir,
    mode: Mode,
    /// Plain SMTP (with STARTTLS in [`Mode::Restricted`]) addresses.
    pub smtp: Vec<SocketAddrV4>,
    /// Implicit-TLS addresses.
    pub smtps: Vec<SocketAddrV4>,
}

/// `scripts/postfix-peer`.
pub fn script() -> PathBuf {
    crate::plugins::root().join("scripts/postfix-peer")
}

/// Can a peer be started here (root, postfix installed)?
pub fn available() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    root && Path::new("/usr/sbin/postfix").exists() && Path::new("/etc/postfix/main.cf").exists()
}

impl PostfixPeer {
    /// A peer on a free loopback address: [`Mode::Open`] on port 25;
    /// [`Mode::Restricted`] on 25 and 587 (STARTTLS) and 465 (implicit TLS).
    pub fn start(mode: Mode) -> anyhow::Result<PostfixPeer> {
        let (smtp_ports, tls_ports): (&[u16], &[u16]) = match mode {
            Mode::Open => (&[25], &[]),
            Mode::Restricted => (&[25, 587], &[465]),
            Mode::Mailbox => (&[587], &[]),
        };
        let all: Vec<u16> = smtp_ports.iter().chain(tls_ports).copied().collect();
        let ip = free_loopback(&all)?;
        let at = |ports: &[u16]| ports.iter().map(|p| SocketAddrV4::new(ip, *p)).collect::<Vec<_>>();
        Self::start_on(mode, &at(smtp_ports), &at(tls_ports))
    }

    /// A peer listening on exactly these loopback addresses, with Postfix's
    /// default client throttling.
    pub fn start_on(mode: Mode, smtp: &[SocketAddrV4], smtps: &[SocketAddrV4]) -> anyhow::Result<PostfixPeer> {
        Self::start_with(mode, smtp, smtps, true)
    }

    /// Like [`PostfixPeer::start_on`]; `throttle = false` turns off Postfix's
    /// `in_flow_delay` (1 s per MAIL FROM once its flow tokens run out) and
    /// `smtpd_error_sleep_time` (1 s per reply after 10 errors), so that a
    /// benchmark measures the client rather than the peer's tarpit.
    pub fn start_with(
        mode: Mode,
        smtp: &[SocketAddrV4],
        smtps: &[SocketAddrV4],
        throttle: bool,
    ) -> anyhow::Result<PostfixPeer> {
        anyhow::ensure!(available(), NOT_AVAILABLE);
        anyhow::ensure!(!smtp.is_empty(), "a peer needs at least one SMTP address");
        anyhow::ensure!(mode != Mode::Open || smtps.is_empty(), "the open peer has no TLS");
        let dir = tempfile::Builder::new().prefix("plumbline-postfix-").tempdir()?;
        let list = |a: &[SocketAddrV4]| a.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        let mut cmd = Command::new(script());
        cmd.arg("start").arg(dir.path()).arg(list(smtp)).arg(mode.arg());
        cmd.env("POSTFIX_PEER_THROTTLE", if throttle { "on" } else { "off" });
        if !smtps.is_empty() {
            cmd.arg(list(smtps));
        }
        remember(dir.path());
        let out = cmd.output()?;
        if !out.status.success() {
            forget(dir.path());
            anyhow::bail!(
                "{} start failed ({}):\n{}{}",
                script().display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(PostfixPeer { dir, mode, smtp: smtp.to_vec(), smtps: smtps.to_vec() })
    }

    /// Open or restricted.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The loopback address of the first SMTP listener.
    pub fn ip(&self) -> Ipv4Addr {
        *self.smtp[0].ip()
    }

    /// The self-signed certificate (restricted peers).
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("tls/cert.pem")
    }

    /// The messages delivered so far ([`Mode::Mailbox`]), oldest first, as
    /// raw RFC 5322 text.
    pub fn inbox(&self) -> Vec<String> {
        let dir = self.dir.path().join("mail/inbox/new");
        let mut files: Vec<_> = std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        // Maildir names start with the delivery time in seconds, then a counter.
        files.sort();
        files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect()
    }

    /// The instance's log so far (for failure messages).
    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }
}

impl Drop for PostfixPeer {
    fn drop(&mut self) {
        stop(self.dir.path());
        forget(self.dir.path());
    }
}

fn stop(dir: &Path) {
    let _ = Command::new(script()).arg("stop").arg(dir).output();
}

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn remember(dir: &Path) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(stop_live_at_exit) };
    });
    LIVE.lock().unwrap_or_else(|e| e.into_inner()).push(dir.to_path_buf());
}

fn forget(dir: &Path) {
    LIVE.lock().unwrap_or_else(|e| e.into_inner()).retain(|d| d != dir);
}

extern "C" fn stop_live_at_exit() {
    let dirs = std::mem::take(&mut *LIVE.lock().unwrap_or_else(|e| e.into_inner()));
    for d in dirs {
        stop(&d);
        let _ = std::fs::remove_dir_all(&d);
    }
}

/// A random number, different on every call.
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.finish()
}

/// A loopback address 127.x.y.z (x from 100 to 254, so clear of
/// 127.0.0.1, Debian's 127.0.1.1 and resolvers' 127.0.0.53) on which every
/// one of `ports` is free right now.
pub fn free_loopback(ports: &[u16]) -> anyhow::Result<Ipv4Addr> {
    for _ in 0..200 {
        let r = random();
        let ip = Ipv4Addr::new(127, 100 + (r % 155) as u8, (r >> 8) as u8, 1 + ((r >> 16) % 254) as u8);
        if ports.iter().all(|p| TcpListener::bind(SocketAddrV4::new(ip, *p)).is_ok()) {
            return Ok(ip);
        }
    }
    anyhow::bail!("no free loopback address with ports {ports:?} free (binding below 1024 needs root)")
}

/// A /28 block 127.x.y.z/28 whose 14 host addresses all have `port` free:
/// for sweeping a block of peers.
pub fn free_loopback_block(port: u16) -> anyhow::Result<(Ipv4Addr, Vec<Ipv4Addr>)> {
    for _ in 0..200 {
        let r = random();
        let base = Ipv4Addr::new(127, 100 + (r % 155) as u8, (r >> 8) as u8, (((r >> 16) % 16) * 16) as u8);
        let hosts: Vec<Ipv4Addr> = (1..=14).map(|i| Ipv4Addr::from(u32::from(base) + i)).collect();
        if hosts.iter().all(|ip| TcpListener::bind(SocketAddrV4::new(*ip, port)).is_ok()) {
            return Ok((base, hosts));
        }
    }
    anyhow::bail!("no free loopback /28 block with port {port} free")
}
