#!/usr/bin/env bash
# Local private Sigstore stack for mlattest's tests and demo, on 127.0.0.1 only,
# no Docker: Fulcio, Rekor v2 (rekor-tiles, POSIX backend), a timestamp authority
# and five OIDC issuers (scripts/oidcserver, around mockoidc: two e-mail issuers,
# one Fulcio maps as GitHub Actions (github-workflow), one as GitLab CI
# (gitlab-pipeline), so certificates carry those CI extensions, and one as a
# Kubernetes cluster's service-account issuer (kubernetes)); the Rekor v2
# checkpoint and tiles are served read-only by internal/tileserve.
#
# Usage: scripts/stack.sh build|start|stop|restart|status|env|token --subject EMAIL [--issuer 1|2|github|gitlab|kubernetes] [--claims JSON] [--ttl DURATION]
#
# Ports (fixed, uncommon; all bound to 127.0.0.1 unless noted):
#   47501 Fulcio HTTP       47502 Fulcio gRPC      47503 Fulcio metrics (all interfaces)
#   47511 Rekor v2 HTTP     47512 Rekor v2 gRPC    47513 Rekor metrics
#   47514 Rekor v2 read (checkpoint and tiles, static)
#   47521 TSA HTTP          2112  TSA metrics (hard-coded by timestamp-server, all interfaces)
#   47531 OIDC issuer 1     47532 OIDC issuer 2
#   47533 OIDC issuer github (GitHub Actions claims)  47534 OIDC issuer gitlab (GitLab CI claims)
#   47535 OIDC issuer kubernetes (projected service-account tokens)
#
# Binary cache: ${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/bin/<name>-<version>
# State (keys, logs, PID files, trust files, env.sh):
#   ${MLATTEST_STACK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/stack}
# See scripts/README.md.
set -euo pipefail

FULCIO_VERSION=v1.8.8
REKOR_VERSION=v2.3.0
TSA_VERSION=v2.1.3
COSIGN_VERSION=v3.1.3

FULCIO_PORT=47501 FULCIO_GRPC_PORT=47502 FULCIO_METRICS_PORT=47503
REKOR_PORT=47511 REKOR_GRPC_PORT=47512 REKOR_METRICS_PORT=47513 REKOR_READ_PORT=47514
TSA_PORT=47521
OIDC1_PORT=47531 OIDC2_PORT=47532 OIDC_GITHUB_PORT=47533 OIDC_GITLAB_PORT=47534 OIDC_K8S_PORT=47535
HOST=127.0.0.1

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/mlattest"
BIN_DIR="$CACHE_ROOT/bin"
STATE_DIR="${MLATTEST_STACK_DIR:-$CACHE_ROOT/stack}"

FULCIO_URL="http://$HOST:$FULCIO_PORT"
# The Rekor URL's host must be rekor-tiles' --hostname: it is the checkpoint
# origin, and verifiers derive the origin from the trusted root's baseUrl.
REKOR_URL="http://$HOST:$REKOR_PORT"
# rekor-tiles' POSIX backend leaves reading to a static server over its storage.
REKOR_READ_URL="http://$HOST:$REKOR_READ_PORT"
TSA_URL="http://$HOST:$TSA_PORT/api/v1/timestamp"
OIDC1_URL="http://$HOST:$OIDC1_PORT/oidc"
OIDC2_URL="http://$HOST:$OIDC2_PORT/oidc"
OIDC_GITHUB_URL="http://$HOST:$OIDC_GITHUB_PORT/oidc"
OIDC_GITLAB_URL="http://$HOST:$OIDC_GITLAB_PORT/oidc"
OIDC_K8S_URL="http://$HOST:$OIDC_K8S_PORT/oidc"

SERVICES=(oidc1 oidc2 oidcgh oidcgl oidck8s fulcio rekor rekorread tsa)

LOG_PREFIX=stack
# shellcheck source=scripts/lib.sh
source "$SCRIPT_DIR/lib.sh"

FULCIO_BIN="$BIN_DIR/fulcio-$FULCIO_VERSION"
REKOR_BIN="$BIN_DIR/rekor-server-posix-$REKOR_VERSION"
TSA_BIN="$BIN_DIR/timestamp-server-$TSA_VERSION"
COSIGN_BIN="$BIN_DIR/cosign-$COSIGN_VERSION"

