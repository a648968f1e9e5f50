#!/usr/bin/env bash
# Turns a herd config into a secure one in DIR: certificates for every
# server (scripts/certs.sh), three API tokens, and DIR/herd.json, the same
# herd with "tls" and "auth" set (and the text protocol over TLS on each
# edge port + 10, where free: edge_tls). Start it with
#
#   scripts/secure-herd.sh DIR [CONFIG]
#   build/app/herd up --config DIR/herd.json
#
# DIR/tokens.env holds the tokens (mode 600): HERD_ADMIN_TOKEN (all roles),
# HERD_READ_TOKEN (read) and HERD_REPORT_TOKEN (report). Only their SHA-256
# go into herd.json. Existing tokens and CA in DIR are kept.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:?usage: scripts/secure-herd.sh DIR [CONFIG]}"
CONFIG="${2:-$ROOT/config/herd.json}"

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
bash "$ROOT/scripts/certs.sh" "$DIR/certs" "$CONFIG" >/dev/null

umask 077
if [ ! -f "$DIR/tokens.env" ]; then
  {
    for role in ADMIN READ REPORT; do
      echo "HERD_${role}_TOKEN=$(openssl rand -hex 24)"
    done
  } >"$DIR/tokens.env"
fi
# shellcheck disable=SC1091
source "$DIR/tokens.env"
sha() { printf '%s' "$1" | openssl dgst -sha256 -r | cut -d' ' -f1; }

python3 - "$CONFIG" "$DIR" "$(sha "$HERD_ADMIN_TOKEN")" "$(sha "$HERD_READ_TOKEN")" \
  "$(sha "$HERD_REPORT_TOKEN")" <<'PY'
import json, os, sys
source, out_dir, admin, read, report = sys.argv[1:]
config = json.load(open(source))
# Paths the source config gave relative to itself stay valid from out_dir.
base = os.path.dirname(os.path.abspath(source))
places = config.get("places", {})
if "gazetteer" in places and not os.path.isabs(places["gazetteer"]):
    places["gazetteer"] = os.path.join(base, places["gazetteer"])
# The text protocol over TLS too, on the edge port + 10 where that is free.
taken = {server[key] for server in config["servers"] for key in server if key != "name"}
for server in config["servers"]:
    host, _, port = server["edge"].rpartition(":")
    tls_edge = f"{host}:{int(port) + 10}"
    if "edge_tls" not in server and tls_edge not in taken:
        server["edge_tls"] = tls_edge
        taken.add(tls_edge)
config["tls"] = {"ca_file": "certs/ca.pem", "cert_file": "certs/{name}.pem",
                 "key_file": "certs/{name}.key"}
config["auth"] = {"tokens": [
    {"name": "admin", "sha256": admin, "roles": ["read", "report", "admin"]},
    {"name": "reader", "sha256": read, "roles": ["read"]},
    {"name": "reporter", "sha256": report, "roles": ["report"]}]}
# Its own logs, beside its config (an absolute log_dir is kept).
if not os.path.isabs(config.get("log_dir", "logs")):
    config["log_dir"] = "logs"
with open(os.path.join(out_dir, "herd.json"), "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
PY
chmod 644 "$DIR/herd.json"
echo "secure-herd.sh: $DIR/herd.json (certificates in $DIR/certs, tokens in $DIR/tokens.env)"
