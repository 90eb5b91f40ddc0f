#!/usr/bin/env bash
# 64 concurrent Range downloads of one artifact: the Wavecast server against
# nginx serving the same file from disk, with the same load generator (wrk)
# and the same random 4 MiB ranges, both measured in this run.
#
#   bench/downloads.sh                     # 256 MiB artifact, 64 connections, 10 s each
#   SIZE_MIB=512 CONNECTIONS=64 DURATION=20 bench/downloads.sh
source "$(dirname "$0")/lib.sh"
need curl python3 wrk nginx
SIZE_MIB=${SIZE_MIB:-256}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
CHUNK=$((4 * 1024 * 1024))

cargo build --quiet --release -p wavecast-server -p wavecast-bench
work=$(mktemp -d /tmp/wavecast-bench-dl.XXXXXX)
NGINX_PID=
trap 'stop_server; [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null; rm -rf "$work"' EXIT
chmod 755 "$work"
cd "$work"

make_bundle "$SIZE_MIB"
chmod 644 rootfs.img
size=$(stat -c %s rootfs.img)
sha=$(sha256sum rootfs.img | cut -d' ' -f1)
# The downloads are made as boxes make them: with a device credential.
"$ROOT/target/release/wavecast-bench" seed "sqlite://$work/wavecast.db" 1 tokens.txt >/dev/null
BOX=$(head -1 tokens.txt)
WAVECAST__DATABASE__URL=sqlite://$work/wavecast.db start_server "$work/server"
"$W" keys publish >/dev/null
"$W" bundle upload bench.wcb >/dev/null
# Boxes download only artifacts of published bundles.
"$W" bundle publish bench-firmware@1.0.0 >/dev/null

nport=$(free_port)
mkdir -p nginx/logs
cat > nginx/nginx.conf <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.1:$nport;
    location /artifacts/ { alias $work/; }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
NGINX_PID=$!
sleep 0.5

cat > range.lua <<LUA
math.randomseed(42)
local size, chunk = $size, $CHUNK
request = function()
  local start = math.random(0, size - chunk)
  wrk.headers["Range"] = "bytes=" .. start .. "-" .. (start + chunk - 1)
  return wrk.format(nil)
end
LUA

cat rootfs.img > /dev/null   # warm the page cache for both
run() { wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s range.lua "$@"; }
echo "== nginx"
nginx_out=$(run "http://127.0.0.1:$nport/artifacts/rootfs.img")
echo "$nginx_out" | grep -E 'Requests/sec|Transfer/sec|Non-2xx|Latency'
echo "== wavecast"
wc_out=$(run -H "Authorization: Bearer $BOX" "$SERVER/api/v1/artifacts/$sha")
echo "$wc_out" | grep -E 'Requests/sec|Transfer/sec|Non-2xx|Latency'
python3 - "$nginx_out" "$wc_out" <<'PY'
import re, sys
def rps(out):
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
n, w = rps(sys.argv[1]), rps(sys.argv[2])
mib = 4
for out in sys.argv[1:]:
    if "Non-2xx" in out:
        sys.exit("some requests failed: the figures are not comparable")
print(f"nginx:    {n:8.1f} ranges/s  {n * mib:8.1f} MiB/s")
print(f"wavecast: {w:8.1f} ranges/s  {w * mib:8.1f} MiB/s")
print(f"ratio wavecast / nginx: {w / n:.2f}")
PY
