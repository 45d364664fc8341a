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

LOG_PREFIX=registry
# shellcheck source=scripts/lib.sh
source "$SCRIPT_DIR/lib.sh"

DIST_BIN="$BIN_DIR/registry-$DISTRIBUTION_VERSION"
CRANE_BIN="$BIN_DIR/crane-$GGCR_VERSION"
OCI_BIN="$BIN_DIR/ociregistry-$(src_hash "$REPO_DIR/internal/ociregistry" "$(grep go-containerregistry "$REPO_DIR/go.mod")")"

build_dist() {
	[[ -x $DIST_BIN ]] && return 0
	if cache_bin "$DIST_BIN" "distribution $DISTRIBUTION_VERSION (cold: ~3 min on 2 cores)" \
		go_install_to "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION" registry; then
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
	need go
	mkdir -p "$BIN_DIR"
	build_dist
	go_build_bin "$REPO_DIR" ./internal/ociregistry/cmd/ociregistry "$OCI_BIN"
}

# crane is only needed by the pull benchmark (scripts/bench.sh).
cmd_build_crane() {
	go_install_bin "github.com/google/go-containerregistry/cmd/crane@$GGCR_VERSION" crane "$CRANE_BIN"
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

url_of() {
	case $1 in
	distribution) echo "http://$HOST:$DIST_PORT/v2/" ;;
	ociregistry) echo "http://$HOST:$OCI_PORT/v2/" ;;
	esac
}

start_one() {
	case $1 in
	distribution)
		dist_config "$STATE_DIR/distribution" "$HOST:$DIST_PORT" >"$STATE_DIR/distribution.yml"
		start_proc distribution "$(url_of distribution)" 30 env OTEL_TRACES_EXPORTER=none "$DIST_BIN" serve "$STATE_DIR/distribution.yml"
		;;
	ociregistry) start_proc ociregistry "$(url_of ociregistry)" 30 "$OCI_BIN" -addr "$HOST:$OCI_PORT" -dir "$STATE_DIR/ociregistry" ;;
	esac
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

cmd_start() {
	need curl setsid flock
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
	lock_state stop
	stop_proc distribution
	stop_proc ociregistry
}

cmd_status() {
	local s rc=0
	for s in distribution ociregistry; do
		status_line "$s" "$(url_of "$s")" 12 || rc=1
	done
	return "$rc"
}

case ${1:-} in
build) cmd_build ;;
crane) cmd_build_crane ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) print_env registry.sh ;;
*) usage_from "${BASH_SOURCE[0]}" 2 17 ;;
esac
