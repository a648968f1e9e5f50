#!/usr/bin/env bash
# Start time and memory with a data_dir (issue 13: 1M clients serving within
# 5 s of start, under 250 bytes per client with RocksDB's caches bounded):
# loads CLIENTS distinct clients (default 1,000,000) into one server with
# `data_dir` (fsync everysec, the default "rocksdb" bounds), stops it
# (SIGTERM, then again with SIGKILL), and times each start from exec to the
# first WHATSAT answered from the loaded data. Memory per client is the
# resident memory after the restart less that of the same server started
# empty, over CLIENTS.
#
#   bash bench/durable_start.sh [CLIENTS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
CLIENTS="${1:-1000000}"
source "$ROOT/bench/lib.sh"

dir="$(mktemp -d)"
pid=
trap 'kill $(jobs -p) $pid 2>/dev/null || true; wait 2>/dev/null; rm -rf "$dir"' EXIT
read -r edge grpc < <(free_ports 2)
write_config "$dir/herd.json" "$edge" "$grpc"
python3 - "$dir/herd.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["data_dir"] = "data"
json.dump(config, open(sys.argv[1], "w"))
PY

# Starts the server, waits until a loaded client (c0) is answered; prints
# the seconds that took and the server's process id. (The edge listens only
# once the whole store is loaded.)
start_and_time() {
  python3 - "$BUILD/app/herd" "$dir/herd.json" "$edge" c0 <<'PY'
import socket, subprocess, sys, time
binary, config, port, client = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
start = time.time()
# Its stdout is not ours: the caller reads ours to its end.
server = subprocess.Popen([binary, "serve", "Riley", "--config", config],
                          stdout=subprocess.DEVNULL)
while time.time() - start < 120:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.sendall(f"WHATSAT {client} 1 1\n".encode())
        s.shutdown(socket.SHUT_WR)
        reply = s.makefile().readline()
        s.close()
        if reply.startswith("AT "):
            print(f"{time.time() - start:.2f} {server.pid}")
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.01)
sys.exit("not serving after 120 s")
PY
}
"$BUILD/app/herd" serve Riley --config "$dir/herd.json" &
pid=$!
wait_for_port "$edge"
empty=$(rss_kib "$pid")
"$BUILD/bench/herd-loadgen" --port "$edge" --connections 50 --clients "$CLIENTS" \
  --requests "$CLIENTS" --duration 600 --warmup 0 | grep -v RESULT >&2
loaded=$(rss_kib "$pid")
kill -TERM "$pid"; wait "$pid"
echo "data_dir: $(du -sh "$dir/data/Riley" | cut -f1) for $CLIENTS clients" >&2

read -r clean pid < <(start_and_time)
after_clean=$(rss_kib "$pid")
grep -h "loaded" "$dir/logs/Riley.log" | tail -n 1 | sed 's/^/  /' >&2
kill -KILL "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done  # until it is gone
read -r crashed pid < <(start_and_time)
after_crash=$(rss_kib "$pid")
grep -h "loaded" "$dir/logs/Riley.log" | tail -n 1 | sed 's/^/  /' >&2
kill -TERM "$pid"

python3 - "$CLIENTS" "$empty" "$loaded" "$after_clean" "$after_crash" "$clean" "$crashed" <<'PY'
import sys
clients = int(sys.argv[1])
empty, loaded, after_clean, after_crash = (int(x) for x in sys.argv[2:6])
clean, crashed = float(sys.argv[6]), float(sys.argv[7])
per = lambda rss: (rss - empty) * 1024 / clients
print(f"RSS empty {empty/1024:.1f} MiB; after loading by IAMAT {loaded/1024:.1f} MiB "
      f"({per(loaded):.0f} B/client)")
print(f"start after a clean stop: serving {clients} clients in {clean:.2f} s; "
      f"RSS {after_clean/1024:.1f} MiB ({per(after_clean):.0f} B/client)")
print(f"start after SIGKILL: serving in {crashed:.2f} s; RSS {after_crash/1024:.1f} MiB "
      f"({per(after_crash):.0f} B/client)")
print(f"RESULT start_s={clean:.2f} start_after_kill_s={crashed:.2f} "
      f"bytes_per_client={per(after_clean):.0f}")
PY
