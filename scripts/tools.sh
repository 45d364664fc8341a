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

LOG_PREFIX=tools
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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

build() {
	tool "$1"
	need go
	go_install_bin "$PKG" "$CMD" "$DEST"
}

case ${1:-} in
build) build actionlint ;;
path)
	tool "${2:?usage: scripts/tools.sh path NAME}"
	echo "$DEST"
	;;
*) usage_from "${BASH_SOURCE[0]}" 2 7 ;;
esac
