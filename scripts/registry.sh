#!/usr/bin/env bash
# Local OCI registries for mlattest's distribution tests and demo, on
# 127.0.0.1 only, no Docker:
#   distribution  github.com/distribution/distribution/v3 registry (no referrers
#                 API: mlattest falls back to the referrers tag schema)
#   ociregistry   go-containerregistry's registry with the OCI 1.1 referrers API
#                 (internal/ociregistry, built from this repository)
#
# Usage: scripts/registry.sh build|start|stop|status|env
#
# Ports: 47541 distribution, 47542 ociregistry.
# Binary cache: ${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/bin (registry-<version>,
#   ociregistry-<hash of its sources>, crane-<version> for scripts/bench.sh).
# State (storage, logs, PID files, env.sh):
#   ${MLATTEST_REGISTRY_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/registry}
# Tests start their own short-lived instances from the same binaries
# (internal/registrytest), found through env.sh.
set -euo pipefail

DISTRIBUTION_VERSION=v3.1.2
GGCR_VERSION=v0.21.7 # crane; must match go.mod's go-containerregistry
DIST_PORT=47541 OCI_PORT=47542
HOST=127.0.0.1

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/mlattest"
BIN_DIR="$CACHE_ROOT/bin"
STATE_DIR="${MLATTEST_REGISTRY_STATE:-$CACHE_ROOT/registry}"

log() { printf 'registry: %s\n' "$*" >&2; }
die() { printf 'registry: error: %s\n' "$*" >&2; exit 1; }

DIST_BIN="$BIN_DIR/registry-$DISTRIBUTION_VERSION"
CRANE_BIN="$BIN_DIR/crane-$GGCR_VERSION"
oci_hash() {
	(cd "$REPO_DIR" && { find internal/ociregistry -type f -name '*.go' ! -name '*_test.go' -print0 |
		LC_ALL=C sort -z | xargs -0 sha256sum; grep go-containerregistry go.mod; } | sha256sum | cut -c1-12)
}
OCI_BIN="$BIN_DIR/ociregistry-$(oci_hash)"

# install_to DEST CMD...: run CMD with $tmp as a scratch dir holding the
# result in $tmp/out, then move it into place (never a half-written binary).
install_to() {
	local dest=$1 tmp
	shift
	[[ -x $dest ]] && return 0
	tmp="$(mktemp -d "$BIN_DIR/.build-XXXXXX")"
	if ! (export tmp && "$@"); then
		rm -rf "$tmp"
		return 1
	fi
	mv -f "$tmp/out" "$dest"
	rm -rf "$tmp"
}

go_install_out() { # PKG@VERSION NAME
	(cd "$tmp" && env GOBIN="$tmp" GOFLAGS=-buildvcs=false GOWORK=off go install "$1" && mv "$tmp/$2" "$tmp/out")
}

build_dist() {
	[[ -x $DIST_BIN ]] && return 0
	log "building distribution $DISTRIBUTION_VERSION (cold: ~3 min on 2 cores)"
	if install_to "$DIST_BIN" go_install_out "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION" registry; then
		return 0
	fi
	# Debian's docker-registry (distribution 2.8) serves the same API.
	if command -v docker-registry >/dev/null 2>&1; then
		log "go install failed; using $(command -v docker-registry)"
		ln -sf "$(command -v docker-registry)" "$DIST_BIN"
		return 0
	fi
	die "could not build distribution $DISTRIBUTION_VERSION (and no docker-registry installed)"
}

cmd_build() {
	command -v go >/dev/null 2>&1 || die "'go' is required"
	mkdir -p "$BIN_DIR"
	build_dist
	if [[ ! -x $OCI_BIN ]]; then
		log "building internal/ociregistry/cmd/ociregistry"
		install_to "$OCI_BIN" bash -c 'cd "$0" && env GOFLAGS=-buildvcs=false GOWORK=off go build -o "$tmp/out" ./internal/ociregistry/cmd/ociregistry' "$REPO_DIR" ||
			die "go build internal/ociregistry/cmd/ociregistry failed"
	fi
}

# crane is only needed by the pull benchmark (scripts/bench.sh).
cmd_build_crane() {
	mkdir -p "$BIN_DIR"
	[[ -x $CRANE_BIN ]] && { echo "$CRANE_BIN"; return 0; }
	log "building crane $GGCR_VERSION"
	install_to "$CRANE_BIN" go_install_out "github.com/google/go-containerregistry/cmd/crane@$GGCR_VERSION" crane ||
		die "go install crane failed"
	echo "$CRANE_BIN"
}

