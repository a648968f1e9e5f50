#!/usr/bin/env bash
# The herd's IAMAT throughput beside Redis's GEOADD, on this machine, in one
# go: both servers on loopback, driven by the same load generator with the
# same connection count (Redis through its inline protocol). Logging stays on
# for the herd. The two take turns for ROUNDS rounds (so a machine whose
# speed drifts during the run favours neither); prints each round's rates
# and ratio, the median of the rounds' ratios (each round runs the two back
# to back, so drift hits both alike) and, as a cross-check, the ratio of the
# two medians.
#
#   bash bench/vs_redis.sh [CONNECTIONS] [SECONDS] [ROUNDS]
#   HERD_BENCH_TLS=1 bash bench/vs_redis.sh ...   (the server with "tls" and
#                                                  "auth": the text edge is the same)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
CONNECTIONS="${1:-50}"
SECONDS_MEASURED="${2:-10}"
ROUNDS="${3:-3}"
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
secure_config "$dir/herd.json" >/dev/null

"$BUILD/app/herd" serve Riley --config "$dir/herd.json" &
wait_for_port "$edge"
redis-server --port "$redis" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$dir" --logfile "$dir/redis.log" &
wait_for_port "$redis"

herd_rates=()
redis_rates=()
for round in $(seq "$ROUNDS"); do
  echo "round $round/$ROUNDS: herd serve (logging to $dir/logs), $CONNECTIONS connections, IAMAT:" >&2
  herd_rates+=("$(loadgen_rate herd "$edge")")
  echo "round $round/$ROUNDS: redis-server $(redis-server --version | awk '{print $3}'), $CONNECTIONS connections, GEOADD:" >&2
  redis_rates+=("$(loadgen_rate redis "$redis" --protocol redis)")
done

paired_summary "herd IAMAT" herd "${herd_rates[*]}" "redis GEOADD" redis "${redis_rates[*]}"
