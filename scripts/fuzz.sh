#!/usr/bin/env bash
# Runs every fuzz target in the module briefly (go test -fuzz takes one
# target per invocation). FUZZTIME sets the time per target (default 5s).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
count=0
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $target ($fuzztime)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=2s "$pkg" >/tmp/mlattest-fuzz.log 2>&1 || {
			cat /tmp/mlattest-fuzz.log
			echo "fuzz: $target FAILED (the crasher is saved under the package's testdata/fuzz/$target)" >&2
			exit 1
		}
		count=$((count + 1))
	done
done
echo "fuzz: $count targets passed"
