# shellcheck shell=bash
# Shared by the scripts that build pinned tools into the binary cache and run
# local services (stack.sh, registry.sh, s3.sh, gcs.sh, tools.sh): one way to build, start,
# stop and report, so every service script behaves alike.
#
# The sourcing script sets:
#   LOG_PREFIX  the name its messages start with
#   BIN_DIR     the binary cache (${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/bin)
#   STATE_DIR   where PID files, logs and the lock live (services only)

log() { printf '%s: %s\n' "$LOG_PREFIX" "$*" >&2; }
die() { printf '%s: error: %s\n' "$LOG_PREFIX" "$*" >&2; exit 1; }

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "'$c' is required but not installed"
	done
}

# src_hash DIR [EXTRA]: 12 hex digits over DIR's Go sources (tests excluded)
# and EXTRA, so a binary built from this repository is rebuilt when they change.
src_hash() {
	{
		(cd "$1" && find . -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) -print0 |
			LC_ALL=C sort -z | xargs -0 sha256sum)
		printf '%s\n' "${2:-}"
	} | sha256sum | cut -c1-12
}

# cache_bin DEST WHAT CMD...: unless DEST exists, run CMD (in a subshell, with
# $tmp a scratch directory where it must leave the binary as $tmp/out) and move
# the result into place, so an interrupted build never leaves a half-written
# binary in the cache. Returns CMD's failure for the caller to handle.
cache_bin() {
	local dest=$1 what=$2 tmp
	shift 2
	[[ -x $dest ]] && return 0
	mkdir -p "$BIN_DIR"
	tmp="$(mktemp -d "$BIN_DIR/.build-XXXXXX")"
	log "building $what"
	if ! (export tmp && "$@"); then
		rm -rf "$tmp"
		return 1
	fi
	mv -f "$tmp/out" "$dest"
	rm -rf "$tmp"
}

# go_install_to PKG@VERSION NAME: for cache_bin; NAME is the binary go install writes.
go_install_to() {
	cd "$tmp" && env GOBIN="$tmp" GOFLAGS=-buildvcs=false GOWORK=off go install "$1" && mv "$tmp/$2" "$tmp/out"
}

# go_build_to MODDIR PKG: for cache_bin; builds PKG of the module in MODDIR.
go_build_to() {
	cd "$1" && env GOFLAGS=-buildvcs=false GOWORK=off go build -o "$tmp/out" "$2"
}

# go_install_bin PKG@VERSION NAME DEST and go_build_bin MODDIR PKG DEST: the
# same, dying with the command that failed.
go_install_bin() {
	cache_bin "$3" "$1 (cold builds take minutes)" go_install_to "$1" "$2" || die "go install $1 failed"
}
go_build_bin() {
	cache_bin "$3" "$2 in $1" go_build_to "$1" "$2" || die "go build $2 (in $1) failed"
}

pidfile() { echo "$STATE_DIR/$1.pid"; }

# running NAME: the PID file names a live process whose command line mentions
# STATE_DIR (guards against a PID recycled after a reboot or crash).
running() {
	local f pid
	f="$(pidfile "$1")"
	[[ -f $f ]] || return 1
	pid="$(<"$f")"
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE_DIR" || return 1
}

# answers URL: an HTTP GET of URL succeeds.
answers() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# healthy CHECK: CHECK is a health URL, or the name of a function that
# succeeds once the service is ready (for readiness one GET cannot show).
healthy() {
	if [[ $1 == http://* || $1 == https://* ]]; then
		answers "$1"
	else
		"$1"
	fi
}

# start_proc NAME CHECK SECONDS ARGV...: start ARGV as service NAME unless it
# runs, logging to STATE_DIR/NAME.log, and wait up to SECONDS for CHECK
# (see healthy) to pass.
start_proc() {
	local name=$1 url=$2 secs=$3 logf="$STATE_DIR/$1.log" pid i
	shift 3
	if running "$name"; then
		log "$name already running (pid $(<"$(pidfile "$name")"))"
		return 0
	fi
	printf '\n=== %s start %s\n' "$(date -u +%FT%TZ)" "$name" >>"$logf"
	# setsid: own session, so the service outlives this shell and a Ctrl-C in it.
	# 9>&-: the service must not inherit (and so hold forever) the state lock.
	setsid "$@" >>"$logf" 2>&1 </dev/null 9>&- &
	pid=$!
	echo "$pid" >"$(pidfile "$name")"
	for ((i = 0; i < secs * 2; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$logf" >&2 || true
			die "$name exited during start-up; log: $logf"
		fi
		if healthy "$url"; then
			log "$name up (pid $pid; $url)"
			return 0
		fi
		sleep 0.5
	done
	tail -n 30 "$logf" >&2 || true
	die "$name did not answer $url within $secs s; log: $logf"
}

# stop_proc NAME: stop the process NAME's PID file names, if it is ours.
stop_proc() {
	local name=$1 pid i
	if ! running "$name"; then
		rm -f "$(pidfile "$name")"
		return 0
	fi
	pid="$(<"$(pidfile "$name")")"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$(pidfile "$name")"
	log "$name stopped"
}

# status_line NAME CHECK WIDTH [SHOWN]: one line of a status table (SHOWN,
# default CHECK, at its end); fails unless up.
status_line() {
	local name=$1 check=$2 w=$3 url=${4:-$2}
	if running "$name" && healthy "$check"; then
		printf "%-${w}s up    pid %-8s %s\n" "$name" "$(<"$(pidfile "$name")")" "$url"
	elif running "$name"; then
		printf "%-${w}s sick  pid %-8s %s\n" "$name" "$(<"$(pidfile "$name")")" "$url"
		return 1
	else
		printf "%-${w}s down\n" "$name"
		return 1
	fi
}

# lock_state [stop]: serialises start and stop. The wait is bounded so a lock
# leaked to some process can never hang a CI run; stop may go on without it
# (killing by PID file is safe to repeat).
lock_state() {
	mkdir -p "$STATE_DIR"
	exec 9>"$STATE_DIR/.lock"
	if [[ ${1:-} == stop ]]; then
		flock -w 20 9 || log "warning: $STATE_DIR/.lock busy; stopping anyway"
		return 0
	fi
	flock -w 120 9 || die "another $LOG_PREFIX script holds $STATE_DIR/.lock for over 120 s (fuser -v $STATE_DIR/.lock shows who)"
}

# start_prelude: what a service script's cmd_start does before it starts its
# process: the tools start_proc needs, the script's own cmd_build, the state
# lock held, the state directory private.
start_prelude() {
	need curl setsid flock
	cmd_build
	lock_state
	chmod 700 "$STATE_DIR"
}

# stop_service NAME: cmd_stop of a service script with one process, NAME.
stop_service() {
	[[ -d $STATE_DIR ]] || return 0
	lock_state stop
	stop_proc "$1"
}

# save_env: standard input becomes STATE_DIR/env.sh, replaced whole so that
# a reader never sees half of it.
save_env() {
	cat >"$STATE_DIR/env.sh.tmp"
	mv -f "$STATE_DIR/env.sh.tmp" "$STATE_DIR/env.sh"
}

# print_env NAME: the env.sh a running service script wrote.
print_env() {
	[[ -f $STATE_DIR/env.sh ]] || die "no $STATE_DIR/env.sh: run 'scripts/$1 start'"
	cat "$STATE_DIR/env.sh"
}

# usage_from FILE FIRST LAST: the header comment lines FIRST..LAST as usage, exit 2.
usage_from() {
	sed -n "$2,$3p" "$1" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
