#!/usr/bin/env bash
# Runs the seven-stage example pipeline, every stage wrapped by `mlattest run`:
#   ingest -> clean -> scan-data -> train -> scan-model -> evaluate -> package
# Usage: pipeline.sh WORKDIR ATTESTATIONS_DIR
# Environment: MLATTEST (the binary), FINETUNE (the example's binary), the
# signing environment (SIGSTORE_ID_TOKEN, MLATTEST_SIGNING_CONFIG, ...) and
# MLATTEST_RUN_ID. Hooks for the demo's attacks, each a shell command run in
# WORKDIR: AFTER_CLEAN (after clean, before scan-data), BEFORE_TRAIN (after
# scan-data, before train), AFTER_TRAIN (after
# train, before scan-model); TRAIN_TOKEN is a token for the train stage only;
# TRAIN_NETWORK is the train stage's --network (default none: no network; set
# it empty to train unisolated, which the layout refuses).
# With LAYOUT (and LAYOUT_IDENTITY, LAYOUT_ISSUER or LAYOUT_KEY, and PIN), the
# train stage checks the base model against the pins the signed layout
# accepts before it runs. With SIGN_KEY, every stage signs offline with that
# key instead of keylessly (the air-gapped variant: no network).
set -euo pipefail
work=$1 att=$2
: "${MLATTEST:?}" "${FINETUNE:?}"
mkdir -p "$work" && cd "$work"

# Inputs from outside the pipeline: a base model "downloaded" from a hub
# and the training config.
"$FINETUNE" init-base --out base/model.safetensors >/dev/null
printf '{"epochs": 3, "learning_rate": 0.1, "seed": 7}\n' > train.json

stage() { # NAME MLATTEST-FLAGS... -- COMMAND...
	local name=$1
	shift
	echo "-- stage $name"
	"$MLATTEST" run --step "$name" --out "$att" ${sign[@]+"${sign[@]}"} "$@"
}
sign=()
if [ -n "${SIGN_KEY:-}" ]; then sign=(--key "$SIGN_KEY" --offline); fi

stage ingest --products raw.jsonl -- "$FINETUNE" ingest --out raw.jsonl
stage clean --materials raw.jsonl --products clean.jsonl -- "$FINETUNE" clean --in raw.jsonl --out clean.jsonl
if [ -n "${AFTER_CLEAN:-}" ]; then eval "$AFTER_CLEAN"; fi
# scan-data also runs `mlattest scan data`, whose dataset-scan statement is
# handed to the stage and signed with its link; a poisoned dataset fails it.
stage scan-data --materials clean.jsonl --products data-scan.json -- \
	sh -c '"$0" scan-data --data clean.jsonl --out data-scan.json && "$1" scan data clean.jsonl' "$FINETUNE" "$MLATTEST"
if [ -n "${BEFORE_TRAIN:-}" ]; then eval "$BEFORE_TRAIN"; fi
# The base model, named by a (made-up) full Hugging Face commit.
base_model=${BASE_MODEL:-hf://mlattest-demo/tiny-base@5d3c8a1e0f9b7c2d4e6f8a0b1c3d5e7f9a1b3c5d}
pins=()
if [ -n "${LAYOUT:-}" ]; then
	if [ -n "${LAYOUT_KEY:-}" ]; then
		pins=(--layout "$LAYOUT" --layout-key "$LAYOUT_KEY")
	else
		pins=(--layout "$LAYOUT" --layout-identity "${LAYOUT_IDENTITY:?}" --layout-oidc-issuer "${LAYOUT_ISSUER:?}")
	fi
	if [ -n "${PIN:-}" ]; then pins+=(--pin "$PIN"); fi
fi
SIGSTORE_ID_TOKEN=${TRAIN_TOKEN:-${SIGSTORE_ID_TOKEN:-}} stage train \
	--materials clean.jsonl,train.json --products model \
	--base-model "$base_model=base" ${pins[@]+"${pins[@]}"} \
	--dataset file://clean.jsonl=clean.jsonl,collected=2026-11-01,source=synthetic \
	--config train.json --network "${TRAIN_NETWORK-none}" \
	-- "$FINETUNE" train --data clean.jsonl --base base/model.safetensors --config train.json --out model/model.safetensors
if [ -n "${AFTER_TRAIN:-}" ]; then eval "$AFTER_TRAIN"; fi
# scan-model also runs `mlattest scan model`, whose model-scan statement is
# handed to the stage and signed with its link.
stage scan-model --materials model --products model-scan.json -- \
	sh -c '"$0" scan-model --model model/model.safetensors --out model-scan.json && "$1" scan model model' "$FINETUNE" "$MLATTEST"
stage evaluate --materials model,clean.jsonl --products eval.json -- "$FINETUNE" evaluate --model model/model.safetensors --data clean.jsonl --out eval.json
stage package --materials model,eval.json --products release -- "$FINETUNE" package --model model/model.safetensors --eval eval.json --out release
