#!/usr/bin/env bash
# How soon a returning neighbour gets floods again: Riley and Jaquez linked;
# each round kills Jaquez (SIGKILL), waits until Riley's redial backoff has
# grown to its maximum, starts Jaquez again, and measures from the moment
# Jaquez's gRPC port serves (its log) to Riley's link being connected again
# (Riley's log). Prints each round and the median and maximum.
#
#   bash bench/relink.sh [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
ROUNDS="${1:-5}"
source "$ROOT/bench/lib.sh"

dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$dir"' EXIT
read -r -a ports < <(free_ports 4)
cat >"$dir/herd.json" <<JSON
{"servers": [{"name": "Riley", "edge": "127.0.0.1:${ports[0]}", "grpc": "127.0.0.1:${ports[1]}"},
             {"name": "Jaquez", "edge": "127.0.0.1:${ports[2]}", "grpc": "127.0.0.1:${ports[3]}"}],
 "links": [["Riley", "Jaquez"]], "places": {"provider": "offline"}, "log_dir": "logs"}
JSON
"$BUILD/app/herd" serve Riley --config "$dir/herd.json" &
for round in $(seq "$ROUNDS"); do
  "$BUILD/app/herd" serve Jaquez --config "$dir/herd.json" &
  jaquez=$!
  wait_for_port "${ports[2]}"
  sleep 1    # settled (the scenario, not a wait for a state)
  kill -9 "$jaquez"
  wait "$jaquez" 2>/dev/null || true
  sleep 2.5  # Riley's backoff between attempts grows to its maximum (1 s)
  mv "$dir/logs/Jaquez.log" "$dir/logs/Jaquez.$round.old" 2>/dev/null || true
  "$BUILD/app/herd" serve Jaquez --config "$dir/herd.json" &
  jaquez=$!
  python3 - "$dir/logs" <<'PY'
import os, sys, time
from datetime import datetime
logs = sys.argv[1]
def stamp(line):
    return datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
def last(path, text, after=0.0):
    try:
        lines = [l for l in open(path) if text in l]
    except OSError:
        return None
    times = [stamp(l) for l in lines if stamp(l) > after]
    return times[-1] if times else None
end = time.time() + 10
while time.time() < end:
    up = last(os.path.join(logs, "Jaquez.log"), "Jaquez serving grpc on")
    linked = up and last(os.path.join(logs, "Riley.log"), "peer Jaquez: connected", up - 1.0)
    if up and linked:
        print(f"{(linked - up) * 1000:.1f}")
        sys.exit(0)
    time.sleep(0.05)
sys.exit("Riley never linked to Jaquez again")
PY
  kill "$jaquez"
  wait "$jaquez" 2>/dev/null || true
done | python3 -c '
import statistics, sys
ms = [float(x) for x in sys.stdin.read().split()]
for i, m in enumerate(ms, 1):
    print(f"round {i}: relinked {m:.1f} ms after the neighbour served")
print(f"median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms")
print(f"RESULT median_ms={statistics.median(ms):.1f} max_ms={max(ms):.1f}")
'
