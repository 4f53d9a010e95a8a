//! `plumbline release keygen|sign`: the MSP's release key (offline, in the
//! plugin publishers' format) and the signed manifest of a release binary
//! that agents trusting the key install ([`plumbline_agent::update`]).

use super::exit::Exit;
use super::plugin_sign::{new_key_pair, read_secret};
use anyhow::{bail, Context, Result};
use plumbline_agent::platform::private::{self, Access};
use plumbline_protocol::release::{self, Manifest, DEFAULT_CHANNEL, MAX_VALIDITY_DAYS, PLATFORMS};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;

/// How long a manifest is valid when `--valid-days` is not given: agents
/// checking daily pick a release up well within it, and a replayed old
/// manifest is refused after it.
pub const DEFAULT_VALID_DAYS: i64 = 30;

/// The release commands.
#[derive(clap::Subcommand)]
pub enum ReleaseCommand {
    /// Make a release key pair: KEY (private; keep it offline) and KEY.pub.
    Keygen {
        /// Where to write the private key (never over an existing file).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign the manifest of a release binary, for `plumbline-collector release add`.
    Sign {
        /// The release binary.
        #[arg(long)]
        binary: PathBuf,
        /// Its version, as it prints it (`plumbline self-check`), e.g. 0.2.0.
        #[arg(long)]
        version: String,
        /// x86_64-linux or x86_64-windows.
        #[arg(long)]
        platform: String,
        /// The update channel agents follow (`[update] channel`).
        #[arg(long, default_value = DEFAULT_CHANNEL)]
        channel: String,
        /// Days until agents refuse the manifest (at most 366); sign again before then.
        #[arg(long, default_value_t = DEFAULT_VALID_DAYS)]
        valid_days: i64,
        /// The release private key (from `release keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Where to write the signed manifest.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Run a release command.
pub fn exec(command: ReleaseCommand) -> Result<Exit> {
    match command {
        ReleaseCommand::Keygen { out } => keygen(&out),
        ReleaseCommand::Sign { binary, version, platform, channel, valid_days, key, out } => {
            sign(&binary, Manifest { version, platform, channel, ..empty() }, valid_days, &key, &out)
        }
    }
}

fn empty() -> Manifest {
    Manifest {
        version: String::new(),
        platform: String::new(),
        channel: String::new(),
        sha256: String::new(),
        size: 0,
        issued_at: String::new(),
        expires_at: String::new(),
    }
}

fn keygen(out: &Path) -> Result<Exit> {
    let (public, public_file) = new_key_pair(out)?;
    outln!("release key {} written:", public.key_id())?;
    outln!("  private: {} (keep it offline; sign with `plumbline release sign --key {}`)", out.display(), out.display())?;
    outln!("  public:  {}", public_file.display())?;
    outln!("agents that should install releases signed with it list it in their config:")?;
    outln!("[update]")?;
    outln!("release_keys = [\"{public}\"]")?;
    Ok(Exit::Ok)
}

fn sign(binary: &Path, mut manifest: Manifest, valid_days: i64, key: &Path, out: &Path) -> Result<Exit> {
    if !PLATFORMS.contains(&manifest.platform.as_str()) {
        bail!("--platform {:?}: use one of {}", manifest.platform, PLATFORMS.join(", "));
    }
    if !(1..=MAX_VALIDITY_DAYS).contains(&valid_days) {
        bail!("--valid-days {valid_days}: between 1 and {MAX_VALIDITY_DAYS} (the default is {DEFAULT_VALID_DAYS})");
    }
    let secret = read_secret(key)?;
    let bytes = std::fs::read(binary).with_context(|| format!("reading the release binary {}", binary.display()))?;
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).expect("0 is a valid nanosecond");
    manifest.sha256 = hex::encode(Sha256::digest(&bytes));
    manifest.size = bytes.len() as u64;
    manifest.issued_at = now.format(&Rfc3339).expect("formats");
    manifest.expires_at = (now + time::Duration::days(valid_days)).format(&Rfc3339).expect("formats");
    let signed = release::sign(&manifest, &secret).map_err(anyhow::Error::msg).context("the manifest")?;
    private::write_atomic(out, &signed, Access::Public).with_context(|| format!("writing {}", out.display()))?;
    outln!(
        "signed release {} for {} ({}, {} bytes, sha256 {}) with release key {}; valid until {}",
        manifest.version,
        manifest.platform,
        binary.display(),
        manifest.size,
        manifest.sha256,
        secret.public().key_id(),
        manifest.expires_at
    )?;
    outln!("publish it: plumbline-collector release add --manifest {} --binary {}", out.display(), binary.display())?;
    Ok(Exit::Ok)
}
