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

log() { printf 's3: %s\n' "$*" >&2; }
die() { printf 's3: error: %s\n' "$*" >&2; exit 1; }

# The module's go.mod has replace directives, so `go install PKG@VERSION`
# refuses it: download the module and build inside it, where they apply.
cmd_build() {
	[[ -x $WEED_BIN ]] && return 0
	command -v go >/dev/null 2>&1 || die "'go' is required"
	mkdir -p "$BIN_DIR"
	log "building SeaweedFS $SEAWEEDFS_VERSION (cold: several minutes on 2 cores)"
	local dir tmp start=$SECONDS
	dir="$(cd "$BIN_DIR" && GOWORK=off GOFLAGS=-modcacherw go mod download -json "$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -n $dir && -f $dir/go.mod ]] || die "go mod download $SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION failed"
	tmp="$(mktemp -d "$BIN_DIR/.build-XXXXXX")"
	if ! (cd "$dir" && env GOWORK=off GOFLAGS=-buildvcs=false go build -o "$tmp/weed" ./weed); then
		rm -rf "$tmp"
		die "go build $SEAWEEDFS_MODULE/weed failed"
	fi
	mv -f "$tmp/weed" "$WEED_BIN"
	rm -rf "$tmp"
	log "built $WEED_BIN in $((SECONDS - start)) s"
}

pidfile() { echo "$STATE_DIR/weed.pid"; }

running() {
	local f pid
	f="$(pidfile)"
	[[ -f $f ]] || return 1
	pid="$(<"$f")"
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE_DIR" || return 1
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
	local f="$STATE_DIR/env.sh"
	cat >"$f.tmp" <<EOF
# Written by scripts/s3.sh start; source it to use the local S3 server.
export MLATTEST_S3_STATE=$STATE_DIR
export MLATTEST_S3_ENDPOINT=$ENDPOINT
export AWS_ENDPOINT_URL_S3=$ENDPOINT
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=us-east-1
EOF
	mv -f "$f.tmp" "$f"
}

lock_state() {
	mkdir -p "$STATE_DIR"
	exec 9>"$STATE_DIR/.lock"
	flock -w 120 9 || die "another s3.sh holds $STATE_DIR/.lock for over 120 s"
}

cmd_start() {
	command -v curl >/dev/null 2>&1 || die "'curl' is required"
	cmd_build
	lock_state
	chmod 700 "$STATE_DIR"
	if running && answering; then
		log "SeaweedFS already running (pid $(<"$(pidfile)")) on $ENDPOINT"
		write_env
		return 0
	fi
	mkdir -p "$STATE_DIR/data"
	s3_config >"$STATE_DIR/s3.json"
	chmod 600 "$STATE_DIR/s3.json"
	local logf="$STATE_DIR/weed.log" pid i
	printf '\n=== %s start\n' "$(date -u +%FT%TZ)" >>"$logf"
	# Every listener on 127.0.0.1; no telemetry, WebDAV, IAM API or
	# metrics; small volumes, so that a test machine's disk is not claimed.
	setsid "$WEED_BIN" server -ip="$HOST" -ip.bind="$HOST" -dir="$STATE_DIR/data" \
		-master.port=$MASTER_PORT -master.telemetry=false -master.volumeSizeLimitMB=256 \
		-volume.port=$VOLUME_PORT -volume.max=0 \
		-filer -filer.port=$FILER_PORT \
		-s3 -s3.port=$S3_PORT -s3.config="$STATE_DIR/s3.json" -s3.iam=false \
		-s3.port.iceberg=0 -s3.port.lance=0 \
		>>"$logf" 2>&1 </dev/null 9>&- &
	pid=$!
	echo "$pid" >"$(pidfile)"
	for ((i = 0; i < 240; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$logf" >&2 || true
			die "weed exited during start-up; log: $logf"
		fi
		if answering; then
			write_env
			log "SeaweedFS S3 up (pid $pid) on $ENDPOINT; env: $STATE_DIR/env.sh"
			return 0
		fi
		sleep 0.5
	done
	die "SeaweedFS did not answer $ENDPOINT (or elect its master) within 120 s; log: $logf"
}

cmd_stop() {
	[[ -d $STATE_DIR ]] || return 0
	local pid i
	if running; then
		pid="$(<"$(pidfile)")"
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null || true
		log "SeaweedFS stopped"
	fi
	rm -f "$(pidfile)"
}

cmd_status() {
	if running && answering; then
		printf 'seaweedfs   up    pid %-8s %s\n' "$(<"$(pidfile)")" "$ENDPOINT"
		return 0
	fi
	printf 'seaweedfs   down\n'
	return 1
}

cmd_env() {
	[[ -f $STATE_DIR/env.sh ]] || die "no $STATE_DIR/env.sh: run 'scripts/s3.sh start'"
	cat "$STATE_DIR/env.sh"
}

case ${1:-} in
build) cmd_build ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
