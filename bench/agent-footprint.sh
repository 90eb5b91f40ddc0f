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
cargo build --quiet --profile agent-release -p wavecast-agent
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
for which in aarch64 native; do
  if [ "$which" = aarch64 ]; then bin=$arm; r=$runner; else bin=$native; r=""; fi
  WAVECAST_FOOTPRINT_MIB=$MIB WAVECAST_AGENT_BIN="$bin" WAVECAST_AGENT_RUNNER="$r" \
    cargo test --quiet -p wavecast-e2e --test suite -- --nocapture agent::the_agent_streams_and_stays_small 2>&1 \
    | grep 'agent footprint' | sed "s/^/$which: /"
done
