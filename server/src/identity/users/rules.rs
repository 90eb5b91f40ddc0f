//! A user's login name, parsed once at the edge.

use std::fmt;

use serde::Serialize;

/// A user's login name: 1–64 characters of lowercase ASCII letters, digits,
/// `.`, `-` and `_`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok_len = (1..=64).contains(&s.len());
        let starts = s.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        let chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
        if ok_len && starts && chars {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "invalid user name {s:?}: use 1-64 lowercase letters, digits, '.', '-' or '_', \
                 starting with a letter"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for n in ["admin", "alice.smith", "ops-team_2", "a"] {
            assert!(UserName::parse(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn refuses_bad_names() {
        let long = "a".repeat(65);
        for n in ["", "Alice", "1abc", "-x", "a b", "ä", "a/b", long.as_str()] {
            assert!(UserName::parse(n).is_err(), "{n:?}");
        }
    }
}
