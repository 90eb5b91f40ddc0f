#!/usr/bin/env bash
# Check-in throughput and p99 latency with a large enrolled fleet, on SQLite
# and on PostgreSQL, against an actix-web hello-world JSON endpoint measured
# with the same load generator (wrk) and settings in the same run. Every
# request is a real check-in: a different device's credential each time, a
# signed answer; the inventory matches what is stored, so nothing is written.
#
#   bench/checkin.sh                          # 1,000,000 devices, 64 connections, 10 s
#   DEVICES=100000 BACKENDS=sqlite bench/checkin.sh
source "$(dirname "$0")/lib.sh"
need curl python3 wrk
DEVICES=${DEVICES:-1000000}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
BACKENDS=${BACKENDS:-"sqlite postgres"}

cargo build --quiet --release -p wavecast-server -p wavecast-bench
B="$ROOT/target/release/wavecast-bench"
work=$(mktemp -d /tmp/wavecast-bench-checkin.XXXXXX)
HELLO_PID=
cleanup() {
  stop_server
  [ -n "$HELLO_PID" ] && kill "$HELLO_PID" 2>/dev/null
  [ -n "$PG_DIR" ] && pg_ctl_as stop -D "$PG_DIR/data" -m fast >/dev/null 2>&1
  rm -rf "$work"
}
PG_DIR=
trap cleanup EXIT
chmod 755 "$work"
cd "$work"

# PostgreSQL refuses to run as root: run it as the postgres user then.
pg_ctl_as() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- pg_ctl "$@"; else pg_ctl "$@"; fi
}

