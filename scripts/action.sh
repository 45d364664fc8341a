#!/usr/bin/env bash
# The steps of the composite action in action.yml (repository root):
#   resolve  pick the module version and get its checksum from the Go
#            checksum database (compared with MLATTEST_MODULE_SUM when set)
#   install  build it (unless the cache restored it), then check that the
#            binary's build information names exactly that version and sum
#   run      run `mlattest` with MLATTEST_ARGS, one argument per line
# Inputs come in MLATTEST_* variables (never interpolated into the script);
# outputs go to $GITHUB_OUTPUT, the binary's folder to $GITHUB_PATH.
set -euo pipefail

MODULE=github.com/mlattest/mlattest
CMD=$MODULE/cmd/mlattest

die() { printf '::error title=mlattest action::%s\n' "$*" >&2; exit 1; }
out() { printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:?}"; }

# A module version that cannot move: a semantic version tag or a full commit.
# A branch (main) or a short hash could name other code tomorrow.
immutable() {
	[[ $1 =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ || $1 =~ ^[0-9a-f]{40}$ ]]
}

# gocheck runs go with the checksum database in force: nothing in the
# caller's environment may exempt our module from it.
gocheck() {
	local sumdb=${GOSUMDB:-sum.golang.org}
	[[ $sumdb != off ]] || die "GOSUMDB=off: refusing to install without the Go checksum database"
	env -u GONOSUMDB -u GONOSUMCHECK -u GOPRIVATE -u GOINSECURE -u GOFLAGS GOSUMDB="$sumdb" go "$@"
}

resolve() {
	local want=${MLATTEST_VERSION:-${MLATTEST_ACTION_REF:-}} json version sum
	if [[ -z $want ]]; then
		# uses: ./ (a checkout of this repository): built from those sources.
		out mode local
		out version "(devel)"
		out sum ""
		out key ""
		return 0
	fi
	immutable "$want" || die "refusing mutable version '$want': use a release tag (v1.2.3) or a full 40-hex commit"
	json=$(gocheck mod download -json "$MODULE@$want") || die "go mod download $MODULE@$want failed"
	if grep -q '"Error":' <<<"$json"; then
		die "go mod download $MODULE@$want: $(sed -n 's/.*"Error": "\(.*\)".*/\1/p' <<<"$json")"
	fi
	version=$(sed -n 's/^[[:space:]]*"Version": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	[[ -n $version && $sum == h1:* ]] || die "go mod download $MODULE@$want gave no version or checksum"
	if [[ -n ${MLATTEST_MODULE_SUM:-} && $MLATTEST_MODULE_SUM != "$sum" ]]; then
		die "checksum mismatch for $MODULE@$version: the checksum database says $sum, module-sum says $MLATTEST_MODULE_SUM"
	fi
	echo "mlattest: $MODULE@$version $sum (verified by ${GOSUMDB:-sum.golang.org})"
	out mode module
	out version "$version"
	out sum "$sum"
	out key "mlattest-${RUNNER_OS:-os}-${RUNNER_ARCH:-arch}-$version-$sum"
}

# buildinfo BIN: the binary's main package path and module line, as
# `go version -m` prints them ("path CMD" / "mod MODULE VERSION SUM").
buildinfo() {
	go version -m "$1" | awk -F'\t' '$2 == "path" || $2 == "mod" { print $2, $3, $4, $5 }' | sed 's/ *$//'
}

install() {
	local bin=${MLATTEST_BIN_DIR:?} mode=${MLATTEST_MODE:?} want got
	mkdir -p "$bin"
	case $mode in
	module)
		if [[ -x $bin/mlattest ]]; then
			echo "mlattest: using the cached build of $MLATTEST_VERSION"
		else
			GOBIN=$bin gocheck install "$CMD@${MLATTEST_VERSION:?}" || die "go install $CMD@$MLATTEST_VERSION failed"
		fi
		want=$(printf 'path %s\nmod %s %s %s' "$CMD" "$MODULE" "$MLATTEST_VERSION" "${MLATTEST_MODULE_SUM:?}")
		;;
	local)
		local src=${MLATTEST_ACTION_PATH:?}
		(cd "$src" && gocheck mod verify) || die "go mod verify failed in $src: the module cache does not match go.sum"
		# A checkout's build is "(devel)" whether or not this Go stamps
		# versions from git, so the check below means the same everywhere.
		(cd "$src" && gocheck build -buildvcs=false -o "$bin/mlattest" ./cmd/mlattest) || die "go build ./cmd/mlattest failed in $src"
		want=$(printf 'path %s\nmod %s (devel)' "$CMD" "$MODULE")
		;;
	*) die "unknown install mode '$mode'" ;;
	esac
	got=$(buildinfo "$bin/mlattest")
	if [[ $got != "$want" ]]; then
		rm -f "$bin/mlattest"
		die "the built binary is not the requested module version: its build information says '${got//$'\n'/; }', want '${want//$'\n'/; }'"
	fi
	echo "$bin" >>"${GITHUB_PATH:?}"
	out path "$bin/mlattest"
	"$bin/mlattest" version
}

run() {
	local -a args=()
	local line
	while IFS= read -r line; do
		[[ -n $line ]] && args+=("$line")
	done <<<"${MLATTEST_ARGS:-}"
	((${#args[@]})) || die "args is empty"
	exec mlattest "${args[@]}"
}

case ${1:-} in
resolve) resolve ;;
install) install ;;
run) run ;;
*) die "usage: action.sh resolve|install|run" ;;
esac
