#!/usr/bin/env bash
# The console's pages with a large fleet behind them: 1,000,000 boxes
# (three models, two revisions, twelve regions, some tagged, a third on
# 4.2.0, one in ten offline, one in a hundred pending), 10,000,000 health
# reports with their hourly rollups, and a running rollout to every box
# (300,000 of them started: most succeeded, some under way, one in twenty
# failed). The support desk beside it: 20 agents, 100,000 subscribers
# owning two boxes each, and 100,000 tickets of every kind and plan, the
# newest 20,000 open, each with its log. Each page is loaded by one signed-in client, one request at a
# time, for DURATION seconds (wrk), so the latency is the server's time to
# answer, not queueing; p50, p95 and p99 per page. The baseline, in the same
# run and the same way: the sign-in page (a template, no database).
#
#   bench/console.sh                                # 1,000,000 boxes, 10,000,000 reports
#   DEVICES=100000 REPORTS=1000000 bench/console.sh # smaller
#   KEEP=/tmp/fleet.db bench/console.sh             # seed once, reuse the database later
#   TICKETS=100000 OPEN=20000                       # the desk's tickets (the defaults)
source "$(dirname "$0")/lib.sh"
need curl python3 wrk
DEVICES=${DEVICES:-1000000}
REPORTS=${REPORTS:-10000000}
STARTED=${STARTED:-300000}
DURATION=${DURATION:-10}
TICKETS=${TICKETS:-100000}
OPEN=${OPEN:-20000}
KEEP=${KEEP:-}

cargo build --quiet --release -p wavecast-server -p wavecast-bench
B="$ROOT/target/release/wavecast-bench"
work=$(mktemp -d /tmp/wavecast-bench-console.XXXXXX)
trap 'stop_server; rm -rf "$work"' EXIT
cd "$work"

db=${KEEP:-$work/fleet.db}
if [ -n "$KEEP" ] && [ -s "$KEEP" ]; then
  echo "reusing the seeded database $KEEP"
  fresh=
else
  echo "seeding $DEVICES boxes and $REPORTS health reports ..."
  start=$(date +%s)
  "$B" console-seed "sqlite://$db" "$DEVICES" "$REPORTS" tokens.txt
  echo "seeded in $(( $(date +%s) - start )) s; database $(du -h "$db" | cut -f1)"
  fresh=1
fi

"$W" keys init >/dev/null 2>&1
# The desk's seeding catches the SLA sweep up itself (bench/sweep.sh
# measures the sweep); the server's own sweep waits an hour so the two do
# not escalate the same tickets at once.
export WAVECAST__TICKETS__SWEEP_EVERY_SECS=3600
WAVECAST__DATABASE__URL="sqlite://$db" WAVECAST__SIGNING__KEY_FILE=$work/wavecast-keys/checkin.key \
  start_server "$work/server"
[ -n "$TOKEN" ] || TOKEN=$(cat "$KEEP.token")
export WAVECAST_TOKEN=$TOKEN
[ -n "$KEEP" ] && echo "$TOKEN" > "$KEEP.token"
printf 'bench console password' | "$W" users set-password admin --password-stdin >/dev/null
# The desk's agents, subscribers and tickets (after the server made its
# first admin, which it does only on an empty user table).
[ -n "$fresh" ] && "$B" desk-seed "sqlite://$db" "$DEVICES" "$TICKETS" "$OPEN"
printf 'bench console password' | "$W" users set-password agent01 --password-stdin >/dev/null

# A firmware every model takes, and a rollout of it to every box.
if [ -n "$fresh" ]; then
  "$W" keys publish >/dev/null
  head -c 1048576 /dev/urandom > rootfs.img
  cat > bundle.toml <<'SPEC'
kind = "firmware"
name = "x1-firmware"
version = "4.2.0"
security_version = 1
[[compatible]]
model = "X1"
[[compatible]]
model = "X2"
[[compatible]]
model = "X3"
[[artifacts]]
name = "rootfs.img"
file = "rootfs.img"
target = "rootfs"
SPEC
  "$W" bundle build --spec bundle.toml --out fw.wcb >/dev/null
  "$W" bundle upload fw.wcb >/dev/null
  "$W" bundle publish x1-firmware@4.2.0 >/dev/null
  curl -fs -X POST "$SERVER/api/v1/rollouts" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"name":"4.2 to the whole fleet","bundles":["x1-firmware@4.2.0"],"waves":[{"percent":100,"success_threshold_pct":99,"failure_threshold_pct":50}]}' > rollout.json
  ROLLOUT=$(python3 -c 'import json; print(json.load(open("rollout.json"))["id"])')
  "$B" console-rollout "sqlite://$db" "$ROLLOUT" "$STARTED"
  [ -n "$KEEP" ] && echo "$ROLLOUT" > "$KEEP.rollout"
