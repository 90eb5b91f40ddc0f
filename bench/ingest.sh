#!/usr/bin/env bash
# Sustained telemetry ingest through the MQTT path, on SQLite and on
# PostgreSQL, against a plain batched insert of the same rows into the same
# backend measured in the same run.
#
# DEVICES seeded boxes connect to the server's embedded broker as
# themselves (the broker authenticates each against the database) and each
# publishes MESSAGES event batches of REPORTS health reports at QoS 1. The
# clock runs from the first publish until the server has stored every
# report (its own counter, /metrics). The baseline inserts the same rows,
# built in advance, with 1,000-row INSERTs in 2,000-row transactions (what
# the server's writer does) into a fresh database of the same backend.
#
#   bench/ingest.sh                                   # 1,000 boxes x 100 messages x 10 reports
#   DEVICES=500 MESSAGES=50 BACKENDS=sqlite bench/ingest.sh
source "$(dirname "$0")/lib.sh"
need curl python3
DEVICES=${DEVICES:-1000}
MESSAGES=${MESSAGES:-100}
REPORTS=${REPORTS:-10}
BACKENDS=${BACKENDS:-"sqlite postgres"}
TOTAL=$((DEVICES * MESSAGES * REPORTS))

cargo build --quiet --release -p wavecast-server -p wavecast-bench
B="$ROOT/target/release/wavecast-bench"
work=$(mktemp -d /tmp/wavecast-bench-ingest.XXXXXX)
PG_DIR=
cleanup() {
  stop_server
  [ -n "$PG_DIR" ] && pg_ctl_as stop -D "$PG_DIR/data" -m fast >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
cd "$work"

pg_ctl_as() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- pg_ctl "$@"; else pg_ctl "$@"; fi
}

stored() {
  curl -fs -H "Authorization: Bearer $TOKEN" "$SERVER/metrics" \
    | awk '/^wavecast_device_events_total\{kind="health"\}/ {print $2}' | head -1
}

echo "ingest: $DEVICES boxes x $MESSAGES messages x $REPORTS reports = $TOTAL reports"
for backend in $BACKENDS; do
  case $backend in
    sqlite)
      url="sqlite://$work/ingest.db"
      base="sqlite://$work/baseline.db" ;;
    postgres)
      PG_DIR="$work/pg"; mkdir -p "$PG_DIR"; [ "$(id -u)" = 0 ] && chown -R postgres: "$PG_DIR"
      port=$(free_port)
      if [ "$(id -u)" = 0 ]; then
        setpriv --reuid=postgres --regid=postgres --init-groups -- initdb -D "$PG_DIR/data" -U postgres -A trust --no-sync >/dev/null
      else
        initdb -D "$PG_DIR/data" -U postgres -A trust --no-sync >/dev/null
      fi
      pg_ctl_as start -D "$PG_DIR/data" -l "$PG_DIR/log" -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" -w >/dev/null
      "$B" sql "postgres://postgres@127.0.0.1:$port/postgres" "CREATE DATABASE baseline"
      url="postgres://postgres@127.0.0.1:$port/postgres"
      base="postgres://postgres@127.0.0.1:$port/baseline" ;;
  esac
  # The baseline first, on its own database.
  "$B" seed "$base" "$DEVICES" base-tokens.txt >/dev/null
  insert=$("$B" insert "$base" "$DEVICES" "$MESSAGES" "$REPORTS")
  insert_rate=$(echo "$insert" | awk '/^RESULT insert/ {print $3}')

  "$B" seed "$url" "$DEVICES" tokens.txt >/dev/null
  MQTT_PORT=$(free_port)
  WAVECAST__DATABASE__URL=$url start_server "$work/server-$backend"
  start=$(date +%s.%N)
  "$B" publish "127.0.0.1:$MQTT_PORT" tokens.txt "$DEVICES" "$MESSAGES" "$REPORTS" > publish.out
  n=0
  for _ in $(seq 1 3000); do
    n=$(stored || echo 0)
    [ "${n:-0}" -ge "$TOTAL" ] && break
    sleep 0.05
  done
  end=$(date +%s.%N)
  peak=$(peak_rss_kib "$SERVER_PID")
  stop_server
  [ "${n:-0}" -ge "$TOTAL" ] || { echo "$backend: only $n of $TOTAL reports stored" >&2; exit 1; }
  python3 - "$backend" "$start" "$end" "$TOTAL" "$insert_rate" "$peak" "$(cat publish.out)" <<'PY'
import sys
backend, start, end, total, insert, peak, published = sys.argv[1:]
rate = int(total) / (float(end) - float(start))
print(f"{backend:10s} MQTT ingest {rate:9.0f} reports/s   plain insert {float(insert):9.0f} rows/s   ratio {rate / float(insert):.2f}   server peak RSS {int(peak) // 1024} MiB")
print(f"           ({published})")
PY
  if [ "$backend" = postgres ]; then
    pg_ctl_as stop -D "$PG_DIR/data" -m fast >/dev/null; PG_DIR=
  fi
done
