#!/usr/bin/env bash
# Runs every test against real services: installs/starts what is missing, then the whole suite.
# Each integration test creates its own database and starts its own broker, so nothing else
# needs to be running. Extra arguments go to the test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
export TANSU_BIN="${TANSU_ROOT:-$HOME/.local/tansu-0.6.0}/bin/tansu"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
