#!/usr/bin/env bash
# Makes a herd's certificates with OpenSSL: a CA, and for each server a key
# and a certificate signed by that CA whose subjectAltName holds the
# server's name (what neighbours check on every Flood stream) and the hosts
# it is reached at (what clients check). EC P-256, for server and client use.
#
#   scripts/certs.sh DIR [CONFIG]                  every server of CONFIG (default
#                                                  config/herd.json), with the hosts
#                                                  of its addresses
#   scripts/certs.sh DIR NAME[=HOST,HOST...]...    the servers named, with those hosts
#                                                  (names or IP addresses)
#
# Writes DIR/ca.pem, DIR/ca.key, DIR/NAME.pem, DIR/NAME.key. An existing CA in
# DIR is reused, so adding a server later keeps the others' certificates
# valid; server certificates are made anew each time. Keep ca.key offline.
set -euo pipefail
trap 'echo "certs.sh: failed at line $LINENO (openssl said nothing: run with bash -x)" >&2' ERR

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:?usage: scripts/certs.sh DIR [CONFIG | NAME[=HOST,...]...]}"
shift
CONFIG="$ROOT/config/herd.json"
SPECS=()
if [ $# -eq 1 ] && { [ -f "$1" ] || [[ "$1" == */* || "$1" == *.json ]]; }; then
  [ -f "$1" ] || { echo "certs.sh: no config file $1" >&2; exit 2; }
  CONFIG="$1"
elif [ $# -gt 0 ]; then
  SPECS=("$@")
fi
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

# One line per server: NAME SAN-LIST, from the NAME=HOST specs or from the
# config's addresses (by python3's json).
python3 - "$CONFIG" "${SPECS[@]}" <<'PY' |
import ipaddress, json, sys

def san(host):
    try:
        return "IP:" + str(ipaddress.ip_address(host))
    except ValueError:
        return "DNS:" + host

def line(name, hosts):
    names = ["DNS:" + name]
    for host in hosts:
        if host and host not in ("0.0.0.0", "::") and san(host) not in names:
            names.append(san(host))
    print(name, ",".join(names))

if len(sys.argv) > 2:
    for spec in sys.argv[2:]:
        name, _, hosts = spec.partition("=")
        line(name, hosts.split(","))
else:
    for server in json.load(open(sys.argv[1]))["servers"]:
        line(server["name"], [server[key].rsplit(":", 1)[0].strip("[]")
                              for key in ("edge", "grpc", "peer", "edge_tls") if key in server])
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
rm -f "$DIR/ca.srl"
