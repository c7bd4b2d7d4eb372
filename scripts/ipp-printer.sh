#!/usr/bin/env bash
# A local IPP Everywhere printer to watch PDF tickets without paper: Debian's ippeveprinter
# (scripts/services.sh installs it), keeping every document it receives in DIR.
#   scripts/ipp-printer.sh [PORT=8631] [DIR=tickets]   → ipp://127.0.0.1:PORT/ipp/print
# ippeveprinter needs a D-Bus system bus even with DNS-SD off; a private one is started here.
set -euo pipefail
PORT="${1:-8631}"
DIR="${2:-tickets}"
mkdir -p "$DIR"
BUS_DIR=$(mktemp -d)
BUS="$BUS_DIR/bus"
dbus-daemon --session --nofork --address="unix:path=$BUS" >/dev/null 2>&1 &
BUS_PID=$!
trap 'kill "$BUS_PID" 2>/dev/null; rm -rf "$BUS_DIR"' EXIT
for _ in $(seq 1 50); do [ -S "$BUS" ] && break; sleep 0.1; done
echo "IPP printer at ipp://127.0.0.1:$PORT/ipp/print, keeping documents in $DIR" >&2
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$BUS" HOME="$BUS_DIR" \
  ippeveprinter -r off -k -n localhost -d "$DIR" -f application/pdf -c /bin/true -p "$PORT" "Lab A6"
