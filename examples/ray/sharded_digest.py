"""A Ray job running the same commands as examples/kubernetes/digest-job.yaml.

One Ray task per shard runs `mlattest digest --shard i/N --part-out PARTS
LOCATION` (Ray sets no JOB_COMPLETION_INDEX, so the shard is given), then
one task runs `mlattest merge`, prints the manifest and, with --step,
signs it. Every worker node needs mlattest on its PATH (the image the Ray
cluster runs) and storage credentials from its own identity (IRSA or
Workload Identity on the Ray pods' service account); nothing secret is
passed here.

Submit with:
  ray job submit --working-dir examples/ray -- python sharded_digest.py \\
      s3://datasets/mix-2026-11/ s3://scratch/mix-run-7/ 16 \\
      --step digest-mix --sign-out s3://attestations/mix-run-7/ \\
      --run-id mix-run-7 --identity-token-file /var/run/sigstore/token
"""

import argparse
import subprocess
import sys

import ray


@ray.remote(num_cpus=2, max_retries=3)
def digest_shard(index, shards, location, parts):
    # A rerun shard writes the same part, so Ray's retries are safe.
    subprocess.run(
        ["mlattest", "digest", "--shard", f"{index}/{shards}", "--part-out", parts, location],
        check=True,
    )
    return index


@ray.remote(num_cpus=1, max_retries=0)
def merge(parts, step, sign_out, run_id, token_file):
    cmd = ["mlattest", "merge", parts]
    if step:
        cmd = ["mlattest", "merge", "--step", step, "--sign-out", sign_out,
               "--run-id", run_id, "--identity-token-file", token_file, parts]
    # merge exits 2 when a part is missing, duplicated or foreign.
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    sys.stderr.write(done.stderr)
    return done.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("location")
    p.add_argument("parts")
    p.add_argument("shards", type=int)
    p.add_argument("--step", default="")
    p.add_argument("--sign-out", default="")
    p.add_argument("--run-id", default="")
    p.add_argument("--identity-token-file", default="/var/run/sigstore/token")
    a = p.parse_args()
    if a.shards < 1:
        p.error("shards must be at least 1")
    ray.init()
    ray.get([digest_shard.remote(i, a.shards, a.location, a.parts) for i in range(a.shards)])
    manifest = ray.get(merge.remote(a.parts, a.step, a.sign_out, a.run_id, a.identity_token_file))
    sys.stdout.write(manifest)


if __name__ == "__main__":
    main()
