#!/usr/bin/env bash
# Propagation across the default five-server topology on this machine:
# reports at Riley, watched at Campbell (two links away), at RATE reports/s,
# by two witnesses: Campbell's Locations/Watch stream, and WHATSAT at
# Campbell's text port asked back to back for a sample of the reports.
#
#   bash bench/propagation.sh [RATE] [SECONDS]
#   HERD_BENCH_TLS=1 bash bench/propagation.sh ...   (mTLS between peers, TLS
#                                                     and a token on the Watch)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
RATE="${1:-1000}"
SECONDS_MEASURED="${2:-10}"
source "$ROOT/bench/lib.sh"

dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$dir"' EXIT
read -r -a ports < <(free_ports 10)
names=(Riley Jaquez Juzang Campbell Bernard)
write_herd_config "$dir/herd.json" "${ports[@]}"
read -r -a watch_security < <(secure_config "$dir/herd.json"; echo)
for name in "${names[@]}"; do
  "$BUILD/app/herd" serve "$name" --config "$dir/herd.json" &
done
for i in 0 1 2 3 4; do wait_for_port "${ports[$i]}"; done
"$BUILD/bench/herd-propagation" --report-port "${ports[0]}" --watch "127.0.0.1:${ports[8]}" \
  --rate "$RATE" --duration "$SECONDS_MEASURED" --probe-port "${ports[3]}" "${watch_security[@]}"