# Our own helpers are keyed by a hash of their sources so edits rebuild them.
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
OIDC_BIN="$BIN_DIR/oidcserver-$(src_hash "$SCRIPT_DIR/oidcserver")"
KEYGEN_BIN="$BIN_DIR/keygen-$(src_hash "$SCRIPT_DIR/oidcserver")"
TILESERVE_BIN="$BIN_DIR/tileserve-$(src_hash "$REPO_DIR/internal/tileserve")"

cmd_build() {
	need go
	mkdir -p "$BIN_DIR"
	go_build_bin "$SCRIPT_DIR/oidcserver" . "$OIDC_BIN"
	go_build_bin "$SCRIPT_DIR/oidcserver" ./keygen "$KEYGEN_BIN"
	# The read-only tile server is part of the main module.
	go_build_bin "$REPO_DIR" ./internal/tileserve/cmd/tileserve "$TILESERVE_BIN"
	go_install_bin "github.com/sigstore/fulcio@$FULCIO_VERSION" fulcio "$FULCIO_BIN"
	go_install_bin "github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix@$REKOR_VERSION" posix "$REKOR_BIN"
	go_install_bin "github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server@$TSA_VERSION" timestamp-server "$TSA_BIN"
	go_install_bin "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION" cosign "$COSIGN_BIN"
}

# service_argv NAME: sets ARGV to the command line of service NAME.
service_argv() {
	case $1 in
	oidc1) ARGV=("$OIDC_BIN" -addr "$HOST:$OIDC1_PORT" -key "$STATE_DIR/oidc1.key") ;;
	oidc2) ARGV=("$OIDC_BIN" -addr "$HOST:$OIDC2_PORT" -key "$STATE_DIR/oidc2.key") ;;
	oidcgh) ARGV=("$OIDC_BIN" -addr "$HOST:$OIDC_GITHUB_PORT" -key "$STATE_DIR/oidcgh.key") ;;
	oidcgl) ARGV=("$OIDC_BIN" -addr "$HOST:$OIDC_GITLAB_PORT" -key "$STATE_DIR/oidcgl.key") ;;
	oidck8s) ARGV=("$OIDC_BIN" -addr "$HOST:$OIDC_K8S_PORT" -key "$STATE_DIR/oidck8s.key") ;;
	fulcio)
		ARGV=("$FULCIO_BIN" serve --log_type=prod
			--host="$HOST" --port="$FULCIO_PORT" --grpc-host="$HOST" --grpc-port="$FULCIO_GRPC_PORT"
			--metrics-port="$FULCIO_METRICS_PORT" --legacy-unix-domain-socket="$STATE_DIR/fulcio-legacy.sock"
			--ca=fileca --fileca-cert="$STATE_DIR/fulcio-ca.pem" --fileca-key="$STATE_DIR/fulcio-ca.key"
			--fileca-key-passwd="$(<"$STATE_DIR/fulcio-ca.pass")" --fileca-watch=false
			--ct-log-url= --config-path="$STATE_DIR/fulcio-config.json")
		;;
	rekor)
		ARGV=("$REKOR_BIN" serve --hostname="$HOST"
			--http-address="$HOST" --http-port="$REKOR_PORT" --grpc-address="$HOST" --grpc-port="$REKOR_GRPC_PORT"
			--http-metrics-port="$REKOR_METRICS_PORT" --storage-dir="$STATE_DIR/rekor-log"
			--signer-filepath="$STATE_DIR/rekor.key" --checkpoint-interval=1s)
		;;
	rekorread) ARGV=("$TILESERVE_BIN" -addr "$HOST:$REKOR_READ_PORT" -dir "$STATE_DIR/rekor-log") ;;
	tsa)
		ARGV=("$TSA_BIN" serve --log-type=prod --host="$HOST" --port="$TSA_PORT"
			--timestamp-signer=file --file-signer-key-path="$STATE_DIR/tsa.key"
			--certificate-chain-path="$STATE_DIR/tsa-chain.pem" --disable-ntp-monitoring)
		;;
	esac
}

