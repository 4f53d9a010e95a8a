//! Enrollment and API tokens: 32 random bytes, shown once, stored only as
//! their sha256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Prefix of enrollment tokens.
pub const ENROLL_PREFIX: &str = "ple_";
/// Prefix of fleet enrollment secrets (reusable, for a tenant): told apart
/// at a glance, and by secret scanners, from a site's single-use token.
pub const FLEET_PREFIX: &str = "plf_";
/// Prefix of API tokens.
pub const API_PREFIX: &str = "plt_";

/// A fresh token: `prefix` + 32 random bytes, base64url.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the OS has randomness");
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored: sha256 of the token, hex.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = generate(API_PREFIX);
        assert!(a.starts_with(API_PREFIX) && a.len() == 4 + 43);
        assert_ne!(a, generate(API_PREFIX));
        assert_eq!(hash(&a), hash(&format!(" {a}\n")));
        assert_ne!(hash(&a), a);
    }
}
