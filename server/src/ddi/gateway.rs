//! The tenant-wide `GatewayToken` (`ddi.gateway_token_file`): read once
//! at start-up and kept as a hash, like every token the server holds.

use std::path::Path;

use anyhow::Context;

use crate::identity::tokens::rules::{hash, matches};

/// The gateway token's hash, read once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Gateway {
    hash: Option<String>,
}

impl Gateway {
    /// Reads `ddi.gateway_token_file`, if set (its first line, trimmed;
    /// at least 16 characters).
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = file else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("ddi.gateway_token_file {}", path.display()))?;
        let token = text.lines().next().unwrap_or_default().trim();
        anyhow::ensure!(
            token.len() >= 16,
            "ddi.gateway_token_file {}: the token must be at least 16 characters",
            path.display()
        );
        Ok(Self {
            hash: Some(hash(token)),
        })
    }

    pub fn admits(&self, presented: &str) -> bool {
        self.hash.as_deref().is_some_and(|h| matches(presented, h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_token_file_is_read_once_and_checked() {
        let dir = tempfile::tempdir().expect("test value");
        let path = dir.path().join("gw");
        std::fs::write(&path, "short\n").expect("test value");
        assert!(Gateway::load(Some(&path)).is_err());
        std::fs::write(&path, "a-long-enough-gateway-token\n").expect("test value");
        let g = Gateway::load(Some(&path)).expect("test value");
        assert!(g.admits("a-long-enough-gateway-token"));
        assert!(!g.admits("another-token-of-some-length"));
        assert!(!Gateway::default().admits("a-long-enough-gateway-token"));
    }
}
