#!/usr/bin/env bash
# The herd's ingest beside one lone server (issue 12's first target: the
# herd at least 0.5x one server): the default five-server topology and a
# lone server, driven in turns by the same load generator (CONNECTIONS
# persistent connections of distinct clients, IAMAT into Riley) for ROUNDS
# rounds. After each herd round it checks that every client Riley accepted
# reached all five servers (their herd_store_clients metric, within 30 s).
# Prints each round (with each server's CPU time and context switches per
# record in the herd round), the medians and the median of the paired
# ratios.
#
#   bash bench/herd_ingest.sh [CONNECTIONS] [SECONDS] [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
CONNECTIONS="${1:-50}"
SECONDS_MEASURED="${2:-10}"
ROUNDS="${3:-3}"
source "$ROOT/bench/lib.sh"

dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$dir"' EXIT
read -r -a ports < <(free_ports 18)
names=(Riley Jaquez Juzang Campbell Bernard)
write_herd_config "$dir/herd.json" "${ports[@]:0:15}"
mkdir -p "$dir/lone"  # its own folder: its own logs/Riley.log
write_config "$dir/lone/herd.json" "${ports[15]}" "${ports[16]}" "${ports[17]}"
herd_pids=()
for name in "${names[@]}"; do
  "$BUILD/app/herd" serve "$name" --config "$dir/herd.json" &
  herd_pids+=($!)
done
"$BUILD/app/herd" serve Riley --config "$dir/lone/herd.json" &
lone_pid=$!
for i in 0 1 2 3 4 15; do wait_for_port "${ports[$i]}"; done

# Clients each server holds, from its metrics.
clients_at() {
  curl -s "http://127.0.0.1:$1/metrics" | awk '/^herd_store_clients / {print int($2)}'
}
# IAMATs a server accepted from its clients so far, from its metrics.
accepted_at() {
  curl -s "http://127.0.0.1:$1/metrics" |
    awk '/^herd_edge_commands_total\{.*kind="IAMAT".*outcome="accepted"/ {print int($2)}'
}
# Waits (30 s at most) until all five hold as many clients as Riley.
check_everyone_has_everything() {
  local want have i deadline=$((SECONDS + 30))
  want=$(clients_at "${ports[10]}")
  while :; do
    have=()
    for i in 10 11 12 13 14; do have+=("$(clients_at "${ports[$i]}")"); done
    if [ "$(printf '%s\n' "${have[@]}" | sort -u)" = "$want" ]; then
      echo "  every server holds all $want clients Riley accepted" >&2
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "  NOT converged after 30 s: Riley $want, the five: ${have[*]}" >&2
      return 1
    fi
    sleep 0.2  # polling interval
  done
}

# Records the five servers have sent on all their links so far (from their
# metrics): against the records Riley accepted, the flooding's duplication
# (a spanning tree would send 4 per record; each extra one arrives stale).
records_sent_by_all() {
  local i total=0 sent
  for i in 10 11 12 13 14; do
    sent=$(curl -s "http://127.0.0.1:${ports[$i]}/metrics" |
      awk '/^herd_peer_records_sent_total\{/ {s += $2} END {print int(s)}')
    total=$((total + sent))
  done
  echo "$total"
}

# CPU time (clock ticks) and context switches of each herd server so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s}'; }
# Where the herd's time goes: per server, CPU microseconds and context
# switches per record Riley accepted in the round (from before/after).
print_costs() {
  local records=$1 i line="  per record:"
  local hz; hz=$(getconf CLK_TCK)
  for i in 0 1 2 3 4; do
    line+=" ${names[$i]} $(( (cpu_after[i] - cpu_before[i]) * 1000000 / hz / records )) us"
    line+=" $(awk -v s=$(( switch_after[i] - switch_before[i] )) -v r="$records" 'BEGIN {printf "%.2f", s / r}') sw;"
  done
  echo "$line" >&2
}

herd_rates=()
lone_rates=()
for round in $(seq "$ROUNDS"); do
  echo "round $round/$ROUNDS: the five-server herd, $CONNECTIONS connections into Riley:" >&2
  cpu_before=(); switch_before=()
  for pid in "${herd_pids[@]}"; do cpu_before+=("$(cpu_ticks "$pid")"); switch_before+=("$(switches "$pid")"); done
  before_accepted=$(accepted_at "${ports[10]}")
  before_sent=$(records_sent_by_all)
  # Client times newer than the last round's: every IAMAT is accepted and
  # flooded, in every round.
  herd_rates+=("$(loadgen_rate herd "${ports[0]}" --time-base $((1700000000 + round * 1000000)))")
  check_everyone_has_everything
  cpu_after=(); switch_after=()
  for pid in "${herd_pids[@]}"; do cpu_after+=("$(cpu_ticks "$pid")"); switch_after+=("$(switches "$pid")"); done
  accepted=$(( $(accepted_at "${ports[10]}") - before_accepted ))
  print_costs "$accepted"
  echo "  link sends per record: $(awk -v s=$(( $(records_sent_by_all) - before_sent )) \
    -v r="$accepted" 'BEGIN {printf "%.2f", s / r}') (4 would be a spanning tree)" >&2
  echo "round $round/$ROUNDS: one lone server:" >&2
  lone_cpu=$(cpu_ticks "$lone_pid")
  lone_before=$(accepted_at "${ports[17]}")
  lone_rates+=("$(loadgen_rate lone "${ports[15]}" --time-base $((1700000000 + round * 1000000)))")
  echo "  per record: $(( ($(cpu_ticks "$lone_pid") - lone_cpu) * 1000000 / $(getconf CLK_TCK) / \
    ($(accepted_at "${ports[17]}") - lone_before) )) us" >&2
done
paired_summary "herd" herd "${herd_rates[*]}" "lone server" lone "${lone_rates[*]}"