health_url() {
	case $1 in
	oidc1) echo "$OIDC1_URL/.well-known/openid-configuration" ;;
	oidc2) echo "$OIDC2_URL/.well-known/openid-configuration" ;;
	oidcgh) echo "$OIDC_GITHUB_URL/.well-known/openid-configuration" ;;
	oidcgl) echo "$OIDC_GITLAB_URL/.well-known/openid-configuration" ;;
	oidck8s) echo "$OIDC_K8S_URL/.well-known/openid-configuration" ;;
	fulcio) echo "$FULCIO_URL/api/v2/configuration" ;;
	rekor) echo "$REKOR_URL/healthz" ;;
	rekorread) echo "$REKOR_READ_URL/checkpoint" ;;
	tsa) echo "http://$HOST:$TSA_PORT/ping" ;;
	esac
}

start_service() {
	local name=$1
	running "$name" && { log "$name already running (pid $(<"$(pidfile "$name")"))"; return 0; }
	local -a ARGV
	service_argv "$name"
	# Fulcio leaves its legacy gRPC socket behind when killed, then cannot bind it.
	[[ $name == fulcio ]] && rm -f "$STATE_DIR/fulcio-legacy.sock" && cp -f "$STATE_DIR/fulcio-config.json" "$STATE_DIR/fulcio-config.json.started"
	start_proc "$name" "$(health_url "$name")" 60 "${ARGV[@]}"
}

write_fulcio_config() {
	local f="$STATE_DIR/fulcio-config.json"
	cat >"$f.tmp" <<EOF
{
  "OIDCIssuers": {
    "$OIDC1_URL": {"IssuerURL": "$OIDC1_URL", "ClientID": "sigstore", "Type": "email"},
    "$OIDC2_URL": {"IssuerURL": "$OIDC2_URL", "ClientID": "sigstore", "Type": "email"},
    "$OIDC_GITHUB_URL": {"IssuerURL": "$OIDC_GITHUB_URL", "ClientID": "sigstore", "Type": "github-workflow"},
    "$OIDC_GITLAB_URL": {"IssuerURL": "$OIDC_GITLAB_URL", "ClientID": "sigstore", "Type": "gitlab-pipeline"},
    "$OIDC_K8S_URL": {"IssuerURL": "$OIDC_K8S_URL", "ClientID": "sigstore", "Type": "kubernetes"}
  }
}
EOF
	mv -f "$f.tmp" "$f"
}

write_env() {
	local f="$STATE_DIR/env.sh"
	cat >"$f.tmp" <<EOF
# Written by scripts/stack.sh start; source it to use the local Sigstore stack.
export MLATTEST_STACK_DIR=$STATE_DIR
export MLATTEST_FULCIO_URL=$FULCIO_URL
export MLATTEST_REKOR_URL=$REKOR_URL
export MLATTEST_REKOR_READ_URL=$REKOR_READ_URL
export MLATTEST_TSA_URL=$TSA_URL
export MLATTEST_OIDC_ISSUER=$OIDC1_URL
export MLATTEST_OIDC_ISSUER2=$OIDC2_URL
export MLATTEST_OIDC_ISSUER_GITHUB=$OIDC_GITHUB_URL
export MLATTEST_OIDC_ISSUER_GITLAB=$OIDC_GITLAB_URL
export MLATTEST_OIDC_ISSUER_KUBERNETES=$OIDC_K8S_URL
export MLATTEST_TRUSTED_ROOT=$STATE_DIR/trusted_root.json
export MLATTEST_SIGNING_CONFIG=$STATE_DIR/signing_config.json
export MLATTEST_COSIGN=$COSIGN_BIN
EOF
	mv -f "$f.tmp" "$f"
}

cmd_start() {
	need go curl openssl setsid flock
	cmd_build
	lock_state
	mkdir -p "$STATE_DIR/rekor-log"
	chmod 700 "$STATE_DIR"
	"$KEYGEN_BIN" -dir "$STATE_DIR" -fulcio-url "$FULCIO_URL" -rekor-url "$REKOR_URL" \
		-tsa-url "$TSA_URL" -oidc-url "$OIDC1_URL"
	write_fulcio_config
	# Fulcio reads its config once: one started before the config changed
	# (issuers added) is restarted, so a running stack matches this script.
	if running fulcio && ! cmp -s "$STATE_DIR/fulcio-config.json" "$STATE_DIR/fulcio-config.json.started"; then
		log "Fulcio's issuer config changed since it started: restarting Fulcio"
		stop_proc fulcio
	fi
	# Issuers first: Fulcio reads their discovery documents at start-up.
	local s
	for s in "${SERVICES[@]}"; do
		start_service "$s"
	done
	write_env
	log "stack running; state in $STATE_DIR; env: $STATE_DIR/env.sh"
}

