#!/usr/bin/env bash
# Writes the key-only (air-gapped) variant of layouts/finetune.yaml: the same
# steps, rules and base-model policy, every functionary a public key instead
# of a keyless identity, so the pipeline signs offline and verify needs no
# Sigstore service and no network.
# Usage: keyonly-layout.sh KEYDIR OUT, where KEYDIR holds pipeline.pub,
# release.pub and owner.pub (mlattest keygen --output-key-prefix KEYDIR/NAME).
set -euo pipefail
keys=$1 out=$2
layout="$(cd "$(dirname "$0")/../.." && pwd)/layouts/finetune.yaml"
key() { # NAME COMMENT
	printf '  # %s\n  %s:\n    key: |\n' "$2" "$1"
	sed 's/^/      /' "$keys/$1.pub"
}
{
	echo "# Key-only variant of layouts/finetune.yaml (written by examples/pipeline/keyonly-layout.sh)."
	sed -n '/^serial:/,/^functionaries:/{/^functionaries:/!p;}' "$layout"
	echo "# Signed offline: a bundle counts on its key's signature, no transparency log."
	echo "requireTransparencyLog: false"
	echo
	echo "functionaries:"
	key pipeline "The key the CI runner signs every stage with."
	key release "Release engineers may also package."
	key owner "The model owner: signs this layout and pins the approved base models."
	echo
	sed -n '/^steps:/,$p' "$layout"
} >"$out"
