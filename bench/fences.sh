#!/usr/bin/env bash
# Geofencing's figures (issue 15):
#  1. IAMAT throughput of one server holding FENCES polygon fences spread over
#     North America (herd-fencebench load) against one holding none, both
#     driven in turns by the same load generator (CONNECTIONS persistent
#     connections, clients spread over the same area, --area north-america)
#     for ROUNDS rounds; prints the median of the paired ratios (target 0.8).
#  2. Report-to-event latency at a Fences/Watch stream at 1,000 reports/s,
#     every report firing ENTER or EXIT (herd-fencebench latency; target p99
#     under 1 ms), ROUNDS rounds, on a third server that holds the same
#     fences but took no throughput load: after one, a server's background
#     readers (the location index) catch up on the last round's half
#     million records for seconds, which is not what this measures.
#
#   bash bench/fences.sh [FENCES] [CONNECTIONS] [SECONDS] [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
FENCES="${1:-10000}"
CONNECTIONS="${2:-50}"
SECONDS_MEASURED="${3:-10}"
ROUNDS="${4:-3}"
source "$ROOT/bench/lib.sh"

dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$dir"' EXIT
read -r -a ports < <(free_ports 6)
names=(none fenced latency)
for i in 0 1 2; do
  mkdir -p "$dir/${names[$i]}"
  write_config "$dir/${names[$i]}/herd.json" "${ports[$((2 * i))]}" "${ports[$((2 * i + 1))]}"
  # Room for the fences and the latency run's own.
  python3 - "$dir/${names[$i]}/herd.json" "$((FENCES + 10))" <<'PY'
import json, sys
path, room = sys.argv[1], int(sys.argv[2])
config = json.load(open(path))
config["fences"] = {"max_fences": room}
json.dump(config, open(path, "w"))
PY
  "$BUILD/app/herd" serve Riley --config "$dir/${names[$i]}/herd.json" &
done
for i in 0 2 4; do wait_for_port "${ports[$i]}"; done
fencebench="$BUILD/bench/herd-fencebench"
for i in 3 5; do
  "$fencebench" --grpc "127.0.0.1:${ports[$i]}" load --fences "$FENCES" | grep -v RESULT >&2
done

none_rates=()
fenced_rates=()
run() {
  local i=$1 name=${names[$1]}
  echo "round $round/$ROUNDS: $name, $CONNECTIONS connections, IAMAT over North America:" >&2
  local rate
  rate="$(loadgen_rate "$name" "${ports[$((2 * i))]}" --area north-america \
    --time-base $((1700000000 + round * 1000)))"
  eval "${name}_rates+=(\"\$rate\")"
}
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then run 0; run 1; else run 1; run 0; fi
done
paired_summary "$FENCES fences" fenced "${fenced_rates[*]}" "no fences" none "${none_rates[*]}"

echo "event latency at a Watch stream, 1,000 reports/s for ${SECONDS_MEASURED} s, $ROUNDS rounds:" >&2
p99s=()
for round in $(seq "$ROUNDS"); do
  result="$("$fencebench" --grpc "127.0.0.1:${ports[5]}" latency --report-port "${ports[4]}" \
    --rate 1000 --duration "$SECONDS_MEASURED" | tee /dev/stderr | sed -n 's/^RESULT //p')"
  p99s+=("$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$result")")
done
python3 - "${p99s[@]}" <<'PY'
import statistics, sys
p99 = [float(x) for x in sys.argv[1:]]
print(f"event latency p99 by round: {' '.join(f'{x:.3f}' for x in p99)} ms; "
      f"median {statistics.median(p99):.3f} ms")
print(f"RESULT event_p99_ms_median={statistics.median(p99):.3f}")
PY
