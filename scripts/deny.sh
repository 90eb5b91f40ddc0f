#!/usr/bin/env bash
# Checks the dependency tree with cargo-deny against deny.toml: licences,
# banned and duplicated crates, and where crates come from. The advisory
# database cannot be fetched here, so advisories are not checked.
# Installs cargo-deny when it is missing. CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo deny --version >/dev/null 2>&1; then
  echo "deny: installing cargo-deny"
  cargo install cargo-deny --locked
fi
cargo deny --all-features --locked check bans licenses sources
