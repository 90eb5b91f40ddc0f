# Shared helpers for the Wavecast benchmarks (sourced, not run).
# Everything runs on loopback, in a temp dir, and stops by itself.

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
W="$ROOT/target/release/wavecast"

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || {
      echo "bench: $tool is missing (Debian: apt-get install nginx-light wrk curl)" >&2
      exit 2
    }
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server DIR: starts `wavecast serve` with its data in DIR; sets SERVER_PID, SERVER, TOKEN.
start_server() {
  local dir=$1 port
  port=$(free_port)
  mkdir -p "$dir"
  (cd "$dir" && WAVECAST__HTTP__BIND=127.0.0.1:$port WAVECAST__MQTT__LISTEN=127.0.0.1:${MQTT_PORT:-0} WAVECAST__LOG__FILTER=warn \
    exec "$W" serve >"$dir/server.out" 2>"$dir/server.err") &
  SERVER_PID=$!
  SERVER=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    curl -fs "$SERVER/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  TOKEN=$(grep -o 'wc_[0-9a-f]*_[0-9a-f]*' "$dir/server.out" | head -1 || true)
  export WAVECAST_SERVER=$SERVER WAVECAST_TOKEN=$TOKEN
}

stop_server() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# seconds CMD...: wall-clock seconds of a command.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.3f}')"
}

median() { python3 -c 'import sys,statistics; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }

# make_bundle MIB: in the current directory, writes rootfs.img (MIB MiB of
# random bytes), keys (wavecast-keys/) and a signed bundle bench.wcb.
make_bundle() {
  head -c $(($1 * 1024 * 1024)) /dev/urandom > rootfs.img
  cat > bundle.toml <<SPEC
kind = "firmware"
name = "bench-firmware"
version = "1.0.0"
security_version = 1
[[compatible]]
model = "X1"
[[artifacts]]
name = "rootfs.img"
file = "rootfs.img"
target = "rootfs"
SPEC
  "$W" keys init >/dev/null 2>&1
  "$W" bundle build --spec bundle.toml --out bench.wcb >/dev/null 2>&1
}
