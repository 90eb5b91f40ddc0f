#!/usr/bin/env bash
# The agent's footprint: stripped size of the aarch64 build, idle RSS, and
# peak RSS while it installs a firmware image of MIB MiB (default 256)
# through a real server, via the suite's footprint test. Runs the aarch64
# binary under qemu-aarch64-static (its RSS includes the emulator, whose own
# floor is measured in the same run) and the native release build.
#
#   bench/agent-footprint.sh          # needs scripts/cross-agent.sh --install once
source "$(dirname "$0")/lib.sh"
MIB=${MIB:-256}
cd "$ROOT"
scripts/cross-agent.sh >/dev/null
arm="$ROOT/target/cross/aarch64-unknown-linux-gnu/agent-release/wavecast-agent"
# Built as for boxes: the system's OpenSSL (scripts/cross-agent.sh).
cargo build --quiet --profile agent-release -p wavecast-agent --no-default-features --features system-tls
native="$ROOT/target/agent-release/wavecast-agent"
echo "stripped size: aarch64 $(stat -c %s "$arm") bytes, x86_64 $(stat -c %s "$native") bytes (budget 2,000,000)"
runner="qemu-aarch64-static"  # see scripts/cross-agent.sh on -L
floor=$(python3 - "$arm" <<'PY'
import resource, subprocess, sys
subprocess.run(["qemu-aarch64-static", sys.argv[1], "--version"], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
)
echo "qemu floor (the aarch64 agent printing its version): $floor KiB"
TMP=$(mktemp -d)
for which in aarch64 native; do
  if [ "$which" = aarch64 ]; then bin=$arm; r=$runner; else bin=$native; r=""; fi
  WAVECAST_FOOTPRINT_MIB=$MIB WAVECAST_AGENT_BIN="$bin" WAVECAST_AGENT_RUNNER="$r" \
    cargo test --quiet -p wavecast-e2e --test suite -- --nocapture agent::the_agent_streams_and_stays_small \
    > "$TMP/footprint-$which.log" 2>&1 || { cat "$TMP/footprint-$which.log"; exit 1; }
  line=$(grep 'agent footprint' "$TMP/footprint-$which.log")
  echo "$which: $line"
  if [ "$which" = native ]; then
    # The budgets, judged on the native release build (RSS under qemu
    # includes the emulator).
    idle=$(sed -n 's/.*idle RSS \([0-9]*\) KiB.*/\1/p' <<<"$line")
    peak=$(sed -n 's/.*: \([0-9]*\) KiB (.*/\1/p' <<<"$line")
    verdict() { if (( $1 <= $2 )); then echo "within"; else echo "OVER"; fi; }
    echo "budgets: size $(verdict "$(stat -c %s "$arm")" 2000000) 2 MB (aarch64)," \
      "idle RSS $(verdict $((idle * 1024)) 8000000) 8 MB," \
      "peak RSS $(verdict $((peak * 1024)) 16000000) 16 MB"
  fi
done
rm -rf "$TMP"
