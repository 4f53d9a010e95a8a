//! `plumbline plugin keygen|sign`: a publisher's key, and the signature an
//! agent checks before it runs a plugin (see `[plugin_trust]`). Release keys
//! (`plumbline release keygen`) are made here too, in the same format.

use super::exit::Exit;
use anyhow::{bail, Context, Result};
use plumbline_agent::platform::private::{self, Access};
use plumbline_agent::runtime::limits::MAX_COMPONENT_BYTES;
use plumbline_protocol::plugin_signature::{self, PublisherKey, PublisherSecret};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `plugin keygen --out KEY`: a new private key in KEY (only this account
/// may read it), its public key in KEY.pub, and the config line to trust it.
pub fn keygen(out: &Path) -> Result<Exit> {
    let (public, public_file) = new_key_pair(out)?;
    outln!("publisher key {} written:", public.key_id())?;
    outln!("  private: {} (keep it secret; sign with `plumbline plugin sign FILE --key {}`)", out.display(), out.display())?;
    outln!("  public:  {}", public_file.display())?;
    outln!("agents that should run plugins signed with it list it in their config:")?;
    outln!("[plugin_trust]")?;
    outln!("publishers = [\"{public}\"]")?;
    Ok(Exit::Ok)
}

/// A new private key in `out` (only this account may read it) and its
/// public key in `out.pub`: for a plugin publisher or a release key (one
/// format for both); the public key and its file.
pub fn new_key_pair(out: &Path) -> Result<(PublisherKey, PathBuf)> {
    let secret = PublisherSecret::generate();
    write_new_private(out, secret.to_pem().as_bytes())?;
    let public = secret.public();
    let public_file = PathBuf::from(format!("{}.pub", out.display()));
    private::write_atomic(&public_file, format!("{public}\n").as_bytes(), Access::Public)
        .with_context(|| format!("writing the public key to {}", public_file.display()))?;
    Ok((public, public_file))
}

/// The private key in `key` (PKCS#8 PEM, as keygen writes it).
pub fn read_secret(key: &Path) -> Result<PublisherSecret> {
    let pem = std::fs::read_to_string(key).with_context(|| format!("reading the key {}", key.display()))?;
    PublisherSecret::from_pem(&pem).with_context(|| format!("{}", key.display()))
}

/// Create `path` for a secret: never over an existing file (a key lost to
/// a typo cannot be made again), and private before a byte is written.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} already exists; keygen never overwrites a key: choose another --out, or move the old key away", path.display())
        }
        r => r.with_context(|| format!("creating the key file {}", path.display()))?,
    };
    private::restrict_file(path).with_context(|| format!("making {} private", path.display()))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("writing {}", path.display()))
}

/// `plugin sign FILE --key KEY [--out OUT]`: FILE with the publisher
/// signature of KEY (replacing any earlier one), written to OUT or in place.
pub fn sign(file: &Path, key: &Path, out: Option<&Path>) -> Result<Exit> {
    let secret = read_secret(key)?;
    let size = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?.len();
    if size > MAX_COMPONENT_BYTES {
        bail!("{} is {size} bytes, over the {MAX_COMPONENT_BYTES}-byte limit an agent loads; it would never run", file.display());
    }
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let signed = plugin_signature::sign(&bytes, &secret).with_context(|| format!("signing {}", file.display()))?;
    let target = out.unwrap_or(file);
    private::write_atomic(target, &signed, Access::Public).with_context(|| format!("writing {}", target.display()))?;
    outln!("signed {} with publisher key {}", target.display(), secret.public().key_id())?;
    let sha256 = hex::encode(Sha256::digest(&signed));
    outln!("sha256 {sha256} (to pin it: sha256 = \"{sha256}\" in its [plugins.NAME])")?;
    Ok(Exit::Ok)
}
