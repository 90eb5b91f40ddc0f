#!/usr/bin/env bash
# Upload + hash throughput: `wavecast bundle upload` of a bundle into a fresh
# server (streamed, SHA-256 verified, written to the blob store) against
# `sha256sum` of the same file, both measured in this run.
#
#   bench/upload.sh            # 1 GiB bundle, 3 runs each
#   SIZE_MIB=256 RUNS=5 bench/upload.sh
source "$(dirname "$0")/lib.sh"
need curl python3 sha256sum
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}

cargo build --quiet --release -p wavecast-server
work=$(mktemp -d /tmp/wavecast-bench-upload.XXXXXX)
trap 'stop_server; rm -rf "$work"' EXIT

cd "$work"
echo "preparing a ${SIZE_MIB} MiB bundle in $work"
make_bundle "$SIZE_MIB"
rm rootfs.img
bytes=$(stat -c %s bench.wcb)
cat bench.wcb > /dev/null   # both sides read from the page cache

base=() up=() rss=()
for i in $(seq 1 "$RUNS"); do
  base+=("$(seconds sha256sum bench.wcb)")
  # A fresh server each run, so every upload writes a new blob.
  start_server "$work/server-$i"
  "$W" keys publish >/dev/null
  up+=("$(seconds "$W" bundle upload bench.wcb 2>/dev/null)")
  rss+=("$(peak_rss_kib "$SERVER_PID")")
  stop_server
  rm -rf "$work/server-$i"
done

b=$(median "${base[@]}")
u=$(median "${up[@]}")
python3 - "$bytes" "$b" "$u" "${rss[@]}" <<'PY'
import sys
size, b, u = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
rss = [int(x) for x in sys.argv[4:]]
mib = size / 2**20
print(f"bundle size:                {mib:.0f} MiB")
print(f"sha256sum (baseline):       {b:.3f} s  {mib / b:8.1f} MiB/s")
print(f"wavecast bundle upload:     {u:.3f} s  {mib / u:8.1f} MiB/s")
print(f"ratio upload / sha256sum:   {b / u:.2f}")
print(f"server peak RSS per run:    {', '.join(f'{r / 1024:.1f} MiB' for r in rss)}")
PY
