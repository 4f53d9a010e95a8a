//! Publisher signatures on plugin components, as `plumbline plugin sign` and
//! the build write them and the agent checks them before compiling.
//!
//! The signature travels inside the component, as a custom section named
//! [`SECTION_NAME`] that must be the file's last top-level section. It signs
//! the file without that section, so signing is "append" and checking is
//! "cut off and verify": nothing else in the file may change. Its payload is
//! fixed-size: a format byte, the publisher's Ed25519 public key, the
//! signature. What is signed is [`DOMAIN`] followed by the sha256 of the
//! unsigned file, so a publisher key signs plugins and nothing else.

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// The custom section holding the signature.
pub const SECTION_NAME: &str = "plumbline-signature";
/// What every signed message starts with: which kind of thing is signed.
pub const DOMAIN: &[u8] = b"plumbline-plugin-signature-v1\n";
/// How a public key is written in the agent's config.
pub const KEY_PREFIX: &str = "ed25519:";
/// The payload's first byte: which layout follows.
const FORMAT_V1: u8 = 1;
/// Format byte, public key, signature.
const PAYLOAD_LEN: usize = 1 + 32 + 64;
/// `\0asm` and a 4-byte version: a module's or a component's.
const HEADER_LEN: usize = 8;
/// A component's version and layer, after the magic.
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];

/// Why a file's signature could not be read, written or checked.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// The file is not framed as WebAssembly.
    #[error("not a WebAssembly component: {0}")]
    Malformed(String),
    /// A signature section is there, but not as this format writes it.
    #[error("its {SECTION_NAME} section is unusable: {0}; sign it again with `plumbline plugin sign`")]
    BadSection(String),
    /// A key could not be read.
    #[error("{0}")]
    Key(String),
}

/// A publisher's public key: what an agent trusts.
#[derive(Clone, PartialEq, Eq)]
pub struct PublisherKey(VerifyingKey);

impl PublisherKey {
    /// Read `ed25519:BASE64` (the raw 32-byte key, standard base64).
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let bad = |why: &str| {
            SignatureError::Key(format!(
                "{text:?} is not a publisher key ({why}); write it as `plumbline plugin keygen` prints it, \"ed25519:BASE64\""
            ))
        };
        let b64 = text.trim().strip_prefix(KEY_PREFIX).ok_or_else(|| bad("it does not start with `ed25519:`"))?;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| bad("not base64"))?;
        let raw: [u8; 32] = raw.try_into().map_err(|_| bad("not 32 bytes"))?;
        VerifyingKey::from_bytes(&raw).map(PublisherKey).map_err(|_| bad("not a point on the curve"))
    }

    /// A short name for the key in messages: the first 8 bytes of
    /// sha256(public key), hex.
    pub fn key_id(&self) -> String {
        hex::encode(&Sha256::digest(self.0.as_bytes())[..8])
    }

    /// For the other things such a key signs ([`crate::release`]).
    pub(crate) fn verifying(&self) -> &VerifyingKey {
        &self.0
    }
}

/// `ed25519:BASE64`, as the config takes it.
impl fmt::Display for PublisherKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublisherKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublisherKey({})", self.key_id())
    }
}

/// A publisher's private key (secret!), kept as a PKCS#8 PEM file.
pub struct PublisherSecret(SigningKey);

impl PublisherSecret {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).expect("the OS has randomness");
        PublisherSecret(SigningKey::from_bytes(&seed))
    }

    /// From a PKCS#8 PEM private key (as keygen or `openssl genpkey -algorithm ed25519` write it).
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        SigningKey::from_pkcs8_pem(pem).map(PublisherSecret).map_err(|e| {
            SignatureError::Key(format!(
                "not an Ed25519 PKCS#8 PEM private key ({e}); make one with `plumbline plugin keygen --out FILE`"
            ))
        })
    }

    /// As PKCS#8 PEM.
    pub fn to_pem(&self) -> String {
        self.0.to_pkcs8_pem(Default::default()).expect("Ed25519 keys encode").to_string()
    }

    /// The public half, to list in agents' configs.
    pub fn public(&self) -> PublisherKey {
        PublisherKey(self.0.verifying_key())
    }

    /// For the other things such a key signs ([`crate::release`]).
    pub(crate) fn signing(&self) -> &SigningKey {
        &self.0
    }
}

/// A signature found in a component.
#[derive(Debug, Clone)]
pub struct FoundSignature {
    /// Who says they signed it.
    pub key: PublisherKey,
    signature: ed25519_dalek::Signature,
}

/// A component split into what is signed and the signature, if any.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The file without its signature section.
    pub unsigned: &'a [u8],
    /// The signature section's contents.
    pub signature: Option<FoundSignature>,
    /// sha256 of the whole file, signature included: what a pin names.
    pub file_sha256: [u8; 32],
    unsigned_sha256: [u8; 32],
}