cmd_stop() {
	[[ -d $STATE_DIR ]] || return 0
	lock_state stop
	local s
	for s in "${SERVICES[@]}"; do
		stop_proc "$s"
	done
}

cmd_status() {
	local s rc=0
	for s in "${SERVICES[@]}"; do
		status_line "$s" "$(health_url "$s")" 9 || rc=1
	done
	printf 'state: %s\n' "$STATE_DIR"
	return "$rc"
}

cmd_env() { print_env stack.sh; }

# urlencode S: S percent-encoded for a query (ASCII subjects and ttls).
urlencode() {
	local s=$1 i c out=""
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[a-zA-Z0-9.~_-]) out+=$c ;;
		*) printf -v c '%%%02X' "'$c"; out+=$c ;;
		esac
	done
	printf '%s' "$out"
}

cmd_token() {
	local subject="" issuer=1 ttl="" claims="" url
	while (($#)); do
		case $1 in
		--subject) subject=${2:?--subject needs a value}; shift 2 ;;
		--subject=*) subject=${1#*=}; shift ;;
		--issuer) issuer=${2:?--issuer needs a value}; shift 2 ;;
		--issuer=*) issuer=${1#*=}; shift ;;
		--ttl) ttl=${2:?--ttl needs a value}; shift 2 ;;
		--ttl=*) ttl=${1#*=}; shift ;;
		--claims) claims=${2:?--claims needs a JSON object}; shift 2 ;;
		--claims=*) claims=${1#*=}; shift ;;
		*) die "token: unknown argument '$1'" ;;
		esac
	done
	[[ -n $subject ]] || die "token: --subject SUB is required"
	case $issuer in
	1) url="http://$HOST:$OIDC1_PORT" ;;
	2) url="http://$HOST:$OIDC2_PORT" ;;
	github) url="http://$HOST:$OIDC_GITHUB_PORT" ;;
	gitlab) url="http://$HOST:$OIDC_GITLAB_PORT" ;;
	kubernetes)
		url="http://$HOST:$OIDC_K8S_PORT"
		# A projected service-account token: its kubernetes.io claim names
		# the namespace and account the subject names (Fulcio certifies
		# https://kubernetes.io/namespaces/NS/serviceaccounts/SA from it).
		if [[ -z $claims ]]; then
			[[ $subject =~ ^system:serviceaccount:([a-z0-9.-]+):([a-z0-9.-]+)$ ]] ||
				die "token: --issuer kubernetes needs --subject system:serviceaccount:NAMESPACE:NAME (or --claims)"
			claims="{\"kubernetes.io\": {\"namespace\": \"${BASH_REMATCH[1]}\", \"serviceaccount\": {\"name\": \"${BASH_REMATCH[2]}\"}}}"
		fi
		;;
	*) die "token: --issuer must be 1, 2, github, gitlab or kubernetes" ;;
	esac
	local -a q=(--data-urlencode "sub=$subject")
	[[ -n $ttl ]] && q+=(--data-urlencode "ttl=$ttl")
	# CI claims go in the body (-G would move a body into the query).
	if [[ -n $claims ]]; then
		local query="sub=$(urlencode "$subject")"
		[[ -n $ttl ]] && query+="&ttl=$(urlencode "$ttl")"
		curl -fsS --max-time 10 -X POST -H 'Content-Type: application/json' --data-binary "$claims" "$url/mint?$query"
	else
		curl -fsS --max-time 10 -X POST -G "${q[@]}" "$url/mint"
	fi
	echo
}

main() {
	local cmd=${1:-}
	(($#)) && shift
	case $cmd in
	build) cmd_build ;;
	start) cmd_start ;;
	stop) cmd_stop ;;
	restart) cmd_stop; cmd_start ;;
	status) cmd_status ;;
	env) cmd_env ;;
	token) cmd_token "$@" ;;
	*) usage_from "${BASH_SOURCE[0]}" 2 19 ;;
	esac
}

main "$@"