# dist_config DIR ADDR: a distribution config storing under DIR.
dist_config() {
	cat <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $1
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $2
  secret: mlattest-local-registry
EOF
}

pidfile() { echo "$STATE_DIR/$1.pid"; }

running() {
	local f pid
	f="$(pidfile "$1")"
	[[ -f $f ]] || return 1
	pid="$(<"$f")"
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE_DIR" || return 1
}

url_of() {
	case $1 in
	distribution) echo "http://$HOST:$DIST_PORT/v2/" ;;
	ociregistry) echo "http://$HOST:$OCI_PORT/v2/" ;;
	esac
}

start_one() {
	local name=$1 logf="$STATE_DIR/$1.log" pid i
	if running "$name"; then
		log "$name already running (pid $(<"$(pidfile "$name")"))"
		return 0
	fi
	local -a argv
	case $name in
	distribution)
		dist_config "$STATE_DIR/distribution" "$HOST:$DIST_PORT" >"$STATE_DIR/distribution.yml"
		argv=("$DIST_BIN" serve "$STATE_DIR/distribution.yml")
		;;
	ociregistry) argv=("$OCI_BIN" -addr "$HOST:$OCI_PORT" -dir "$STATE_DIR/ociregistry") ;;
	esac
	printf '\n=== %s start %s\n' "$(date -u +%FT%TZ)" "$name" >>"$logf"
	OTEL_TRACES_EXPORTER=none setsid "${argv[@]}" >>"$logf" 2>&1 </dev/null 9>&- &
	pid=$!
	echo "$pid" >"$(pidfile "$name")"
	for ((i = 0; i < 60; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$logf" >&2 || true
			die "$name exited during start-up; log: $logf"
		fi
		if curl -fsS -o /dev/null --max-time 2 "$(url_of "$name")" 2>/dev/null; then
			log "$name up (pid $pid) on $(url_of "$name")"
			return 0
		fi
		sleep 0.5
	done
	die "$name did not answer $(url_of "$name") within 30 s; log: $logf"
}

write_env() {
	local f="$STATE_DIR/env.sh"
	cat >"$f.tmp" <<EOF
# Written by scripts/registry.sh start; source it to use the local registries.
export MLATTEST_REGISTRY_STATE=$STATE_DIR
export MLATTEST_REGISTRY=$HOST:$DIST_PORT
export MLATTEST_REGISTRY_STORAGE=$STATE_DIR/distribution
export MLATTEST_REGISTRY_BIN=$DIST_BIN
export MLATTEST_OCI_REGISTRY=$HOST:$OCI_PORT
export MLATTEST_OCI_REGISTRY_STORAGE=$STATE_DIR/ociregistry
export MLATTEST_OCI_REGISTRY_BIN=$OCI_BIN
EOF
	mv -f "$f.tmp" "$f"
}

lock_state() {
	mkdir -p "$STATE_DIR"
	exec 9>"$STATE_DIR/.lock"
	flock -w 120 9 || die "another registry.sh holds $STATE_DIR/.lock for over 120 s"
}

cmd_start() {
	command -v curl >/dev/null 2>&1 || die "'curl' is required"
	cmd_build
	lock_state
	chmod 700 "$STATE_DIR"
	start_one distribution
	start_one ociregistry
	write_env
	log "registries running; env: $STATE_DIR/env.sh"
}

cmd_stop() {
	[[ -d $STATE_DIR ]] || return 0
	local s pid i
	for s in distribution ociregistry; do
		if running "$s"; then
			pid="$(<"$(pidfile "$s")")"
			kill -TERM "$pid" 2>/dev/null || true
			for ((i = 0; i < 25; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.2
			done
			kill -KILL "$pid" 2>/dev/null || true
			log "$s stopped"
		fi
		rm -f "$(pidfile "$s")"
	done
}

cmd_status() {
	local s rc=0
	for s in distribution ociregistry; do
		if running "$s" && curl -fsS -o /dev/null --max-time 2 "$(url_of "$s")" 2>/dev/null; then
			printf '%-12s up    pid %-8s %s\n' "$s" "$(<"$(pidfile "$s")")" "$(url_of "$s")"
		else
			printf '%-12s down\n' "$s"
			rc=1
		fi
	done
	return "$rc"
}

cmd_env() {
	[[ -f $STATE_DIR/env.sh ]] || die "no $STATE_DIR/env.sh: run 'scripts/registry.sh start'"
	cat "$STATE_DIR/env.sh"
}

case ${1:-} in
build) cmd_build ;;
crane) cmd_build_crane ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
