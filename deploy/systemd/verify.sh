#!/usr/bin/env bash
# Checks deploy/systemd/herd@.service offline: `systemd-analyze verify` on an
# instance of it (any warning fails, not only errors) and its exposure score
# from `systemd-analyze security --offline`. Exits 77 (skipped) without
# systemd-analyze.
#
#   bash deploy/systemd/verify.sh [HERD_BINARY]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd unit check SKIPPED: systemd-analyze not found (package systemd)"
  exit 77
fi
binary="$(realpath "${1:-$here/../../build/app/herd}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# verify checks that ExecStart's binary exists: point it at the built one.
sed "s|/usr/local/bin/herd|$binary|" "$here/herd@.service" >"$work/herd@Riley.service"
output="$(cd "$work" && systemd-analyze verify "./herd@Riley.service" 2>&1)" || {
  echo "$output"
  echo "FAIL systemd-analyze verify herd@.service"
  exit 1
}
if [ -n "$output" ]; then
  echo "$output"
  echo "FAIL systemd-analyze verify herd@.service: warnings"
  exit 1
fi
# 0 is the best exposure score, 10 the worst; fail above 2 ("OK").
if ! systemd-analyze security --offline=yes --threshold=20 "$work/herd@Riley.service" \
    >"$work/security" 2>&1; then
  tail -n 30 "$work/security"
  echo "FAIL systemd-analyze security herd@.service: exposure above 2.0"
  exit 1
fi
echo "systemd unit herd@.service: verified; $(tail -n 1 "$work/security" | sed 's/→ //')"
