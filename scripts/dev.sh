#!/usr/bin/env bash
# herd's one entry point for people and CI. Every step is idempotent and
# quick the second time (it installs only missing packages and rebuilds only
# what changed).
#
#   scripts/dev.sh up      install what is missing, build, start the default herd
#   scripts/dev.sh test    install what is missing, build, run every test
#   scripts/dev.sh build   install what is missing and build
#   scripts/dev.sh fuzz [SECONDS]   run the fuzzers: parser, line framing, store (24 s in all)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HERD_BUILD_DIR:-$ROOT/build}"
FUZZ_BUILD="${HERD_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
JOBS="${HERD_JOBS:-2}"

# Debian 12 packages the project builds, tests and runs with.
PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3 netcat-openbsd
  libboost-dev libabsl-dev nlohmann-json3-dev libfmt-dev libcli11-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc grpc-proto
  libcurl4-openssl-dev libssl-dev openssl libgtest-dev libgmock-dev prometheus-cpp-dev
  clang libclang-rt-14-dev librocksdb-dev libs2-dev
  iproute2
)

log() { printf '== %s\n' "$*" >&2; }

install_missing() {
  local missing=()
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# The offline validator of deploy/kubernetes (npm packages pinned by its
# package-lock.json). Node and npm from Debian if there is no npm at all.
install_validator() {
  local dir="$ROOT/deploy/kubernetes/validate"
  if ! command -v npm >/dev/null; then
    log "installing: nodejs npm (for the Kubernetes manifest validator)"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
      nodejs npm >/dev/null
  fi
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
    [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing the Kubernetes manifest validator (npm ci in $dir)"
    (cd "$dir" && npm ci --no-audit --no-fund >/dev/null) ||
      log "npm ci failed: the Kubernetes manifest check (ctest -L deploy) will be SKIPPED"
  fi
}

build() {
  if [ ! -f "$BUILD/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  log "building in $BUILD"
  cmake --build "$BUILD" -j"$JOBS"
}

fuzz() {
  # The time is shared: the parser gets 5/12, the line framing 4/12, the
  # store round trip the rest.
  local seconds="${1:-24}"
  if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S "$ROOT" -B "$FUZZ_BUILD" -G Ninja -DHERD_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined" \
      >/dev/null
  fi
  cmake --build "$FUZZ_BUILD" -j"$JOBS" >/dev/null
  local protocol=$((seconds * 5 / 12)) framing=$((seconds * 4 / 12))
  local store=$((seconds - protocol - framing))
  local name time seeds corpus status=0
  for run in "protocol_fuzzer:$protocol:corpus" "framing_fuzzer:$framing:corpus_framing" \
             "store_fuzzer:$store:corpus_store"; do
    IFS=: read -r name time seeds <<<"$run"
    [ "$time" -ge 1 ] || time=1
    corpus="$(mktemp -d)"
    log "fuzzing $name for ${time}s"
    "$FUZZ_BUILD/tests/fuzz/$name" -max_total_time="$time" -max_len=512 \
      -print_final_stats=1 "$corpus" "$ROOT/tests/fuzz/$seeds" 2>&1 | tail -n 3
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    rm -rf "$corpus"
  done
  return "$status"
}

run_tests() {
  log "unit, integration, multi-host (as root) and deploy tests"
  [ "$(id -u)" -eq 0 ] ||
    log "the multi-host suite (ctest -L hosts: a network namespace per server) is SKIPPED: it needs root"
  (cd "$BUILD" && ctest --output-on-failure -j"$JOBS" --timeout 600)
  fuzz 24
  local smoke="$ROOT/../shared/conformance/smoke.py"
  if [ -f "$smoke" ]; then
    log "conformance smoke test: one server, the default herd, the trust, limit and durability keys"
    python3 "$smoke" "$BUILD/app/herd" core
    python3 "$smoke" "$BUILD/app/herd" herd
    python3 "$smoke" "$BUILD/app/herd" limits
    python3 "$smoke" "$BUILD/app/herd" durable
  else
    log "conformance smoke test skipped: no $smoke beside this checkout"
  fi
}

case "${1:-}" in
  up)
    install_missing
    build
    exec "$BUILD/app/herd" up --config "$ROOT/config/herd.json"
    ;;
  test)
    install_missing
    install_validator
    build
    run_tests
    ;;
  build)
    install_missing
    build
    ;;
  fuzz)
    install_missing
    fuzz "${2:-24}"
    ;;
  *)
    echo "usage: scripts/dev.sh up|test|build|fuzz [SECONDS]" >&2
    exit 2
    ;;
esac