impl Parsed<'_> {
    /// Whether the signature was made by its key over these bytes. Strict
    /// verification: no weak keys, no malleable signatures.
    pub fn verifies(&self) -> bool {
        self.signature
            .as_ref()
            .is_some_and(|s| s.key.0.verify_strict(&message(&self.unsigned_sha256), &s.signature).is_ok())
    }
}

/// What is signed: the domain, then sha256 of the unsigned file.
fn message(unsigned_sha256: &[u8; 32]) -> Vec<u8> {
    [DOMAIN, unsigned_sha256].concat()
}

/// Walk the top-level sections of `bytes` and find the signature. Every
/// length is checked against what is left, so a hostile file can make this
/// fail but never read out of bounds or loop.
pub fn parse(bytes: &[u8]) -> Result<Parsed<'_>, SignatureError> {
    let malformed = |m: &str| SignatureError::Malformed(m.to_string());
    if bytes.len() < HEADER_LEN || &bytes[..4] != b"\0asm" {
        return Err(malformed("it does not start with the WebAssembly magic `\\0asm`"));
    }
    let mut at = HEADER_LEN;
    let mut found = None;
    while at < bytes.len() {
        let start = at;
        if found.is_some() {
            return Err(SignatureError::BadSection("another section follows it, and it must be the last".into()));
        }
        let id = bytes[at];
        at += 1;
        let size = leb_u32(bytes, &mut at).ok_or_else(|| malformed("a section's size is cut off or too long"))? as usize;
        if size > bytes.len() - at {
            return Err(malformed("a section runs past the end of the file"));
        }
        let body = &bytes[at..at + size];
        at += size;
        if id != 0 {
            continue;
        }
        let mut in_body = 0;
        let name_len = leb_u32(body, &mut in_body).ok_or_else(|| malformed("a custom section's name is cut off"))? as usize;
        if name_len > body.len() - in_body {
            return Err(malformed("a custom section's name runs past its section"));
        }
        if &body[in_body..in_body + name_len] == SECTION_NAME.as_bytes() {
            found = Some((start, read_payload(&body[in_body + name_len..])?));
        }
    }
    let (unsigned, signature) = match found {
        Some((start, signature)) => (&bytes[..start], Some(signature)),
        None => (bytes, None),
    };
    // One pass for both hashes: a load's time is mostly this (a cached load
    // is meant to take well under a millisecond).
    let mut hasher = Sha256::new();
    hasher.update(unsigned);
    let unsigned_sha256: [u8; 32] = hasher.clone().finalize().into();
    hasher.update(&bytes[unsigned.len()..]);
    Ok(Parsed { unsigned, signature, file_sha256: hasher.finalize().into(), unsigned_sha256 })
}

fn read_payload(payload: &[u8]) -> Result<FoundSignature, SignatureError> {
    if payload.len() != PAYLOAD_LEN {
        return Err(SignatureError::BadSection(format!("{} bytes where {PAYLOAD_LEN} were expected", payload.len())));
    }
    if payload[0] != FORMAT_V1 {
        return Err(SignatureError::BadSection(format!(
            "format {} is not one this agent reads (it reads {FORMAT_V1}); a newer agent may",
            payload[0]
        )));
    }
    let key: [u8; 32] = payload[1..33].try_into().expect("sized above");
    let key = VerifyingKey::from_bytes(&key)
        .map_err(|_| SignatureError::BadSection("its public key is not a point on the curve".into()))?;
    let signature = ed25519_dalek::Signature::from_bytes(&payload[33..].try_into().expect("sized above"));
    Ok(FoundSignature { key: PublisherKey(key), signature })
}

/// `bytes` signed by `secret`: any earlier signature replaced, the new one
/// appended as the last section.
pub fn sign(bytes: &[u8], secret: &PublisherSecret) -> Result<Vec<u8>, SignatureError> {
    if bytes.len() < HEADER_LEN || bytes[4..8] != COMPONENT_VERSION {
        return Err(SignatureError::Malformed(
            "only components are signed (is this a core module? build plugins with `cargo xtask build-plugins`)".into(),
        ));
    }
    let parsed = parse(bytes)?;
    let (unsigned, signature) = (parsed.unsigned, secret.0.sign(&message(&parsed.unsigned_sha256)));
    let mut payload = Vec::with_capacity(PAYLOAD_LEN);
    payload.push(FORMAT_V1);
    payload.extend_from_slice(secret.0.verifying_key().as_bytes());
    payload.extend_from_slice(&signature.to_bytes());
    let mut body = Vec::new();
    leb_write(&mut body, SECTION_NAME.len() as u32);
    body.extend_from_slice(SECTION_NAME.as_bytes());
    body.extend_from_slice(&payload);
    let mut out = unsigned.to_vec();
    out.push(0);
    leb_write(&mut out, body.len() as u32);
    out.extend_from_slice(&body);
    Ok(out)
}

