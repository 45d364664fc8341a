#!/usr/bin/env bash
# Local S3-compatible server for mlattest's object-storage tests: SeaweedFS
# (`weed server` with its S3 gateway), on 127.0.0.1 only, no Docker, no
# telemetry, one test identity.
#
# Usage: scripts/s3.sh build|start|stop|status|env
#
# Ports: 47601 master, 47602 volume, 47603 filer, 47604 S3 (gRPC: +10000).
# Binary cache: ${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/bin/weed-<version>,
#   built from the Go module proxy's copy of the module (cold: 10.5 min of CPU;
#   29 min wall measured while other builds shared the 2 cores).
# State (data, s3 identities, log, PID file, env.sh):
#   ${MLATTEST_S3_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/s3}
# `env` prints the endpoint and test credentials as AWS_* exports; tests
# (internal/stacktest.S3) read them from env.sh.
set -euo pipefail

SEAWEEDFS_MODULE=github.com/seaweedfs/seaweedfs
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6
MASTER_PORT=47601 VOLUME_PORT=47602 FILER_PORT=47603 S3_PORT=47604
HOST=127.0.0.1
# Test-only identity of the local server; nothing else accepts it.
ACCESS_KEY=mlattest-test SECRET_KEY=mlattest-test-secret

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/mlattest"
BIN_DIR="$CACHE_ROOT/bin"
STATE_DIR="${MLATTEST_S3_STATE:-$CACHE_ROOT/s3}"
WEED_BIN="$BIN_DIR/weed-${SEAWEEDFS_VERSION##*-}"
ENDPOINT="http://$HOST:$S3_PORT"

LOG_PREFIX=s3
# shellcheck source=scripts/lib.sh
source "$SCRIPT_DIR/lib.sh"

# The module's go.mod has replace directives, so `go install PKG@VERSION`
# refuses it: download the module and build inside it, where they apply.
build_weed() {
	local dir
	dir="$(cd "$tmp" && GOWORK=off GOFLAGS=-modcacherw go mod download -json "$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -n $dir && -f $dir/go.mod ]] || { log "go mod download $SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION failed"; return 1; }
	cd "$dir" && env GOWORK=off GOFLAGS=-buildvcs=false go build -o "$tmp/out" ./weed
}

cmd_build() {
	need go
	local start=$SECONDS
	[[ -x $WEED_BIN ]] && return 0
	cache_bin "$WEED_BIN" "SeaweedFS $SEAWEEDFS_VERSION (cold: ~10 min of CPU on 2 cores)" build_weed ||
		die "go build $SEAWEEDFS_MODULE/weed failed"
	log "built $WEED_BIN in $((SECONDS - start)) s"
}

# answering: the S3 gateway answers and writes can go through: the master
# has a leader (after a restart its election takes ~10 s, and the first
# writes would wait on it) and assigns a file id on a volume server.
answering() {
	curl -sS -o /dev/null --max-time 2 "$ENDPOINT/" 2>/dev/null &&
		curl -fsS --max-time 2 "http://$HOST:$MASTER_PORT/cluster/status" 2>/dev/null | grep -q '"IsLeader":true' &&
		curl -fsS --max-time 5 "http://$HOST:$MASTER_PORT/dir/assign" 2>/dev/null | grep -q '"fid"'
}

s3_config() {
	cat <<EOF
{
  "identities": [
    {
      "name": "mlattest-test",
      "credentials": [{"accessKey": "$ACCESS_KEY", "secretKey": "$SECRET_KEY"}],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
EOF
}

write_env() {
	save_env <<EOF
# Written by scripts/s3.sh start; source it to use the local S3 server.
export MLATTEST_S3_STATE=$STATE_DIR
export MLATTEST_S3_ENDPOINT=$ENDPOINT
export AWS_ENDPOINT_URL_S3=$ENDPOINT
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=us-east-1
EOF
}

cmd_start() {
	start_prelude
	mkdir -p "$STATE_DIR/data"
	s3_config >"$STATE_DIR/s3.json.tmp"
	chmod 600 "$STATE_DIR/s3.json.tmp"
	mv -f "$STATE_DIR/s3.json.tmp" "$STATE_DIR/s3.json"
	# Every listener on 127.0.0.1; no telemetry, WebDAV, IAM API or
	# metrics; small volumes, so that a test machine's disk is not claimed.
	start_proc weed answering 120 "$WEED_BIN" server -ip="$HOST" -ip.bind="$HOST" -dir="$STATE_DIR/data" \
		-master.port=$MASTER_PORT -master.telemetry=false -master.volumeSizeLimitMB=256 \
		-volume.port=$VOLUME_PORT -volume.max=0 \
		-filer -filer.port=$FILER_PORT \
		-s3 -s3.port=$S3_PORT -s3.config="$STATE_DIR/s3.json" -s3.iam=false \
		-s3.port.iceberg=0 -s3.port.lance=0
	write_env
	log "SeaweedFS S3 on $ENDPOINT; env: $STATE_DIR/env.sh"
}

case ${1:-} in
build) cmd_build ;;
start) cmd_start ;;
stop) stop_service weed ;;
status) status_line weed answering 11 "$ENDPOINT" ;;
env) print_env s3.sh ;;
*) usage_from "${BASH_SOURCE[0]}" 2 15 ;;
esac
