#!/usr/bin/env bash
# The test command: installs what the suite needs and is missing
# (scripts/test-deps.sh), then runs every test of the workspace: unit
# tests, the integration suite on SQLite and on PostgreSQL, the README's
# journey, the real binaries. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-deps.sh
exec cargo test --locked --workspace "$@"