/// An unsigned LEB128 of at most 5 bytes, the 5th carrying only the top 4
/// bits of a u32; none when cut off or longer.
fn leb_u32(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let mut value = 0u32;
    for i in 0..5 {
        let b = *bytes.get(*at)?;
        *at += 1;
        if i == 4 && b & 0xf0 != 0 {
            return None;
        }
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn leb_write(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: the header alone, then one custom section.
    fn component() -> Vec<u8> {
        let mut c = b"\0asm".to_vec();
        c.extend_from_slice(&COMPONENT_VERSION);
        c.extend_from_slice(&[0, 4, 3, b'x', b'y', b'z']);
        c
    }

    #[test]
    fn a_signed_component_verifies_and_names_its_key() {
        let secret = PublisherSecret::generate();
        let signed = sign(&component(), &secret).unwrap();
        let parsed = parse(&signed).unwrap();
        assert_eq!(parsed.unsigned, component().as_slice());
        assert_eq!(parsed.file_sha256, <[u8; 32]>::from(Sha256::digest(&signed)));
        assert_eq!(parsed.unsigned_sha256, <[u8; 32]>::from(Sha256::digest(component())));
        assert_eq!(parsed.signature.as_ref().unwrap().key, secret.public());
        assert!(parsed.verifies());
        let again = sign(&signed, &secret).unwrap();
        assert_eq!(again, signed, "re-signing replaces the signature instead of stacking another");
    }

    #[test]
    fn any_changed_byte_breaks_the_signature() {
        let signed = sign(&component(), &PublisherSecret::generate()).unwrap();
        for i in 0..signed.len() {
            let mut bad = signed.clone();
            bad[i] ^= 0x01;
            let ok = parse(&bad).map(|p| p.signature.is_some() && p.verifies()).unwrap_or(false);
            assert!(!ok, "flipping byte {i} left a valid signature");
        }
    }

    #[test]
    fn an_unsigned_component_has_no_signature() {
        let c = component();
        let parsed = parse(&c).unwrap();
        assert!(parsed.signature.is_none());
        assert!(!parsed.verifies());
    }

    #[test]
    fn a_section_after_the_signature_is_refused() {
        let mut signed = sign(&component(), &PublisherSecret::generate()).unwrap();
        signed.extend_from_slice(&[0, 2, 1, b'q']);
        let e = parse(&signed).unwrap_err().to_string();
        assert!(e.contains("must be the last"), "{e}");
        let twice = [signed.clone(), signed[HEADER_LEN..].to_vec()].concat();
        assert!(parse(&twice).is_err(), "two signature sections are refused");
    }

    #[test]
    fn bad_framing_fails_without_reading_past_the_end() {
        let c = component();
        for cut in 0..c.len() {
            let _ = parse(&c[..cut]);
        }
        let mut long = c.clone();
        long.extend_from_slice(&[1, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(parse(&long).unwrap_err().to_string().contains("past the end"));
        let mut leb = c.clone();
        leb.extend_from_slice(&[1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
        assert!(parse(&leb).unwrap_err().to_string().contains("too long"));
        assert!(parse(b"not wasm").is_err());
    }

    #[test]
    fn a_core_module_is_not_signed() {
        let module = b"\0asm\x01\0\0\0".to_vec();
        assert!(sign(&module, &PublisherSecret::generate()).unwrap_err().to_string().contains("core module"));
    }

    #[test]
    fn a_payload_of_the_wrong_shape_is_refused() {
        let mut c = component();
        let mut body = vec![SECTION_NAME.len() as u8];
        body.extend_from_slice(SECTION_NAME.as_bytes());
        body.extend_from_slice(&[FORMAT_V1; 10]);
        c.push(0);
        c.push(body.len() as u8);
        c.extend_from_slice(&body);
        assert!(parse(&c).unwrap_err().to_string().contains("bytes where 97"));
    }

    #[test]
    fn keys_round_trip_through_their_text_forms() {
        let secret = PublisherSecret::generate();
        let again = PublisherSecret::from_pem(&secret.to_pem()).unwrap();
        assert_eq!(again.public(), secret.public());
        let text = secret.public().to_string();
        assert!(text.starts_with("ed25519:"));
        assert_eq!(PublisherKey::parse(&text).unwrap(), secret.public());
        assert_eq!(secret.public().key_id().len(), 16);
        for bad in ["", "ed25519:", "ed25519:!!", "rsa:AAAA", "ed25519:AAAA"] {
            assert!(PublisherKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(PublisherSecret::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err());
    }
}
