#!/usr/bin/env bash
# WHATSAT answered from the Places cache beside IAMAT, on one server: herd
# runs the google-legacy provider against a stand-in for Google on loopback
# (a small Python HTTP server answering every Nearby Search with 20 places),
# so after the first question per client every WHATSAT is a cache hit. Both
# runs use the same load generator and connection count, logging on. Prints
# both rates and their ratio.
#
#   bash bench/whatsat_cache.sh [CONNECTIONS] [SECONDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
CONNECTIONS="${1:-50}"
SECONDS_MEASURED="${2:-10}"
source "$ROOT/bench/lib.sh"

dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$dir"' EXIT
read -r edge grpc google < <(free_ports 3)

python3 - "$google" <<'PY' &
import http.server, json, sys
places = [{"place_id": f"bench-{i}", "name": f"Place {i}", "vicinity": "Westwood",
           "geometry": {"location": {"lat": 34.07 + i / 1000, "lng": -118.44}},
           "types": ["point_of_interest", "establishment"], "rating": 4.5}
          for i in range(20)]
body = json.dumps({"html_attributions": [], "results": places, "status": "OK"}).encode()
class Google(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Google).serve_forever()
PY
wait_for_port "$google"

cat >"$dir/herd.json" <<JSON
{"servers": [{"name": "Riley", "edge": "127.0.0.1:$edge", "grpc": "127.0.0.1:$grpc"}],
 "links": [], "log_dir": "logs",
 "places": {"provider": "google-legacy", "endpoint": "http://127.0.0.1:$google"}}
JSON
(cd "$dir" && GOOGLE_PLACES_API_KEY=bench exec "$BUILD/app/herd" serve Riley --config herd.json) &
wait_for_port "$edge"

echo "herd serve, $CONNECTIONS connections, IAMAT:" >&2
iamat_rate=$(loadgen_rate iamat "$edge" --mix iamat=100)
# One client asked about: the warm-up's first WHATSAT fills the cache.
echo "herd serve, $CONNECTIONS connections, WHATSAT (cache hits, bound 5):" >&2
whatsat_rate=$(loadgen_rate whatsat "$edge" --mix iamat=0 --whatsat-clients 1)

python3 - "$iamat_rate" "$whatsat_rate" <<'PY'
import sys
iamat, whatsat = float(sys.argv[1]), float(sys.argv[2])
print(f"herd IAMAT {iamat:.0f} req/s, cached WHATSAT {whatsat:.0f} req/s, ratio {whatsat / iamat:.2f}")
print(f"RESULT iamat={iamat:.0f} whatsat={whatsat:.0f} ratio={whatsat / iamat:.2f}")
PY
