//! What a password must be, and Argon2id hashing and checking (the PHC
//! string format, with the parameters in the string, so they can be raised
//! later without invalidating stored hashes). CPU-heavy: callers run these
//! off the async workers (`super::store`).

use argon2::{
    password_hash::{phc::PasswordHash, PasswordHasher, PasswordVerifier},
    Argon2,
};

/// Shortest password accepted, in characters (NIST SP 800-63B asks for at
/// least 8; no composition rules).
pub const MIN_CHARS: usize = 12;
/// Longest password accepted, in characters (hashing cost stays bounded).
pub const MAX_CHARS: usize = 256;

/// Checks a new password: long enough, not too long, not only spaces, not
/// the user's own name.
pub fn check(password: &str, user_name: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(format!(
            "the password needs at least {MIN_CHARS} characters"
        ));
    }
    if n > MAX_CHARS {
        return Err(format!(
            "the password may have at most {MAX_CHARS} characters"
        ));
    }
    if password.trim().is_empty() {
        return Err("the password cannot be only spaces".into());
    }
    if password.eq_ignore_ascii_case(user_name) {
        return Err("the password cannot be the user's name".into());
    }
    Ok(())
}

/// The Argon2id PHC string of `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches the stored PHC string `phc` (false for a
/// string that is not a valid hash).
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_checks_its_password_only() {
        let h = hash("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_ne!(h, hash("correct horse battery").expect("hash"), "salted");
    }

    #[test]
    fn the_policy_says_what_is_wrong() {
        assert!(check("short", "ada").expect_err("refused").contains("12"));
        assert!(check(&"x".repeat(300), "ada")
            .expect_err("refused")
            .contains("256"));
        assert!(check("            ", "ada").is_err());
        assert!(check("ada-lovelace", "ADA-LOVELACE")
            .expect_err("refused")
            .contains("name"));
        assert!(check("a long enough phrase", "ada").is_ok());
    }
}
