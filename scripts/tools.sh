#!/usr/bin/env bash
# Tools the tests run that are not part of mlattest, built with `go install`
# at pinned versions and cached like the stack's servers (scripts/stack.sh):
#   ${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/bin/<name>-<version>
#
# Usage: scripts/tools.sh build          build every missing tool
#        scripts/tools.sh path NAME      print where NAME is (or will be) cached
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12

BIN_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/bin"

die() { printf 'tools: error: %s\n' "$*" >&2; exit 1; }

# tool NAME: sets PKG (package@version), CMD (the binary go install writes)
# and DEST (the cached binary).
tool() {
	case $1 in
	actionlint)
		PKG=github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION CMD=actionlint
		DEST=$BIN_DIR/actionlint-$ACTIONLINT_VERSION
		;;
	*) die "unknown tool '$1'" ;;
	esac
}

# build NAME: go install into a temp GOBIN, then move into the cache, so an
# interrupted build never leaves a half-written binary behind.
build() {
	local tmp
	tool "$1"
	[[ -x $DEST ]] && return 0
	command -v go >/dev/null 2>&1 || die "'go' is required"
	mkdir -p "$BIN_DIR"
	tmp="$(mktemp -d "$BIN_DIR/.build-XXXXXX")"
	printf 'tools: building %s\n' "$PKG" >&2
	if ! (cd "$tmp" && env GOBIN="$tmp" GOFLAGS=-buildvcs=false GOWORK=off go install "$PKG"); then
		rm -rf "$tmp"
		die "go install $PKG failed"
	fi
	mv -f "$tmp/$CMD" "$DEST"
	rm -rf "$tmp"
}

case ${1:-} in
build) build actionlint ;;
path)
	tool "${2:?usage: scripts/tools.sh path NAME}"
	echo "$DEST"
	;;
*) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
