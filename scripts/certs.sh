#!/usr/bin/env bash
# Makes a herd's certificates with OpenSSL: a CA, and for each server of the
# config a key and a certificate signed by that CA whose subjectAltName holds
# the server's name (what neighbours check on every Flood stream) and the
# hosts of its addresses (what grpcurl and other clients check).
#
#   scripts/certs.sh DIR [CONFIG]     (CONFIG defaults to config/herd.json)
#
# Writes DIR/ca.pem, DIR/ca.key, DIR/NAME.pem, DIR/NAME.key. An existing CA in
# DIR is reused, so adding a server later keeps the others' certificates
# valid; server certificates are made anew each time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:?usage: scripts/certs.sh DIR [CONFIG]}"
CONFIG="${2:-$ROOT/config/herd.json}"
DAYS="${HERD_CERT_DAYS:-825}"

command -v openssl >/dev/null || { echo "certs.sh: openssl is not installed" >&2; exit 2; }
mkdir -p "$DIR"
umask 077

if [ ! -f "$DIR/ca.pem" ] || [ ! -f "$DIR/ca.key" ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$DIR/ca.key" -out "$DIR/ca.pem" -days "$DAYS" -subj "/CN=herd CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

# One line per server: NAME SAN-LIST (from the config, by python3's json).
python3 - "$CONFIG" <<'PY' |
import ipaddress, json, sys
config = json.load(open(sys.argv[1]))
for server in config["servers"]:
    names = ["DNS:" + server["name"]]
    for key in ("edge", "grpc", "peer", "edge_tls"):
        if key not in server:
            continue
        host = server[key].rsplit(":", 1)[0].strip("[]")
        try:
            entry = "IP:" + str(ipaddress.ip_address(host))
        except ValueError:
            entry = "DNS:" + host
        if entry not in names and host not in ("0.0.0.0", "::"):
            names.append(entry)
    print(server["name"], ",".join(names))
PY
while read -r name sans; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$DIR/$name.key" -out "$DIR/$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "$DIR/$name.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
    -CAcreateserial -out "$DIR/$name.pem" -days "$DAYS" \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n' "$sans") \
    2>/dev/null
  rm -f "$DIR/$name.csr"
  echo "certs.sh: $DIR/$name.pem ($sans)"
done
chmod 644 "$DIR"/*.pem
