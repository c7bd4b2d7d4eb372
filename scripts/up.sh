#!/usr/bin/env bash
# The one command that brings the system up on a fresh machine: services, a dev broker,
# then `optical-erp dev` (migrate, topics, relay, demo writer). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh --broker
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-19092}}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/optical_erp}"
exec cargo run -q -p optical-erp -- dev
