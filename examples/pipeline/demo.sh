#!/usr/bin/env bash
# The demo behind `make demo`: a two-stage fine-tuning pipeline (clean, train)
# wrapped by `mlattest run`, signed keylessly against the private Sigstore
# stack, then every bundle verified, then a tampered model rejected.
# Expects bin/mlattest and the stack's environment (make demo provides both).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
mlattest="$root/bin/mlattest"
work="$root/.demo"
: "${MLATTEST_SIGNING_CONFIG:?run through make demo (it starts the stack)}"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

rm -rf "$work" && mkdir -p "$work/pipeline"
go build -o "$work/finetune" "$root/examples/pipeline/finetune"
cd "$work/pipeline"

identity="ml-pipeline@example.com"
export SIGSTORE_ID_TOKEN="$("$root/scripts/stack.sh" token --subject "$identity")"
export MLATTEST_RUN_ID="demo-$(date +%s)"

say "prepare inputs (outside the attested pipeline): raw data and a base model"
"$work/finetune" ingest --out raw.jsonl
"$work/finetune" init-base --out base/model.safetensors
printf '{"epochs": 3, "learning_rate": 0.1, "seed": 7}\n' > train.json

say "stage 1: clean (mlattest run --step clean)"
"$mlattest" run --step clean --out ../attestations \
	--materials raw.jsonl --products clean.jsonl \
	-- "$work/finetune" clean --in raw.jsonl --out clean.jsonl

say "stage 2: train (mlattest run --step train, with ML provenance)"
"$mlattest" run --step train --out ../attestations \
	--materials clean.jsonl,train.json --products model \
	--base-model hf://mlattest-demo/tiny-base@v1=base \
	--dataset file://clean.jsonl=clean.jsonl,collected=2026-11-01,source=synthetic \
	--config train.json --isolation none \
	-- "$work/finetune" train --data clean.jsonl --base base/model.safetensors --config train.json --out model/model.safetensors

say "attestations written"
ls -l ../attestations

verify() { # bundle artifact
	"$mlattest" verify-bundle --bundle "$1" --artifact "$2" \
		--certificate-identity "$identity" --certificate-oidc-issuer "$MLATTEST_OIDC_ISSUER" \
		--trusted-root "$MLATTEST_TRUSTED_ROOT"
}

say "verify every bundle against the private trusted root"
verify ../attestations/clean.link.sigstore.json clean.jsonl
verify ../attestations/train.link.sigstore.json model/model.safetensors
verify ../attestations/train.provenance.sigstore.json model/model.safetensors

say "attack: the model file is swapped after training; verification must reject it"
cp model/model.safetensors ../tampered.safetensors
printf '\x01' | dd of=../tampered.safetensors bs=1 seek=100 conv=notrunc status=none
if verify ../attestations/train.provenance.sigstore.json ../tampered.safetensors; then
	echo "DEMO FAILED: a tampered model verified" >&2
	exit 1
fi
echo "rejected, as it must be."

say "attack: right bundle, wrong signer identity expected"
if "$mlattest" verify-bundle --bundle ../attestations/train.provenance.sigstore.json \
	--artifact model/model.safetensors --certificate-identity attacker@example.com \
	--certificate-oidc-issuer "$MLATTEST_OIDC_ISSUER" --trusted-root "$MLATTEST_TRUSTED_ROOT"; then
	echo "DEMO FAILED: a wrong identity verified" >&2
	exit 1
fi
echo "rejected, as it must be."
say "demo passed"
