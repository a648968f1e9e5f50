#!/usr/bin/env bash
# What metrics cost the edge: two `herd serve` processes on loopback, the
# same config (logging on) except that one has servers[].metrics and is
# scraped once a second while it runs, driven in turns by the same load
# generator (IAMAT, CONNECTIONS connections) for ROUNDS rounds, in
# alternating order. Prints each round, the median of the rounds' on/off
# ratios (each round runs the two back to back, so a machine whose speed
# drifts hits both alike) and the ratio of the medians. Issue 16 asks for
# >= 0.97.
#
#   bash bench/metrics_cost.sh [CONNECTIONS] [SECONDS] [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
CONNECTIONS="${1:-50}"
SECONDS_MEASURED="${2:-10}"
ROUNDS="${3:-5}"
source "$ROOT/bench/lib.sh"

dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$dir"' EXIT
read -r edge_off grpc_off edge_on grpc_on metrics < <(free_ports 5)
mkdir -p "$dir/off" "$dir/on"
write_config "$dir/off/herd.json" "$edge_off" "$grpc_off"
write_config "$dir/on/herd.json" "$edge_on" "$grpc_on"
python3 - "$dir/on/herd.json" "$metrics" <<'PY'
import json, sys
path, port = sys.argv[1:]
config = json.load(open(path))
config["servers"][0]["metrics"] = f"127.0.0.1:{port}"
json.dump(config, open(path, "w"))
PY

"$BUILD/app/herd" serve Riley --config "$dir/off/herd.json" &
"$BUILD/app/herd" serve Riley --config "$dir/on/herd.json" &
wait_for_port "$edge_off"
wait_for_port "$edge_on"
wait_for_port "$metrics"

# A Prometheus stand-in: one scrape a second, for the whole run.
python3 - "$metrics" <<'PY' &
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/metrics"
while True:
    try:
        urllib.request.urlopen(url, timeout=5).read()
    except Exception:
        pass
    time.sleep(1)
PY

off_rates=()
on_rates=()
run_off() {
  echo "round $round/$ROUNDS: metrics off, $CONNECTIONS connections, IAMAT:" >&2
  off_rates+=("$(loadgen_rate off "$edge_off")")
}
run_on() {
  echo "round $round/$ROUNDS: metrics on (scraped every second), $CONNECTIONS connections, IAMAT:" >&2
  on_rates+=("$(loadgen_rate on "$edge_on")")
}
# Odd rounds run off first, even rounds on first: neither gets the warmer
# or the quieter slot every time.
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then run_off; run_on; else run_on; run_off; fi
done
curl -s "http://127.0.0.1:$metrics/metrics" 2>/dev/null |
  grep -E '^herd_edge_commands_total\{kind="IAMAT",outcome="accepted"\}' >&2 || true

paired_summary "metrics on" on "${on_rates[*]}" "metrics off" off "${off_rates[*]}"
