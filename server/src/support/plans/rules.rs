//! Plans as rules: what a plan key is.

/// A plan's key (`basic`, `vip`, …): 1 to 32 lowercase letters, digits,
/// `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanKey(String);

/// Longest plan key.
pub const MAX_KEY: usize = 32;

impl PlanKey {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = (1..=MAX_KEY).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "plan must be 1 to {MAX_KEY} lowercase letters, digits, '-' or '_'"
            ))
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_lowercase_words() {
        for k in ["vip", "gold-2", "basic_plus"] {
            assert!(PlanKey::parse(k).is_ok(), "{k}");
        }
        for k in ["", "VIP", "a b", "é", &"x".repeat(MAX_KEY + 1)] {
            assert!(PlanKey::parse(k).is_err(), "{k:?}");
        }
    }
}
