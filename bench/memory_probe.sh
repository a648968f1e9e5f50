#!/usr/bin/env bash
# Resident memory per tracked client: loads CLIENTS distinct clients (default
# 1,000,000) into one `herd serve` with IAMAT and compares its RSS before and
# after. Prints the bytes per client, and the same less the client id itself.
#
#   bash bench/memory_probe.sh [CLIENTS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
CLIENTS="${1:-1000000}"
source "$ROOT/bench/lib.sh"

dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
read -r edge grpc < <(free_ports 2)
write_config "$dir/herd.json" "$edge" "$grpc"
"$BUILD/app/herd" serve Riley --config "$dir/herd.json" &
server=$!
wait_for_port "$edge"
before=$(rss_kib "$server")
"$BUILD/bench/herd-loadgen" --port "$edge" --connections 50 --clients "$CLIENTS" \
  --requests "$CLIENTS" --duration 600 --warmup 0 | grep -v RESULT
after=$(rss_kib "$server")
# Client ids are "c0".."c999999": on average this many bytes each.
id_bytes=$(python3 -c "n=$CLIENTS; print(sum(len('c%d' % i) for i in range(n)) / n)")
python3 - "$before" "$after" "$CLIENTS" "$id_bytes" <<'PY'
import sys
before, after, clients, id_bytes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
per = (after - before) * 1024 / clients
print(f"RSS {before/1024:.1f} MiB -> {after/1024:.1f} MiB for {clients} clients")
print(f"memory per tracked client: {per:.0f} bytes ({per - id_bytes:.0f} beyond the {id_bytes:.1f}-byte client id)")
print(f"RESULT bytes_per_client={per:.0f} beyond_id={per - id_bytes:.0f}")
PY