else
  ROLLOUT=$(cat "$KEEP.rollout")
fi

# Console sessions, as a browser gets one: the admin, and a support agent
# (whose "mine" view holds a twentieth of the assigned tickets).
session() {
  curl -fs -o /dev/null -c "cookies-$1.txt" -X POST "$SERVER/sign-in" \
    --data-urlencode "name=$1" --data-urlencode 'password=bench console password'
  awk '$6 ~ /wavecast-session/ {print $6 "=" $7}' "cookies-$1.txt"
}
COOKIE=$(session admin)
DESK=$(session agent01)
[ -n "$COOKIE" ] && [ -n "$DESK" ] || { echo "bench: signing in failed" >&2; exit 1; }

cat > page.lua <<'LUA'
wrk.headers["Cookie"] = os.getenv("COOKIE")
local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %.2f %.2f %.2f %d\n", summary.requests,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, bad + summary.errors.status))
end
LUA

# Let the scheduler pass over the rollout once and the caches fill.
for _ in $(seq 1 600); do
  curl -fs -b "$COOKIE" -o /dev/null "$SERVER/rollouts/$ROLLOUT/live" && break
  sleep 0.5
done
curl -fs -o /dev/null -b "$COOKIE" "$SERVER/"

measure() {
  local name=$1 path=$2 out
  out=$(COOKIE=$COOKIE wrk -t1 -c1 -d"${DURATION}s" -s page.lua "$SERVER$path" | grep '^RESULT')
  python3 - "$name" "$path" "$out" "${BASE95:-0}" <<'PY'
import sys
name, path, out, base = sys.argv[1], sys.argv[2], sys.argv[3].split(), float(sys.argv[4])
n, p50, p95, p99, bad = int(out[1]), float(out[2]), float(out[3]), float(out[4]), int(out[5])
if bad:
    sys.exit(f"{name}: {bad} of {n} answers were not 200")
ratio = f"{p95 / base:6.1f}" if base else "   1.0"
verdict = "ok" if p95 < 100 else "OVER"
print(f"{name:34s} {n:6d} req  p50 {p50:7.2f}  p95 {p95:7.2f}  p99 {p99:7.2f} ms  x{ratio} baseline  {verdict}")
open("last95", "w").write(str(p95))
PY
}

echo
echo "page (one client, ${DURATION} s each)           requests  latency; p95 against the baseline's; goal p95 < 100 ms"
measure "sign-in page (baseline)" "/sign-in"
BASE95=$(cat last95)
export BASE95
for page in \
  "overview|/" \
  "devices, unfiltered|/devices" \
  "devices, page 50|/devices?offset=4900" \
  "devices, model+region+online|/devices?model=X2&region=north&online=true" \
  "devices, status pending|/devices?status=pending" \
  "devices, serial search|/devices?q=BENCH0004" \
  "devices, tag|/devices?tag=lab" \
  "devices, installed version|/devices?installed=x1-firmware%404.2.0" \
  "device, 24 h charts|/devices/BENCH000000005" \
  "device, 7-day charts|/devices/BENCH000000005?range=7d" \
  "device, 400-day charts|/devices/BENCH000000005?range=400d" \
  "rollouts list|/rollouts" \
  "rollout page|/rollouts/$ROLLOUT" \
  "rollout live part (polled)|/rollouts/$ROLLOUT/live"; do
  measure "${page%%|*}" "${page#*|}"
done
COOKIE=$DESK
for page in \
  "queue, all open by deadline|/tickets?view=open&sort=next_due" \
  "queue, all open, page 200|/tickets?view=open&sort=next_due&page=200" \
  "queue, mine|/tickets?view=mine&sort=next_due" \
  "queue, unassigned|/tickets?view=unassigned&sort=next_due" \
  "queue, breaching soon|/tickets?view=breaching&sort=next_due" \
  "queue, escalated|/tickets?view=escalated" \
  "queue, waiting on the customer|/tickets?view=waiting" \
  "queue part (polled)|/tickets/part?view=open&sort=next_due" \
  "ticket page, box with 7-day charts|/tickets/$TICKETS" \
  "ticket page, older ticket|/tickets/$(( TICKETS / 2 ))" \
  "new ticket, subscriber search|/tickets/new?q=acc00042" \
  "subscribers, search by name|/subscribers?q=subscriber%204242" \
  "subscriber page|/subscribers/ACC0004242" \
  "reports, 30 days|/reports?days=30"; do
  measure "${page%%|*}" "${page#*|}"
done
echo
echo "server peak RSS: $(( $(peak_rss_kib "$SERVER_PID") / 1024 )) MiB"
