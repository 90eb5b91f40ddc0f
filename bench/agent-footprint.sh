#!/usr/bin/env bash
# The agent's footprint against its budgets on aarch64 (stripped size
# <= 2 MB, idle RSS <= 8 MB, RSS while installing a 256 MiB image <= 16 MB),
# for both TLS builds: the box's OpenSSL (`system-tls`) and bundled rustls.
#
# Each build installs a firmware image of MIB MiB (default 256) from a real
# server over HTTPS with a pinned CA, through the suite's footprint test.
# The aarch64 build runs under qemu-aarch64-static; its RSS is the ARM
# program's own resident pages (binary, libraries, heap, stacks), without
# the emulator's (see `memory_kib` in tests/tests/suite/agent.rs). The
# native x86_64 builds are measured too, as a cross-check.
#
#   bench/agent-footprint.sh          # needs scripts/cross-agent.sh --install once
source "$(dirname "$0")/lib.sh"
MIB=${MIB:-256}
cd "$ROOT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

for tls in system rustls; do
  AGENT_TLS=$tls scripts/cross-agent.sh >/dev/null
  cp target/cross/aarch64-unknown-linux-gnu/agent-release/wavecast-agent "$TMP/aarch64-$tls"
  if [ "$tls" = system ]; then features=(--no-default-features --features system-tls); else features=(); fi
  cargo build --quiet --profile agent-release -p wavecast-agent "${features[@]}"
  cp target/agent-release/wavecast-agent "$TMP/x86_64-$tls"
done

verdict() { if (( $1 <= $2 )); then echo "within"; else echo "OVER"; fi; }
for build in aarch64-system aarch64-rustls x86_64-system x86_64-rustls; do
  bin="$TMP/$build"
  if [[ $build == aarch64-* ]]; then runner=qemu-aarch64-static; else runner=""; fi
  WAVECAST_FOOTPRINT_MIB=$MIB WAVECAST_AGENT_BIN="$bin" WAVECAST_AGENT_RUNNER="$runner" \
    cargo test --quiet -p wavecast-e2e --test suite -- --nocapture agent::the_agent_streams_and_stays_small \
    > "$TMP/$build.log" 2>&1 || { cat "$TMP/$build.log"; exit 1; }
  line=$(grep 'agent footprint' "$TMP/$build.log")
  size=$(stat -c %s "$bin")
  idle=$(sed -n 's/.*idle RSS \([0-9]*\) KiB.*/\1/p' <<<"$line")
  peak=$(sed -n 's/.*: \([0-9]*\) KiB (.*/\1/p' <<<"$line")
  echo "$build: stripped $size B, idle RSS $idle KiB, peak RSS installing $MIB MiB $peak KiB"
  if [[ $build == aarch64-* ]]; then
    echo "  budgets: size $(verdict "$size" 2000000) 2 MB," \
      "idle RSS $(verdict $((idle * 1024)) 8000000) 8 MB," \
      "peak RSS $(verdict $((peak * 1024)) 16000000) 16 MB"
  fi
done
