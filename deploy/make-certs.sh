#!/usr/bin/env bash
# Makes a private CA and one certificate per herd server for `tls` (spec
# section 8): OUTDIR/ca.pem, OUTDIR/NAME.pem and OUTDIR/NAME.key. Each
# certificate's DNS SANs are the server's name (what a peer's hello is
# checked against) and any extra names given after `=`, comma-separated
# (the host names it is dialled by). EC P-256, server and client use.
#
#   bash deploy/make-certs.sh /etc/herd/tls Riley=riley.herd.test Jaquez=jaquez.herd.test ...
#   config: "tls": {"ca_file": "/etc/herd/tls/ca.pem",
#                    "cert_file": "/etc/herd/tls/{name}.pem", "key_file": "/etc/herd/tls/{name}.key"}
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: make-certs.sh OUTDIR NAME[=DNS,DNS...]..." >&2
  exit 2
fi
out="$1"
shift
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
umask 077
if [ ! -f "$out/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=herd CA" -keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
fi
for spec in "$@"; do
  name="${spec%%=*}"
  sans="DNS:$name"
  if [[ "$spec" == *=* ]]; then
    IFS=, read -ra extra <<<"${spec#*=}"
    for dns in "${extra[@]}"; do sans+=",DNS:$dns"; done
  fi
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
    -keyout "$out/$name.key" -out "$work/$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$sans" >"$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -CAcreateserial -days 825 -extfile "$work/$name.ext" -out "$out/$name.pem" 2>/dev/null
  echo "$out/$name.pem: $sans"
done
chmod 644 "$out/ca.pem"
rm -f "$out/ca.srl"
