#!/usr/bin/env bash
# Pull throughput of `mlattest pull` (verify, then download with hashing)
# against crane pull (go-containerregistry, also hashing) and a plain blob
# download with curl (no hashing), from the local distribution registry, in
# the same run. Usage: scripts/pullbench.sh [FILES] [MIB_PER_FILE]
# (the issue's benchmark: 8 256 = 2 GiB). Needs scripts/registry.sh start.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
files=${1:-8} mib=${2:-256}
eval "$("$root/scripts/registry.sh" env)"
crane="$("$root/scripts/registry.sh" crane)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
mlattest="$work/mlattest"
(cd "$root" && go build -o "$mlattest" ./cmd/mlattest)

"$mlattest" keygen --no-passphrase --output-key-prefix owner >/dev/null 2>&1
"$mlattest" keygen --no-passphrase --output-key-prefix ci >/dev/null 2>&1
{
	printf 'serial: 1\nexpires: "2099-01-01T00:00:00Z"\nfunctionaries:\n  ci:\n    key: |\n'
	sed 's/^/      /' ci.pub
	printf 'steps:\n  - name: package\n    functionaries: [ci]\n    expectedProducts: [CREATE release/*, DISALLOW *]\n'
	printf 'subject:\n  step: package\n  patterns: ["release/*"]\n'
} >layout.yaml
"$mlattest" layout sign layout.yaml --key owner.key --offline >/dev/null 2>&1
"$mlattest" run --step package --run-id bench --key ci.key --offline --out att --products release -- \
	sh -c "mkdir -p release && for i in \$(seq 1 $files); do head -c ${mib}M /dev/urandom > release/w\$i.safetensors; done" >/dev/null 2>"$work/err" ||
	{ cat "$work/err" >&2; exit 1; }
ref="oci://$MLATTEST_REGISTRY/bench/pull-$$:v1"
"$mlattest" push release "$ref" --attestations att >/dev/null
total=$((files * mib))

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
rate() { echo "scale=1; $total / $1" | bc; }
sync
t_ml=$(secs "$mlattest" pull "$ref" "$work/ml" --layout layout.yaml --layout-key owner.pub)
[[ -f $work/ml/w1.safetensors ]] || { echo "pullbench: mlattest pull failed" >&2; exit 1; }
t_crane=$(secs "$crane" pull --format oci "${ref#oci://}" "$work/crane")
urls=()
for f in release/*; do
	urls+=("http://$MLATTEST_REGISTRY/v2/bench/pull-$$/blobs/sha256:$(sha256sum "$f" | cut -c1-64)")
done
t_curl=$(secs sh -c 'for u; do curl -fsS -o /dev/null "$u"; done' sh "${urls[@]}")
rss=""
if [[ -x /usr/bin/time ]]; then
	/usr/bin/time -f %M -o "$work/rss" "$mlattest" pull "$ref" "$work/ml2" --layout layout.yaml --layout-key owner.pub >/dev/null 2>&1 &&
		rss=" (max RSS $(($(<"$work/rss") / 1024)) MiB)"
fi
printf 'pull of %d x %d MiB = %d MiB from distribution on 127.0.0.1 (%d cores):\n' "$files" "$mib" "$total" "$(nproc)"
printf '  mlattest pull (verify + download + hash)  %6.2f s  %7s MiB/s%s\n' "$t_ml" "$(rate "$t_ml")" "$rss"
printf '  crane pull --format oci (download + hash) %6.2f s  %7s MiB/s\n' "$t_crane" "$(rate "$t_crane")"
printf '  curl, plain blob download (no hash)       %6.2f s  %7s MiB/s\n' "$t_curl" "$(rate "$t_curl")"
printf '  ratio mlattest / crane: %s\n' "$(echo "scale=2; $t_crane / $t_ml" | bc)"
