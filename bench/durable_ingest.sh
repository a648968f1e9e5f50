#!/usr/bin/env bash
# IAMAT throughput with a data_dir (issue 13: fsync everysec at least 0.7x
# memory only; always reported): three one-server processes, memory only,
# `fsync: everysec` and `fsync: always`, driven in turns by the same load
# generator (CONNECTIONS persistent connections, each waiting for its reply,
# so `always` is measured with the group commit its connections allow) for
# ROUNDS rounds, the order rotating. Prints each round and the median of the
# paired ratios against memory only.
#
#   bash bench/durable_ingest.sh [CONNECTIONS] [SECONDS] [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
CONNECTIONS="${1:-50}"
SECONDS_MEASURED="${2:-10}"
ROUNDS="${3:-3}"
source "$ROOT/bench/lib.sh"

dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$dir"' EXIT
read -r -a ports < <(free_ports 6)
modes=(memory everysec always)
for i in 0 1 2; do
  mode=${modes[$i]}
  mkdir -p "$dir/$mode"
  write_config "$dir/$mode/herd.json" "${ports[$((2 * i))]}" "${ports[$((2 * i + 1))]}"
  [ "$mode" = memory ] && continue
  python3 - "$dir/$mode/herd.json" "$mode" <<'PY'
import json, sys
path, mode = sys.argv[1:]
config = json.load(open(path))
config["data_dir"] = "data"
config["fsync"] = mode
json.dump(config, open(path, "w"))
PY
done
for i in 0 1 2; do "$BUILD/app/herd" serve Riley --config "$dir/${modes[$i]}/herd.json" & done
for i in 0 2 4; do wait_for_port "${ports[$i]}"; done

memory_rates=()
everysec_rates=()
always_rates=()
run() {
  local i=$1 mode=${modes[$1]}
  echo "round $round/$ROUNDS: $mode, $CONNECTIONS connections, IAMAT:" >&2
  local rate
  rate="$(loadgen_rate "$mode" "${ports[$((2 * i))]}")"
  eval "${mode}_rates+=(\"\$rate\")"
}
for round in $(seq "$ROUNDS"); do
  case $((round % 3)) in
    1) run 0; run 1; run 2 ;;
    2) run 1; run 2; run 0 ;;
    0) run 2; run 0; run 1 ;;
  esac
done
du -sh "$dir/everysec/data" "$dir/always/data" >&2

paired_summary "everysec" everysec "${everysec_rates[*]}" "memory only" memory "${memory_rates[*]}"
paired_summary "always" always "${always_rates[*]}" "memory only" memory "${memory_rates[*]}"
