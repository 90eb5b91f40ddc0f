//! API token format, generation and verification.
//!
//! Operator API tokens read `wc_<prefix>_<secret>`, device credentials
//! `wcd_<prefix>_<secret>` (subscriber API tokens `wcs_`, survey links
//! `wcv_`, hawkBit DDI target tokens `wct_`): `prefix` is 10 lowercase hex
//! characters shown in listings so people can recognise their tokens; `secret`
//! is 32 random bytes in hex. The server stores the prefix and the SHA-256 of
//! the whole token, never the token itself.
//!
//! A plain SHA-256 (not a slow password hash) is right here: the secret has
//! 256 bits of entropy, so there is nothing to brute-force, and checking a
//! token on every request must stay cheap.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX_HEX_LEN: usize = 10;
const SECRET_BYTES: usize = 32;

/// A freshly generated token: the full text (shown to its owner once) and
/// what the server stores.
#[derive(Debug)]
pub struct NewToken {
    pub plaintext: String,
    pub prefix: String,
    pub hash: String,
}

/// The two kinds of bearer secrets: operator API tokens and device credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Operator,
    Device,
    /// Subscriber API tokens (`wcs_`).
    Subscriber,
    /// Single-use satisfaction survey links (`wcv_`).
    Survey,
    /// Licence keys (`wcl_`), shown once and stored hashed.
    Licence,
    /// hawkBit DDI `TargetToken`s (`wct_`), one per DDI box.
    Target,
}

impl Scheme {
    pub fn tag(self) -> &'static str {
        match self {
            Scheme::Operator => "wc_",
            Scheme::Device => "wcd_",
            Scheme::Subscriber => "wcs_",
            Scheme::Survey => "wcv_",
            Scheme::Licence => "wcl_",
            Scheme::Target => "wct_",
        }
    }
}

/// Generates a new random operator token.
pub fn generate() -> NewToken {
    generate_in(Scheme::Operator)
}

/// Generates a new random secret of `scheme`.
pub fn generate_in(scheme: Scheme) -> NewToken {
    let mut rng = rand::rngs::OsRng;
    let mut id = [0u8; PREFIX_HEX_LEN / 2];
    let mut secret = [0u8; SECRET_BYTES];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let prefix = format!("{}{}", scheme.tag(), hex::encode(id));
    let plaintext = format!("{prefix}_{}", hex::encode(secret));
    let hash = hash(&plaintext);
    NewToken {
        plaintext,
        prefix,
        hash,
    }
}

/// The stored hash of a token's text.
pub fn hash(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// The prefix of a presented operator token, or `None` when it cannot be one.
pub fn prefix_of(presented: &str) -> Option<&str> {
    prefix_in(Scheme::Operator, presented)
}

/// The prefix of a presented secret of `scheme`, or `None` when it cannot be one.
pub fn prefix_in(scheme: Scheme, presented: &str) -> Option<&str> {
    let tag = scheme.tag();
    let rest = presented.strip_prefix(tag)?;
    let (id, secret) = rest.split_once('_')?;
    let hexy = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if hexy(id, PREFIX_HEX_LEN) && hexy(secret, SECRET_BYTES * 2) {
        Some(&presented[..tag.len() + PREFIX_HEX_LEN])
    } else {
        None
    }
}

/// Whether a presented token matches a stored hash, in constant time.
pub fn matches(presented: &str, stored_hash: &str) -> bool {
    hash(presented)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// Whether a presented token matches a stored hash kept as its 32 bytes,
/// in constant time.
pub fn matches_digest(presented: &str, digest: &[u8; 32]) -> bool {
    Sha256::digest(presented.as_bytes())
        .as_slice()
        .ct_eq(digest)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_verify_and_carry_their_prefix() {
        let t = generate();
        assert_eq!(prefix_of(&t.plaintext), Some(t.prefix.as_str()));
        assert!(matches(&t.plaintext, &t.hash));
        let mut digest = [0u8; 32];
        hex::decode_to_slice(&t.hash, &mut digest).expect("hex");
        assert!(matches_digest(&t.plaintext, &digest));
        assert!(!matches_digest(&t.plaintext[1..], &digest));
        assert!(
            !t.hash.contains(&t.plaintext[14..]),
            "hash is not the secret"
        );
    }

    #[test]
    fn a_changed_character_does_not_verify() {
        let t = generate();
        let mut other = t.plaintext.clone();
        let last = other.pop().expect("non-empty");
        other.push(if last == '0' { '1' } else { '0' });
        assert!(prefix_of(&other).is_some());
        assert!(!matches(&other, &t.hash));
    }

    #[test]
    fn tokens_are_unique() {
        let a = generate();
        let b = generate();
        assert_ne!(a.plaintext, b.plaintext);
        assert_ne!(a.prefix, b.prefix);
    }

    #[test]
    fn schemes_do_not_mix() {
        let device = generate_in(Scheme::Device);
        assert!(device.plaintext.starts_with("wcd_"));
        assert_eq!(
            prefix_in(Scheme::Device, &device.plaintext),
            Some(device.prefix.as_str())
        );
        assert_eq!(
            prefix_of(&device.plaintext),
            None,
            "a device credential is no operator token"
        );
        assert_eq!(prefix_in(Scheme::Device, &generate().plaintext), None);
    }

    #[test]
    fn malformed_tokens_have_no_prefix() {
        for s in [
            "",
            "wc_",
            "wc_abc_def",
            "xx_0123456789_",
            "wc_0123456789",
            "wc_012345678g_00",
        ] {
            assert_eq!(prefix_of(s), None, "{s:?}");
        }
        let good = format!("wc_0123456789_{}", "ab".repeat(32));
        assert_eq!(prefix_of(&good), Some("wc_0123456789"));
    }
}
