#!/usr/bin/env bash
# A rollout to a simulated fleet: `wavecast-agent simulate --devices N`
# against `wavecast serve` on its embedded defaults (SQLite, embedded MQTT
# broker, blobs on disk), one wave of 100 %, until every box has reported
# the end of its update. Prints the wall time, the rollout's counts and the
# server's peak RSS.
#
#   bench/simulate.sh            # 5000 boxes, a 1 MiB firmware
#   DEVICES=500 MIB=4 bench/simulate.sh
#
# Needs: cargo build --release -p wavecast-server -p wavecast-agent
source "$(dirname "$0")/lib.sh"
need curl python3
DEVICES=${DEVICES:-5000}
MIB=${MIB:-1}
A="$ROOT/target/release/wavecast-agent"
[ -x "$W" ] && [ -x "$A" ] || { echo "build first: cargo build --release -p wavecast-server -p wavecast-agent" >&2; exit 2; }
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
cd "$work"
make_bundle "$MIB"
# The server signs check-in answers with the online key from `keys init`;
# boxes check in every 10 s (the simulator also caps its poll at 10 s).
export WAVECAST__SIGNING__KEY_FILE="$work/wavecast-keys/checkin.key"
export WAVECAST__ROLLOUTS__CHECKIN_INTERVAL_SECS=10
export WAVECAST__ROLLOUTS__TICK_MILLIS=1000
# The whole simulated fleet enrols from one address at once.
export WAVECAST__DEVICES__ENROL_RATE_PER_SEC=0
start_server "$work/server"
"$W" keys publish >/dev/null
"$W" bundle upload bench.wcb >/dev/null
"$W" bundle publish bench-firmware@1.0.0 >/dev/null
ROOT_KEY=$(tr -d '\n' < wavecast-keys/root.pub)
curl -fs -X POST "$SERVER/api/v1/rollouts" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"simulated fleet","bundles":["bench-firmware@1.0.0"],"waves":[{"percent":100}]}' > rollout.json
ROLLOUT=$(python3 -c 'import json; print(json.load(open("rollout.json"))["id"])')
echo "rollout $ROLLOUT of a ${MIB} MiB firmware to $DEVICES simulated boxes"
start=$(date +%s.%N)
"$A" simulate --server "$SERVER" --root-key "$ROOT_KEY" --token "$TOKEN" --devices "$DEVICES" \
  --installed bench-firmware@0.9.0#1 --threads 64 --poll 10 --reboot-ms 200 \
  --expect-updates "$DEVICES" --duration 1200
end=$(date +%s.%N)
for _ in $(seq 1 50); do
  state=$(curl -fs "$SERVER/api/v1/rollouts/$ROLLOUT" -H "Authorization: Bearer $TOKEN")
  echo "$state" | grep -q '"state":"completed"' && break
  sleep 0.2
done
echo "$state" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("rollout:", r["state"], r["counts"])'
python3 -c "print(f'wall time: {$end - $start:.1f} s')"
echo "server peak RSS: $(( $(peak_rss_kib "$SERVER_PID") / 1024 )) MiB"
