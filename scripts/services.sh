#!/usr/bin/env bash
# Makes the local services this project needs available, installing what is missing:
#   - PostgreSQL on 127.0.0.1:5432 (started if installed but stopped; installed from Debian if absent)
#   - tansu 0.6.0, the Kafka-protocol broker (cargo install, exact version, `dynostore` feature)
#   - Python's fastavro, the independent Avro decoder used by the contract tests, and
#     openapi-spec-validator, the OpenAPI 3 validator the API tests run on /api/v1/openapi.json
#   - the lab-print test tools from Debian: ippeveprinter (cups-ipp-utils) and the private
#     D-Bus it needs (dbus-daemon), qpdf, pdftotext/pdftoppm (poppler-utils), zbarimg (zbar-tools)
# With `--broker`, also starts a long-lived dev broker on 127.0.0.1:${KAFKA_PORT:-19092}.
# Idempotent: anything already present at the right version is left alone.
set -euo pipefail

TANSU_VERSION=0.6.0
TANSU_ROOT="${TANSU_ROOT:-$HOME/.local/tansu-$TANSU_VERSION}"
export TANSU_BIN="$TANSU_ROOT/bin/tansu"
FASTAVRO_VERSION=1.13.1
OPENAPI_VALIDATOR_VERSION=0.9.0
PG_HOST=127.0.0.1
PG_PORT=5432

log() { printf '[services] %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_postgres() {
  if pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; then
    return
  fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    log "installing PostgreSQL from Debian"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    local hba
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n1)
    # Local development and CI only: trust loopback, as the test suite connects without a password.
    as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 100); do
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && return
    sleep 0.1
  done
  log "PostgreSQL did not come up on $PG_HOST:$PG_PORT"
  exit 1
}

ensure_tansu() {
  if [ -x "$TANSU_BIN" ] && "$TANSU_BIN" --version 2>/dev/null | grep -qx "tansu $TANSU_VERSION"; then
    return
  fi
  log "installing tansu $TANSU_VERSION (about 10 minutes on 2 cores, once)"
  cargo install tansu --locked --version "$TANSU_VERSION" --features dynostore --root "$TANSU_ROOT" >&2
}

ensure_build_tools() {
  # rdkafka builds its bundled librdkafka with gcc, make and zlib.
  local missing=()
  command -v cc >/dev/null || missing+=(gcc)
  command -v make >/dev/null || missing+=(make)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_print_test_tools() {
  # The lab-print tests print to CUPS's reference IPP printer and check PDFs with tools
  # independent of our renderer.
  local missing=()
  [ -x /usr/sbin/ippeveprinter ] || missing+=(cups-ipp-utils)
  command -v dbus-daemon >/dev/null || missing+=(dbus-daemon)
  command -v qpdf >/dev/null || missing+=(qpdf)
  command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null || missing+=(poppler-utils)
  command -v zbarimg >/dev/null || missing+=(zbar-tools)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_python_tools() {
  if ! python3 -c "import fastavro, sys; sys.exit(fastavro.__version__ != '$FASTAVRO_VERSION')" 2>/dev/null; then
    log "installing fastavro $FASTAVRO_VERSION"
    python3 -m pip install -q "fastavro==$FASTAVRO_VERSION" >&2
  fi
  if ! python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('openapi-spec-validator') != '$OPENAPI_VALIDATOR_VERSION')" 2>/dev/null; then
    log "installing openapi-spec-validator $OPENAPI_VALIDATOR_VERSION"
    python3 -m pip install -q "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION" >&2
  fi
}

start_dev_broker() {
  local port="${KAFKA_PORT:-19092}"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "a broker already listens on 127.0.0.1:$port"
    return
  fi
  mkdir -p .local
  log "starting tansu on 127.0.0.1:$port (memory storage; logs in .local/tansu.log)"
  nohup "$TANSU_BIN" broker --storage-engine memory://tansu/ \
    --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    >.local/tansu.log 2>&1 &
  echo $! >.local/tansu.pid
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return
    sleep 0.1
  done
  log "tansu did not listen on $port; see .local/tansu.log"
  exit 1
}

cd "$(dirname "$0")/.."
ensure_build_tools
ensure_print_test_tools
ensure_postgres
ensure_tansu
ensure_python_tools
if [ "${1:-}" = "--broker" ]; then
  start_dev_broker
fi
log "ready: PostgreSQL on $PG_HOST:$PG_PORT, tansu at $TANSU_BIN"
