#!/usr/bin/env bash
# The SLA sweep (warnings and escalations) at 20,000 and at 200,000 open
# tickets, with the same number falling due: its cost must follow the
# tickets that fall due, not all open tickets (the due-time columns and
# their index). Each run seeds a fresh SQLite database with OPEN active
# tickets of which DUE are past their first-response target, then times,
# on one warm connection:
#   - the baseline: reading every active ticket once (what a sweep without
#     due-time columns had to do);
#   - the sweep itself (it escalates the DUE tickets, each in its own
#     transaction with its log entry, priority bump and webhook event).
#
#   bench/sweep.sh                       # 20,000 and 200,000 open; 0 and 200 due
#   SIZES="20000 200000 1000000" DUES="200" bench/sweep.sh
source "$(dirname "$0")/lib.sh"
SIZES=${SIZES:-20000 200000}
DUES=${DUES:-0 200}

cargo build --quiet --release -p wavecast-bench
B="$ROOT/target/release/wavecast-bench"
work=$(mktemp -d /tmp/wavecast-bench-sweep.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "open tickets   due   read all active (baseline)   sweep        sweep / baseline"
for open in $SIZES; do
  for due in $DUES; do
    rm -f "$work"/sweep.db*
    out=$("$B" desk-sweep "sqlite://$work/sweep.db" "$open" "$due" | grep '^RESULT')
    python3 - "$out" <<'PY'
import sys
_, open_n, due, active, base, sweep, acted, restamped = sys.argv[1].split()
if int(acted) != int(due):
    sys.exit(f"the sweep acted on {acted} tickets, not the {due} due")
print(f"{int(open_n):12,d} {int(due):5d}   {float(base):10.1f} ms ({int(active):,d} rows)   {float(sweep):7.1f} ms   {float(sweep) / float(base):8.3f}")
PY
  done
done
