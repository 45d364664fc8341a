#!/usr/bin/env bash
# Local Google Cloud Storage emulator for mlattest's gs:// tests:
# fake-gcs-server (a real server process speaking the GCS JSON and XML APIs),
# on 127.0.0.1 only, plain HTTP, objects kept in memory (tests remove what they store).
#
# Usage: scripts/gcs.sh build|start|stop|status|env
#
# Port: 47605.
# Binary cache: ${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/bin/fake-gcs-server-<version>,
#   built with go install from the Go module proxy (cold: ~2 min on 2 cores).
# State (log, PID file, env.sh):
#   ${MLATTEST_GCS_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/gcs}
# `env` prints STORAGE_EMULATOR_HOST, which points the Go GCS client at the
# emulator (no credentials are needed or sent); tests
# (internal/stacktest.GetGCS) read it from env.sh.
set -euo pipefail

FAKEGCS_MODULE=github.com/fsouza/fake-gcs-server
FAKEGCS_VERSION=v1.56.1
PORT=47605
HOST=127.0.0.1

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/mlattest"
BIN_DIR="$CACHE_ROOT/bin"
STATE_DIR="${MLATTEST_GCS_STATE:-$CACHE_ROOT/gcs}"
FAKEGCS_BIN="$BIN_DIR/fake-gcs-server-$FAKEGCS_VERSION"
ENDPOINT="http://$HOST:$PORT"

LOG_PREFIX=gcs
# shellcheck source=scripts/lib.sh
source "$SCRIPT_DIR/lib.sh"

cmd_build() {
	need go
	go_install_bin "$FAKEGCS_MODULE@$FAKEGCS_VERSION" fake-gcs-server "$FAKEGCS_BIN"
}

write_env() {
	save_env <<EOT
# Written by scripts/gcs.sh start; source it to use the local GCS emulator.
export MLATTEST_GCS_STATE=$STATE_DIR
export STORAGE_EMULATOR_HOST=$HOST:$PORT
EOT
}

cmd_start() {
	start_prelude
	# -external-url: resumable uploads are continued at this address;
	# -public-host without the port: the XML API (reads) answers any port
	# of 127.0.0.1, so that a test's fault-injecting proxy can stand in front.
	# -filesystem-root (unused by the memory backend) puts the state
	# directory on the command line, by which lib.sh knows the process is ours.
	start_proc fake-gcs-server "$ENDPOINT/storage/v1/b" 60 "$FAKEGCS_BIN" \
		-scheme http -host "$HOST" -port "$PORT" -external-url "$ENDPOINT" -public-host "$HOST" \
		-backend memory -filesystem-root "$STATE_DIR/unused" -log-level warn
	write_env
	log "fake-gcs-server on $ENDPOINT; env: $STATE_DIR/env.sh"
}

case ${1:-} in
build) cmd_build ;;
start) cmd_start ;;
stop) stop_service fake-gcs-server ;;
status) status_line fake-gcs-server "$ENDPOINT/storage/v1/b" 16 "$ENDPOINT" ;;
env) print_env gcs.sh ;;
*) usage_from "${BASH_SOURCE[0]}" 2 14 ;;
esac
