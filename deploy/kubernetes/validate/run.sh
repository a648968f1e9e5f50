#!/usr/bin/env bash
# Validates deploy/kubernetes/*.yaml offline (validate.mjs says how). The npm
# packages come from package-lock.json: scripts/dev.sh test runs `npm ci`
# here first. Exits 77 (skipped) without node or without those packages.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v node >/dev/null; then
  echo "kubernetes manifests SKIPPED: node not found (scripts/dev.sh test installs nodejs and npm)"
  exit 77
fi
if [ ! -d "$here/node_modules/kubernetes-models" ] || [ ! -d "$here/node_modules/typescript" ]; then
  echo "kubernetes manifests SKIPPED: no validator packages; run: (cd $here && npm ci)"
  exit 77
fi
exec node "$here/validate.mjs" "$here/.."
