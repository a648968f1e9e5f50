# Shared shell helpers for the benchmark scripts (sourced, not run).

# Prints N free loopback TCP ports.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# Waits (up to 10 s) until something accepts connections on 127.0.0.1:PORT.
wait_for_port() {
  python3 - "$1" <<'PY'
import socket, sys, time
end = time.time() + 10
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("nothing listens on port " + sys.argv[1])
PY
}

# Resident set size of PID in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Writes a one-server config (Riley) with the given edge and gRPC ports
# and, if given, a metrics port.
write_config() {
  local metrics=""
  [ -n "${4:-}" ] && metrics=", \"metrics\": \"127.0.0.1:$4\""
  cat >"$1" <<JSON
{"servers": [{"name": "Riley", "edge": "127.0.0.1:$2", "grpc": "127.0.0.1:$3"$metrics}],
 "links": [], "places": {"provider": "offline"}, "log_dir": "logs"}
JSON
}

# Writes the default five-server herd (Riley, Jaquez, Juzang, Campbell,
# Bernard; the six links) to FILE: five edge ports, then five gRPC ports,
# then optionally five metrics ports.
#   write_herd_config FILE EDGE x5 GRPC x5 [METRICS x5]
write_herd_config() {
  python3 - "$@" <<'PY'
import json, sys
path, ports = sys.argv[1], sys.argv[2:]
names = ["Riley", "Jaquez", "Juzang", "Campbell", "Bernard"]
servers = [{"name": n, "edge": f"127.0.0.1:{ports[i]}", "grpc": f"127.0.0.1:{ports[5 + i]}"}
           for i, n in enumerate(names)]
if len(ports) >= 15:
    for i, server in enumerate(servers):
        server["metrics"] = f"127.0.0.1:{ports[10 + i]}"
json.dump({"servers": servers,
           "links": [["Riley", "Jaquez"], ["Riley", "Juzang"], ["Bernard", "Jaquez"],
                     ["Bernard", "Juzang"], ["Bernard", "Campbell"], ["Juzang", "Campbell"]],
           "places": {"provider": "offline"}, "log_dir": "logs"}, open(path, "w"))
PY
}

# Runs herd-loadgen against 127.0.0.1:PORT with $CONNECTIONS connections for
# $SECONDS_MEASURED seconds (after a 2 s warm-up), keeping its output in
# $dir/NAME.out. Shows the summary on stderr and prints the rate.
#   rate=$(loadgen_rate NAME PORT [LOADGEN ARGS...])
loadgen_rate() {
  local name=$1 port=$2; shift 2
  "$BUILD/bench/herd-loadgen" --port "$port" --connections "$CONNECTIONS" \
    --duration "$SECONDS_MEASURED" --warmup 2 "$@" >"$dir/$name.out"
  sed "s/^/  /" "$dir/$name.out" | grep -v RESULT >&2
  sed -n 's/^RESULT rate=\([0-9]*\).*/\1/p' "$dir/$name.out"
}

# With HERD_BENCH_TLS=1, turns the config at $1 into a secure one (SPEC
# section 8): certificates from scripts/certs.sh in $dir/certs, "tls", and
# "auth" with one token of every role, which it exports as BENCH_TOKEN.
# Prints the arguments herd-propagation needs to watch over TLS (none
# without HERD_BENCH_TLS).
secure_config() {
  [ "${HERD_BENCH_TLS:-0}" = 1 ] || return 0
  bash "$ROOT/scripts/certs.sh" "$dir/certs" "$1" >/dev/null
  BENCH_TOKEN="$(openssl rand -hex 24)"
  export BENCH_TOKEN
  python3 - "$1" "$(printf '%s' "$BENCH_TOKEN" | openssl dgst -sha256 -r | cut -d' ' -f1)" <<'PY'
import json, sys
path, digest = sys.argv[1:]
config = json.load(open(path))
config["tls"] = {"ca_file": "certs/ca.pem", "cert_file": "certs/{name}.pem",
                 "key_file": "certs/{name}.key"}
config["auth"] = {"tokens": [{"name": "bench", "sha256": digest,
                              "roles": ["read", "report", "admin"]}]}
json.dump(config, open(path, "w"))
PY
  echo "--ca $dir/certs/ca.pem --token $BENCH_TOKEN"
}

# Prints each round's rates and ratio, both medians, and the median of the
# rounds' ratios (rounds run back to back, so a drifting machine hits both
# sides alike), then a RESULT line. The ratio is A / B.
#   paired_summary "A LABEL" A_KEY "A RATES..." "B LABEL" B_KEY "B RATES..."
paired_summary() {
  python3 - "$@" <<'PY'
import statistics, sys
a_label, a_key, a_rates, b_label, b_key, b_rates = sys.argv[1:]
a = [float(x) for x in a_rates.split()]
b = [float(x) for x in b_rates.split()]
for i, (x, y) in enumerate(zip(a, b), 1):
    print(f"round {i}: {a_label} {x:.0f} req/s, {b_label} {y:.0f} req/s, ratio {x / y:.3f}")
ma, mb = statistics.median(a), statistics.median(b)
paired = statistics.median(x / y for x, y in zip(a, b))
print(f"medians: {a_label} {ma:.0f} req/s, {b_label} {mb:.0f} req/s (ratio {ma / mb:.3f})")
print(f"median of the rounds' ratios ({a_key}/{b_key}): {paired:.3f}")
print(f"RESULT {a_key}={ma:.0f} {b_key}={mb:.0f} ratio={paired:.3f} ratio_of_medians={ma / mb:.3f}")
PY
}