# The body the agent sends: a box that holds the current keyring (the
# version is filled in once the server has published it) and verifies
# batch-signed answers.
cat > checkin.lua <<'LUA'
local tokens = {}
for line in io.lines("tokens.txt") do tokens[#tokens + 1] = line end
local body = '{"nonce":"bench-nonce-0123456789","installed":[{"name":"x1-firmware","version":"4.1.0","security_version":1}],"keyring_version":' .. os.getenv("KEYRING_VERSION") .. ',"batch_proofs":true}'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  wrk.headers["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]
  return wrk.format(nil, nil, nil, body)
end
LUA

run() { wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@"; }
summary() {
  python3 - "$1" "$2" <<'PY'
import re, sys
name, out = sys.argv[1], sys.argv[2]
if "Non-2xx" in out:
    sys.exit(f"{name}: some requests failed: {out}")
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
print(f"{name:28s} {rps:10.0f} req/s   p99 {float(p99.group(1)) * scale:7.2f} ms")
print(f"RESULT {name} {rps} {float(p99.group(1)) * scale}")
PY
}

# The baseline: the hello-world, loaded twice by the same wrk: once with
# one fixed request, and once with exactly the check-ins' requests (the same
# Lua script choosing a device credential per request, the same body), so
# the load generator's own work per request is the same as in the check-in
# runs. The ratio goal is judged against the second.
baseline() {
  local hport
  hport=$(free_port)
  "$B" hello "127.0.0.1:$hport" >/dev/null 2>&1 &
  HELLO_PID=$!
  sleep 0.5
  cat > hello.lua <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"nonce":"bench-nonce-0123456789","installed":[{"name":"x1-firmware","version":"4.1.0","security_version":1}],"keyring_version":1,"batch_proofs":true}'
LUA
  summary "hello-world, fixed request" "$(run -s hello.lua "http://127.0.0.1:$hport/hello")"
  summary "hello-world, same requests" "$(KEYRING_VERSION=1 run -s checkin.lua "http://127.0.0.1:$hport/hello")"
  kill "$HELLO_PID"; HELLO_PID=
}
results=

"$W" keys init >/dev/null 2>&1
for backend in $BACKENDS; do
  case $backend in
    sqlite) url="sqlite://$work/$backend.db" ;;
    postgres)
      PG_DIR="$work/pg"; mkdir -p "$PG_DIR"; [ "$(id -u)" = 0 ] && chown -R postgres: "$PG_DIR"
      port=$(free_port)
      if [ "$(id -u)" = 0 ]; then
        setpriv --reuid=postgres --regid=postgres --init-groups -- initdb -D "$PG_DIR/data" -U postgres -A trust --no-sync >/dev/null
      else
        initdb -D "$PG_DIR/data" -U postgres -A trust --no-sync >/dev/null
      fi
      pg_ctl_as start -D "$PG_DIR/data" -l "$PG_DIR/log" -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" -w >/dev/null
      url="postgres://postgres@127.0.0.1:$port/postgres" ;;
  esac
  # The memory baseline, in the same run: a server on an empty database of
  # the same backend. What the filled server holds beyond it is, almost all,
  # the device directory.
  case $backend in
    sqlite) empty_url="sqlite://$work/empty.db" ;;
    postgres) "$B" sql "$url" "CREATE DATABASE empty"; empty_url="${url%/postgres}/empty" ;;
  esac
  WAVECAST__DATABASE__URL=$empty_url WAVECAST__SIGNING__KEY_FILE=$work/wavecast-keys/checkin.key \
    start_server "$work/empty-$backend"
  for _ in $(seq 1 120); do
    curl -fs "$SERVER/readyz" | grep -q '"device_directory":"filled"' && break
    sleep 0.25
  done
  sleep 2
  empty_rss=$(rss_kib "$SERVER_PID")
  echo "server RSS on an empty $backend database: $(( empty_rss / 1024 )) MiB"
  stop_server
  echo "seeding $DEVICES devices into $backend ..."
  "$B" seed "$url" "$DEVICES" tokens.txt
  seeded_at=$(date +%s)
  if [ -z "$results" ]; then
    results=$(baseline)
    echo "$results" | grep -v RESULT
  fi
  # Let the seeding's writes settle first, so they do not compete with the run.
  [ "$backend" = postgres ] && "$B" sql "$url" "CHECKPOINT"
  sync
  WAVECAST__DATABASE__URL=$url WAVECAST__SIGNING__KEY_FILE=$work/wavecast-keys/checkin.key \
    start_server "$work/server-$backend"
  "$W" keys publish >/dev/null
  export KEYRING_VERSION=$(curl -fs -H "Authorization: Bearer $TOKEN" "$SERVER/api/v1/keyring" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
  # Steady state: wait until the device directory holds the whole fleet.
  fill_start=$(date +%s.%N)
  for _ in $(seq 1 1200); do
    curl -fs "$SERVER/readyz" | grep -q '"device_directory":"filled"' && break
    sleep 0.25
  done
  curl -fs "$SERVER/readyz" | grep -q '"device_directory":"filled"' || { echo "directory did not fill" >&2; exit 1; }
  echo "directory filled in $(python3 -c "print(f'{$(date +%s.%N) - $fill_start:.1f}')") s; server RSS $(( $(peak_rss_kib "$SERVER_PID") / 1024 )) MiB at its peak"
  sleep 2
  filled_rss=$(rss_kib "$SERVER_PID")
  echo "server RSS with the directory filled: $(( filled_rss / 1024 )) MiB," \
    "$(( (filled_rss - empty_rss) * 1024 / DEVICES )) bytes per box beyond the empty server"
  # The directory rereads rows changed within its 15 s overlap: let the
  # seeding's rows age past it, as any burst of changes would.
  while [ $(( $(date +%s) - seeded_at )) -lt 17 ]; do sleep 0.5; done
  out=$(run -s checkin.lua "$SERVER/api/v1/device/check-in")
  echo "server peak RSS after the run: $(( $(peak_rss_kib "$SERVER_PID") / 1024 )) MiB" 
  line=$(summary "check-in on $backend" "$out")
  echo "$line" | grep -v RESULT
  results="$results"$'\n'"$line"
  stop_server
done

python3 - <<PY
rows = [l.split() for l in """$results""".splitlines() if l.startswith("RESULT")]
fixed, same = float(rows[0][-2]), float(rows[1][-2])
for r in rows[2:]:
    name = " ".join(r[1:-2])
    print(f"ratio {name} / hello-world: {float(r[-2]) / same:.2f} (same requests), "
          f"{float(r[-2]) / fixed:.2f} (fixed request)")
PY
