#!/usr/bin/env bash
# scripts/bench.sh — what `make bench` runs: the hashing benchmark program
# (bench/, ratios to baselines measured in the same run), the verify
# benchmarks, verify's peak memory on hostile bundles, and the model- and
# dataset-scan benchmarks. Not part of `make
# test`: it writes ~9 GiB of temp data (removed
# afterwards) and takes a few minutes.
#
# in-toto-golang v0.11.0 is a baseline; it is installed once with go install
# into ${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/bin, as scripts/stack.sh caches
# its tools. Cold-cache runs are added when the page cache can be dropped
# (root). Set BENCH_FLAGS to pass more flags to the program (e.g. -runs 5).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
GO=${GO:-go}
BIN_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/bin"
INTOTO_VERSION=v0.11.0
INTOTO="$BIN_DIR/in-toto-golang-$INTOTO_VERSION"
mkdir -p "$BIN_DIR" bin

if [[ ! -x $INTOTO ]]; then
	tmp="$(mktemp -d "$BIN_DIR/.build-XXXXXX")"
	echo "bench: building in-toto-golang $INTOTO_VERSION (baseline)" >&2
	if (cd "$tmp" && env GOBIN="$tmp" GOFLAGS=-buildvcs=false GOWORK=off "$GO" install "github.com/in-toto/in-toto-golang@$INTOTO_VERSION"); then
		mv -f "$tmp/in-toto-golang" "$INTOTO"
	else
		echo "bench: could not install in-toto-golang; its comparison is skipped" >&2
	fi
	rm -rf "$tmp"
fi

"$GO" build -o bin/mlattest ./cmd/mlattest
"$GO" build -o bin/bench ./bench
cold=()
if [[ -w /proc/sys/vm/drop_caches ]]; then
	cold=(-cold)
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), sha_ni: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no), load $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
bin/bench -mlattest bin/mlattest -in-toto "$INTOTO" "${cold[@]}" ${BENCH_FLAGS:-}

echo
echo "verify: layout evaluation with 10,000 artifacts per step; the seven-stage run (bundles + evaluation)"
"$GO" test -run='^$' -bench='BenchmarkEvaluate10k|BenchmarkVerifyLayout' -benchtime=5x ./gate/

echo
echo "scan model: 2 GiB safetensors --no-digest (bytes read, % of hashing it); 1 GiB PyTorch zip against cat in the same run"
"$GO" test -run='^$' -bench='BenchmarkSafetensors2GiB|BenchmarkPyTorchZip1GiB' -benchtime=3x ./scan/model/

echo
echo "scan data: the full detector set against read + JSON-decode of the same file, in one run (%-of-decode)"
"$GO" test -run='^$' -bench='BenchmarkScanVsDecode' -benchtime=5x ./scan/data/

echo
echo "verify memory: peak RSS over 16 hostile bundles of 60 MB and of just under the bundle limit (target < 300 MiB)"
MLATTEST_MEMTEST=1 "$GO" test -count=1 -run='^TestVerifyMemoryHostileBundles$' -v ./cmd/mlattest/ | grep -E '^acceptance:|^(--- )?(FAIL|ok)'
