#!/usr/bin/env bash
# Renders the example manifests of this directory with mlattest k8s job.
# Usage: render.sh [OUTDIR]   (default: this directory)
# Replace the image digest, bucket names, role and service account with
# yours; tests check that this script reproduces the committed files.
set -euo pipefail
out=${1:-$(dirname "$0")}
image=registry.example/ml/mlattest@sha256:4f2a9c1e8b7d6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa998877

# EKS: digest a 3 TB prefix on 16 pods (IRSA), merge, sign keylessly with
# the merge pod's service-account token (private Sigstore instance).
mlattest k8s job digest s3://datasets/mix-2026-11/ \
  --parts s3://scratch/mix-run-7/ --shards 16 --image "$image" \
  --aws-role arn:aws:iam::123456789012:role/mlattest-digest \
  --name mix-digest --namespace ml --env AWS_REGION=eu-west-1 --cpu 4 --memory 8Gi \
  --step digest-mix --sign-out s3://attestations/mix-run-7/ --run-id mix-run-7 \
  --sigstore-configmap sigstore-private \
  --out "$out/digest-job.yaml"

# GKE: scan two datasets on a shared volume on 4 pods (Workload Identity).
mlattest k8s job scan-data /datasets/sft/train.jsonl /datasets/sft/extra.jsonl \
  --data-volume sft-datasets:/datasets --parts gs://scratch/sft-scan-7/ --shards 4 \
  --image "$image" --gcp-service-account scanner@my-project.iam.gserviceaccount.com \
  --name sft-scan --namespace ml --cpu 2 --memory 4Gi \
  --out "$out/scan-data-job.yaml" -- --min-support 5
