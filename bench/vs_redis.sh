#!/usr/bin/env bash
# The herd's IAMAT throughput beside Redis's GEOADD, on this machine, in one
# go: both servers on loopback, driven by the same load generator with the
# same connection count (Redis through its inline protocol). Logging stays on
# for the herd. Prints both and their ratio.
#
#   bash bench/vs_redis.sh [CONNECTIONS] [SECONDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
CONNECTIONS="${1:-50}"
SECONDS_MEASURED="${2:-10}"
source "$ROOT/bench/lib.sh"

if ! command -v redis-server >/dev/null; then
  echo "== installing redis-server (benchmarks only)" >&2
  sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq redis-server >/dev/null
fi

dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$dir"' EXIT
read -r edge grpc redis < <(free_ports 3)
write_config "$dir/herd.json" "$edge" "$grpc"

run() {  # NAME PORT ARGS...: prints the loadgen summary, returns its rate
  local name=$1 port=$2; shift 2
  "$BUILD/bench/herd-loadgen" --port "$port" --connections "$CONNECTIONS" \
    --duration "$SECONDS_MEASURED" --warmup 2 "$@" >"$dir/$name.out"
  sed "s/^/  /" "$dir/$name.out" | grep -v RESULT >&2
  sed -n 's/^RESULT rate=\([0-9]*\).*/\1/p' "$dir/$name.out"
}

echo "herd serve (logging to $dir/logs), $CONNECTIONS connections, IAMAT:" >&2
"$BUILD/app/herd" serve Riley --config "$dir/herd.json" &
herd_pid=$!
wait_for_port "$edge"
herd_rate=$(run herd "$edge")
kill "$herd_pid"; wait "$herd_pid" 2>/dev/null || true

echo "redis-server $(redis-server --version | awk '{print $3}'), $CONNECTIONS connections, GEOADD:" >&2
redis-server --port "$redis" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$dir" --logfile "$dir/redis.log" &
wait_for_port "$redis"
redis_rate=$(run redis "$redis" --protocol redis)

python3 - "$herd_rate" "$redis_rate" <<'PY'
import sys
herd, redis = float(sys.argv[1]), float(sys.argv[2])
print(f"herd IAMAT {herd:.0f} req/s, redis GEOADD {redis:.0f} req/s, ratio {herd / redis:.2f}")
print(f"RESULT herd={herd:.0f} redis={redis:.0f} ratio={herd / redis:.2f}")
PY
