//! Passwords: argon2id (the crate's defaults, OWASP's minimum: 19 MiB,
//! 2 passes), and a floor on what is accepted.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

/// Shortest password accepted.
pub const MIN_CHARS: usize = 12;
/// Longest password accepted (hashing time grows with it).
pub const MAX_CHARS: usize = 1024;

/// A PHC string (`$argon2id$v=19$...`) with a fresh salt.
pub fn hash(password: &str) -> String {
    Argon2::default().hash_password(password.as_bytes()).expect("argon2id with default parameters hashes").to_string()
}

/// Does `password` match the stored PHC string? A malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when there is no such user, so that a wrong
/// address takes as long as a wrong password.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("plumbline decoy password, never a real one"))
}

/// Refuse passwords too short, too long, or equal to the address.
pub fn check_strength(password: &str, email: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(format!("the password has {n} characters; use at least {MIN_CHARS} (a passphrase of four words works)"));
    }
    if n > MAX_CHARS {
        return Err(format!("the password has {n} characters; use at most {MAX_CHARS}"));
    }
    if password.trim().eq_ignore_ascii_case(email) {
        return Err("the password is the e-mail address; choose another".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash("correct horse battery staple");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert!(verify("correct horse battery staple", &a));
        assert!(!verify("correct horse battery stapler", &a));
        assert_ne!(a, hash("correct horse battery staple"), "a fresh salt each time");
        assert!(!verify("x", "not a hash"));
        assert!(check_strength("short", "a@b.example").is_err());
        assert!(check_strength("a@b.example", "a@b.example").is_err());
        assert!(check_strength("long enough passphrase", "a@b.example").is_ok());
    }
}
