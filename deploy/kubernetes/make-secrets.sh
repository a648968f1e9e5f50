#!/usr/bin/env bash
# Makes the Secrets the StatefulSet mounts, into deploy/kubernetes/secrets/
# (not committed): herd-tls (a CA and one certificate per server from
# scripts/certs.sh, DNS SANs herd-N and herd-N.herd) and herd-tokens (a
# bearer token for operators). Prints the token's SHA-256 for
# configmap.yaml's auth.tokens. Needs openssl. The CA's key stays in
# secrets/ca/: keep it offline, it signs every server.
#
#   bash deploy/kubernetes/make-secrets.sh [REPLICAS]
#   kubectl apply -f deploy/kubernetes/secrets/
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
replicas="${1:-5}"
out="$here/secrets"
umask 077
mkdir -p "$out"
chmod 700 "$out"
servers=()
for ((i = 0; i < replicas; i++)); do servers+=("herd-$i=herd-$i.herd"); done
bash "$here/../../scripts/certs.sh" "$out/ca" "${servers[@]}" >/dev/null

secret() {  # NAME FILE... -> a Secret manifest on stdout
  local name="$1"
  shift
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  labels:\n    app.kubernetes.io/name: herd\ntype: Opaque\ndata:\n' "$name"
  for file in "$@"; do
    printf '  %s: %s\n' "$(basename "$file")" "$(base64 -w0 <"$file")"
  done
}
tls_files=("$out/ca/ca.pem")
for ((i = 0; i < replicas; i++)); do tls_files+=("$out/ca/herd-$i.pem" "$out/ca/herd-$i.key"); done
secret herd-tls "${tls_files[@]}" >"$out/herd-tls.yaml"

token="$(openssl rand -hex 32)"
printf '%s' "$token" >"$out/ca/operator"
secret herd-tokens "$out/ca/operator" >"$out/herd-tokens.yaml"
echo "wrote $out/herd-tls.yaml and $out/herd-tokens.yaml"
echo "configmap.yaml auth.tokens[0].sha256 (operator): $(printf '%s' "$token" | sha256sum | cut -d' ' -f1)"
