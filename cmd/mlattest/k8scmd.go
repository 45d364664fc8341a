package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/k8sjob"
	"github.com/mlattest/mlattest/store"
)

// newK8sCmd groups the Kubernetes renderers.
func newK8sCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "k8s",
		Short: "Render Kubernetes objects that run mlattest at scale",
	}
	job := &cobra.Command{
		Use:   "job",
		Short: "Render an Indexed Job that shards a digest or dataset scan, and its merge Job",
	}
	job.AddCommand(newK8sJobCmd(k8sjob.Digest), newK8sJobCmd(k8sjob.ScanData))
	c.AddCommand(job)
	return c
}

// k8sJobFlags are the flags of `mlattest k8s job KIND`.
type k8sJobFlags struct {
	parts, image, name, namespace, binary string
	shards, backoff                       int
	awsRole, gcpSA, serviceAccount        string
	env                                   []string
	step, signOut, runID, sigstoreCM      string
	cpu, memory                           string
	dataVolume                            string
	out                                   string
}

func newK8sJobCmd(kind k8sjob.Kind) *cobra.Command {
	var f k8sJobFlags
	worker := "mlattest digest --part-out PARTS LOCATION"
	what := "the SHA-256 manifest of every object below LOCATION"
	operands := "LOCATION"
	intro := `Print, as one multi-document YAML stream for kubectl, the Kubernetes
objects that compute the SHA-256 manifest of every object below LOCATION
(s3://BUCKET/PREFIX or gs://BUCKET/PREFIX) on --shards pods, and merge their
parts into exactly what one "mlattest digest LOCATION" prints:`
	if kind == k8sjob.ScanData {
		worker = "mlattest scan data --part-out PARTS FILE..."
		what = "the dataset scan of FILE..."
		operands = "FILE..."
		intro = `Print, as one multi-document YAML stream for kubectl, the Kubernetes
objects that compute the dataset scan of FILE... on --shards pods (each file
cut into N byte ranges), and merge their parts into exactly what one
"mlattest scan data FILE..." prints. A FILE is an absolute path below the
--data-volume mount (a PersistentVolumeClaim every pod, merge included,
mounts read-only at the same path), or a location s3://BUCKET/PREFIX or
gs://BUCKET/PREFIX whose objects are the datasets, read by ranged GETs
with the pods' workload identity (no volume needed).`
	}
	cmd := &cobra.Command{
		Use:   string(kind) + " " + operands + " --parts PREFIX --shards N --image REF@sha256:HEX (--aws-role ARN | --gcp-service-account EMAIL | --service-account NAME) [flags] [-- WORKER FLAGS...]",
		Short: "Render the Jobs that compute " + what + " on N pods",
		Long: intro + `

  ServiceAccount NAME          the pods' workload identity for storage:
                               --aws-role annotates it for IRSA
                               (eks.amazonaws.com/role-arn), --gcp-service-account
                               for GKE Workload Identity (iam.gke.io/gcp-service-account);
                               --service-account uses an existing one instead
  Job NAME-workers             an Indexed Job: completions = parallelism = N,
                               backoffLimitPerIndex; pod i runs
                                 ` + worker + `
                               with JOB_COMPLETION_INDEX (set by Kubernetes)
                               and JOB_COMPLETIONS=N saying which shard
  Job NAME-merge               one pod running "mlattest merge PARTS"; with
                               --step and --sign-out it also signs the merged
                               manifest keylessly (digest only); exit 1 or 2
                               fails the Job at once (podFailurePolicy)

Keyless signing in the merge pod: its service-account token is projected with
the audience "sigstore" at ` + k8sjob.TokenFile + ` and passed as
--identity-token-file, so the Fulcio certificate names
https://kubernetes.io/namespaces/NAMESPACE/serviceaccounts/NAME, issued by the
cluster's service-account issuer. Fulcio must trust that issuer (a private
instance lists it; give its signing config and trusted root in a ConfigMap
with --sigstore-configmap).

The image must be pinned by digest (a tag is refused), PARTS (s3:// or
gs://) must lie outside what is digested, and credentials never go into the
manifest (--env refuses names that look like secrets). Flags after -- are added to every worker's command line;
they are checked against the worker command's own flags.

Apply the workers first and the merge once they have completed:
  kubectl apply -f job.yaml -l app.kubernetes.io/component!=merge
  kubectl wait --for=condition=complete --timeout=24h job/NAME-workers
  kubectl apply -f job.yaml -l app.kubernetes.io/component=merge

Exit status: 0 when the objects were printed (or written to --out); 2 for a
usage error (nothing is written then).`,
		Example: `  # Digest a 3 TB prefix on 16 pods on EKS, then merge and sign keylessly
  mlattest k8s job digest s3://datasets/mix-2026-11/ --parts s3://scratch/mix-run-7/ \
    --shards 16 --image registry.example/mlattest@sha256:<64 hex> \
    --aws-role arn:aws:iam::123456789012:role/mlattest-digest --name mix-digest \
    --step digest-mix --sign-out s3://attestations/mix-run-7/ --run-id "$MLATTEST_RUN_ID" \
    --out mix-digest.yaml

  # Scan two datasets on a shared volume on GKE with Workload Identity,
  # extra scan flags after --
  mlattest k8s job scan-data /data/sft/train.jsonl /data/sft/extra.jsonl \
    --data-volume sft-datasets:/data --parts gs://scratch/sft-scan/ --shards 4 \
    --image registry.example/mlattest@sha256:<64 hex> \
    --gcp-service-account scanner@my-project.iam.gserviceaccount.com -- --min-support 3

  # An S3-compatible store reached with an existing service account
  mlattest k8s job digest s3://models/llama/ --parts s3://scratch/llama/ --shards 2 \
    --image registry.example/mlattest@sha256:<64 hex> --service-account storage-reader \
    --env AWS_ENDPOINT_URL_S3=http://minio.storage:9000 --env AWS_REGION=us-east-1`,
		Args: func(cmd *cobra.Command, args []string) error {
			n := cmd.ArgsLenAtDash()
			if n < 0 {
				n = len(args)
			}
			switch {
			case n == 0 && kind == k8sjob.ScanData:
				return usage(errors.New("give the dataset FILEs to scan, e.g. /data/sft/train.jsonl"))
			case n == 0:
				return usage(errors.New("give the LOCATION to digest, e.g. s3://datasets/mix/"))
			case n > 1 && kind == k8sjob.Digest:
				return usage(fmt.Errorf("one LOCATION only (got %q); put worker flags after --", args[1]))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			inputs, workerArgs := args, []string(nil)
			if n := cmd.ArgsLenAtDash(); n >= 0 {
				inputs, workerArgs = args[:n], args[n:]
			}
			return renderK8sJob(cmd, kind, inputs, workerArgs, &f)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringVar(&f.parts, "parts", "", "s3:// or gs://BUCKET/PREFIX the workers write their parts to and merge reads (required; outside LOCATION)")
	fs.IntVar(&f.shards, "shards", 0, "number of worker pods N, at least 1 (required)")
	fs.StringVar(&f.image, "image", "", "container image holding mlattest, pinned by digest: REF@sha256:HEX (required)")
	fs.StringVar(&f.awsRole, "aws-role", "", "IAM role `ARN` for IRSA: annotates the rendered service account (eks.amazonaws.com/role-arn)")
	fs.StringVar(&f.gcpSA, "gcp-service-account", "", "Google service account `EMAIL` for GKE Workload Identity (iam.gke.io/gcp-service-account)")
	fs.StringVar(&f.serviceAccount, "service-account", "", "run as this existing Kubernetes service account `NAME` (none is rendered)")
	fs.StringVar(&f.name, "name", "", "name of the objects: NAME, NAME-workers, NAME-merge (default mlattest-"+string(kind)+")")
	fs.StringVar(&f.namespace, "namespace", "", "namespace of the objects (default: kubectl's current one)")
	fs.StringArrayVar(&f.env, "env", nil, "`NAME=VALUE` set in every pod, e.g. AWS_REGION=eu-west-1 (repeatable; no credentials)")
	fs.IntVar(&f.backoff, "backoff-limit-per-index", 3, "retries of one shard's pod before the shard (and the Job) fails")
	if kind == k8sjob.ScanData {
		fs.StringVar(&f.dataVolume, "data-volume", "", "`CLAIM:MOUNT`: the PersistentVolumeClaim holding the datasets, mounted read-only at MOUNT in every pod (required for FILEs that are paths)")
	}
	fs.StringVar(&f.cpu, "cpu", "", "CPU each worker requests and is limited to, e.g. 4")
	fs.StringVar(&f.memory, "memory", "", "memory each worker requests and is limited to, e.g. 8Gi")
	fs.StringVar(&f.step, "step", "", "with --sign-out: the merge signs the merged manifest as this step's link statement (digest only)")
	fs.StringVar(&f.signOut, "sign-out", "", "where the merge pod writes the bundle: s3://BUCKET/PREFIX, or an absolute directory in the pod")
	fs.StringVar(&f.runID, "run-id", "", "run id the merge step's statement is bound to (default: the merge pod's $MLATTEST_RUN_ID, else a new one)")
	fs.StringVar(&f.sigstoreCM, "sigstore-configmap", "", "ConfigMap `NAME` holding signing_config.json and trusted_root.json of a private Sigstore instance (default: public-good)")
	fs.StringVar(&f.binary, "binary", "mlattest", "the mlattest executable in the image (name on its PATH, or absolute path)")
	fs.StringVar(&f.out, "out", "", "write the YAML to `FILE` (atomically) instead of stdout")
	return cmd
}

func renderK8sJob(cmd *cobra.Command, kind k8sjob.Kind, inputs, workerArgs []string, f *k8sJobFlags) error {
	if f.parts == "" {
		return usage(errors.New("--parts is required: the s3:// or gs://BUCKET/PREFIX the workers write their parts to"))
	}
	if !cmd.Flags().Changed("shards") {
		return usage(errors.New("--shards is required: the number of worker pods"))
	}
	if err := checkWorkerArgs(kind, workerArgs); err != nil {
		return usage(err)
	}
	if err := checkOutFile("--out", f.out); err != nil {
		return withCode(exitUsage, err)
	}
	opts := []k8sjob.Option{
		k8sjob.WithImage(f.image),
		k8sjob.WithShards(f.shards),
		k8sjob.WithBackoffLimitPerIndex(f.backoff),
		k8sjob.WithNamespace(f.namespace),
		k8sjob.WithBinary(f.binary),
		k8sjob.WithAWSRole(f.awsRole),
		k8sjob.WithGCPServiceAccount(f.gcpSA),
		k8sjob.WithServiceAccount(f.serviceAccount),
		k8sjob.WithSigning(f.step, f.signOut),
		k8sjob.WithRunID(f.runID),
		k8sjob.WithSigstoreConfigMap(f.sigstoreCM),
		k8sjob.WithWorkerArgs(workerArgs...),
	}
	if f.name != "" {
		opts = append(opts, k8sjob.WithName(f.name))
	}
	if kind == k8sjob.ScanData && (f.dataVolume != "" || slices.ContainsFunc(inputs, func(in string) bool { return !store.IsURL(in) })) {
		claim, mount, ok := strings.Cut(f.dataVolume, ":")
		if !ok || claim == "" {
			return usage(errors.New("--data-volume CLAIM:MOUNT is required for dataset paths: the PersistentVolumeClaim holding the datasets and where the pods mount it"))
		}
		opts = append(opts, k8sjob.WithDataVolume(claim, mount))
	}
	for _, e := range f.env {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			return usage(fmt.Errorf("--env %q: want NAME=VALUE", e))
		}
		opts = append(opts, k8sjob.WithEnv(k, v))
	}
	if f.cpu != "" || f.memory != "" {
		r, err := resources(f.cpu, f.memory)
		if err != nil {
			return usage(err)
		}
		opts = append(opts, k8sjob.WithResources(r))
	}
	set, err := k8sjob.New(kind, inputs, f.parts, opts...)
	if err != nil {
		return usage(k8sFlagHint(err))
	}
	y, err := set.YAML()
	if err != nil {
		return withCode(exitUsage, err)
	}
	if f.out == "" {
		_, err := cmd.OutOrStdout().Write(y)
		return err
	}
	if err := fsutil.WriteFileAtomic(f.out, y, 0o644); err != nil {
		return withCode(exitUsage, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "mlattest: wrote %s (%d objects)\n", f.out, len(set.Objects()))
	return nil
}

// k8sFlagHint names the flags that answer a refusal the library reports by
// sentinel.
func k8sFlagHint(err error) error {
	switch {
	case errors.Is(err, k8sjob.ErrNoIdentity):
		return fmt.Errorf("%w: give --aws-role, --gcp-service-account or --service-account", err)
	case errors.Is(err, k8sjob.ErrMutableImage):
		return fmt.Errorf("%w (give --image REF@sha256:HEX)", err)
	}
	return err
}

// checkWorkerArgs parses the flags given after -- with the worker
// command's own flag set, so that a typo fails here and not in N pods.
func checkWorkerArgs(kind k8sjob.Kind, args []string) error {
	if len(args) == 0 {
		return nil
	}
	var c *cobra.Command
	switch kind {
	case k8sjob.ScanData:
		c = newScanDataCmd()
	default:
		c = newDigestCmd()
	}
	fs := c.Flags()
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("worker flags after --: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("worker flags after --: %q is not a flag (LOCATION goes before --)", fs.Arg(0))
	}
	for _, own := range []string{"shard", "part-out", "json", "out", "report"} {
		if fs.Changed(own) {
			return fmt.Errorf("worker flags after --: --%s is set by the job itself or has no use in a worker", own)
		}
	}
	return nil
}

// resources is a worker's requests and limits: the same, so a shard's pod
// is scheduled where it can run at the speed the shard size assumed.
func resources(cpu, memory string) (corev1.ResourceRequirements, error) {
	rl := corev1.ResourceList{}
	for _, q := range []struct {
		flag, v string
		name    corev1.ResourceName
	}{{"--cpu", cpu, corev1.ResourceCPU}, {"--memory", memory, corev1.ResourceMemory}} {
		if q.v == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.v)
		if err != nil || v.Sign() <= 0 {
			return corev1.ResourceRequirements{}, fmt.Errorf("%s %q: want a positive Kubernetes quantity such as 4, 500m or 8Gi", q.flag, q.v)
		}
		rl[q.name] = v
	}
	return corev1.ResourceRequirements{Requests: rl, Limits: rl.DeepCopy()}, nil
}
