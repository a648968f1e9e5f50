#!/usr/bin/env bash
# Makes the Secrets the StatefulSet mounts, into deploy/kubernetes/secrets/
# (not committed): herd-tls (a CA and one certificate per server, DNS SANs
# herd-N and herd-N.herd, spec section 8) and herd-tokens (one bearer token
# per role set). Prints the tokens' SHA-256 digests for configmap.yaml's
# auth.tokens. Needs openssl.
#
#   bash deploy/kubernetes/make-secrets.sh [REPLICAS]
#   kubectl apply -f deploy/kubernetes/secrets/
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
replicas="${1:-5}"
out="$here/secrets"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
chmod 700 "$out"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
  -subj "/CN=herd CA" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
files=(--from-file=ca.pem="$work/ca.pem")
for ((i = 0; i < replicas; i++)); do
  name="herd-$i"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
    -keyout "$work/$name.key" -out "$work/$name.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s,DNS:%s.herd\nextendedKeyUsage=serverAuth,clientAuth\n' \
    "$name" "$name" >"$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 825 -extfile "$work/$name.ext" -out "$work/$name.pem" 2>/dev/null
done

secret() {  # NAME FILE... -> a Secret manifest on stdout
  local name="$1"
  shift
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  labels:\n    app.kubernetes.io/name: herd\ntype: Opaque\ndata:\n' "$name"
  for file in "$@"; do
    printf '  %s: %s\n' "$(basename "$file")" "$(base64 -w0 <"$file")"
  done
}
tls_files=("$work/ca.pem")
for ((i = 0; i < replicas; i++)); do tls_files+=("$work/herd-$i.pem" "$work/herd-$i.key"); done
secret herd-tls "${tls_files[@]}" >"$out/herd-tls.yaml"

token="$(openssl rand -hex 32)"
printf '%s' "$token" >"$work/operator"
secret herd-tokens "$work/operator" >"$out/herd-tokens.yaml"
echo "wrote $out/herd-tls.yaml and $out/herd-tokens.yaml"
echo "configmap.yaml auth.tokens[0].sha256 (operator): $(printf '%s' "$token" | sha256sum | cut -d' ' -f1)"
