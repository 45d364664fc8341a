// Package k8sjob renders the Kubernetes objects that run a sharded mlattest
// digest or dataset scan of an object-storage prefix: an Indexed Job whose N
// pods each compute one shard and write its part ("mlattest digest
// --part-out", "mlattest scan data --part-out"; the shard comes from the
// JOB_COMPLETION_INDEX the Job controller sets and the JOB_COMPLETIONS the
// Job's pod template sets), a merge Job that runs "mlattest merge" over the
// parts and, when asked, signs the merged manifest keylessly with the pod's
// projected service-account token, and the ServiceAccount that carries the
// workload identity (IRSA or GKE Workload Identity) both use for storage.
//
// The objects are typed with k8s.io/api, so what is rendered is what the API
// server decodes; Set.YAML writes them as one multi-document stream.
package k8sjob

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/mlattest/mlattest/attest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/store"
)

// Kind is what the workers compute.
type Kind string

const (
	// Digest: "mlattest digest" of every object below one storage
	// location (s3:// or gs://).
	Digest Kind = "digest"
	// ScanData: "mlattest scan data" of dataset files the pods read from
	// a volume (WithDataVolume) or of the objects of bucket locations,
	// each cut into N byte ranges.
	ScanData Kind = "scan-data"
)

// Kinds lists the kinds New renders.
var Kinds = []Kind{Digest, ScanData}

// Where the merge pod finds its Sigstore material.
const (
	// TokenAudience is the audience of the projected service-account token
	// the merge pod signs with: the one Fulcio expects ("sigstore").
	TokenAudience = "sigstore"
	// TokenFile is where the merge pod's token is mounted; it is passed
	// to "mlattest merge --identity-token-file", which rereads it when
	// signing (the kubelet refreshes it before it expires).
	TokenFile = tokenDir + "/token"
	// SigstoreDir is where WithSigstoreConfigMap's ConfigMap is mounted:
	// signing_config.json and trusted_root.json for a private instance.
	SigstoreDir = "/etc/mlattest/sigstore"

	tokenDir = "/var/run/sigstore"
	// tokenSeconds is the token's lifetime, the shortest the API server
	// accepts: merge runs for minutes and rereads the file when it signs.
	tokenSeconds = 600
)

// Labels that tell the rendered objects apart, for
// "kubectl apply -l app.kubernetes.io/component=workers".
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
)

// Errors New returns; each wraps ErrInvalid and is wrapped with the value
// that failed.
var (
	ErrInvalid = errors.New("invalid job")
	// ErrNoIdentity: no workload identity for storage was chosen.
	ErrNoIdentity = fmt.Errorf("%w: no workload identity (an AWS IAM role, a GCP service account or an existing Kubernetes service account)", ErrInvalid)
	// ErrMutableImage: the image is not pinned by digest.
	ErrMutableImage = fmt.Errorf("%w: image not pinned by digest", ErrInvalid)
)

// Set is what New renders: apply ServiceAccount and Workers, wait for the
// workers to complete, then apply Merge.
type Set struct {
	// ServiceAccount carries the workload identity; nil when
	// WithServiceAccount names an existing one.
	ServiceAccount *corev1.ServiceAccount
	// Workers is the Indexed Job: one pod per shard.
	Workers *batchv1.Job
	// Merge is the one-pod Job that merges the parts (and signs).
	Merge *batchv1.Job
}

// Option configures New.
type Option func(*config) error

type config struct {
	name, namespace string
	image           string
	binary          string
	shards          int
	backoffPerIndex int
	roleARN         string
	gcpSA           string
	existingSA      string
	env             []corev1.EnvVar
	workerArgs      []string
	runID           string
	signStep        string
	signOut         string
	sigstoreCM      string
	resources       corev1.ResourceRequirements
	dataClaim       string
	dataMount       string
}

var (
	roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`)
	gcpSARE   = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// Variable names that carry credentials: never put into a manifest
	// (the pods get credentials from the workload identity).
	secretEnvRE = regexp.MustCompile(`(?i)(SECRET|PASSWORD|PASSPHRASE|TOKEN|CREDENTIAL|ACCESS_KEY|PRIVATE)`)
)

// WithName names the objects: NAME (the service account), NAME-workers and
// NAME-merge. Default "mlattest-" followed by the kind.
func WithName(name string) Option {
	return func(c *config) error { c.name = name; return nil }
}

// WithNamespace puts every object in namespace (default: none, so kubectl
// uses its current namespace).
func WithNamespace(namespace string) Option {
	return func(c *config) error { c.namespace = namespace; return nil }
}

// WithImage is the container image holding mlattest, REF@sha256:HEX. It is
// required: a tag can point at other bytes tomorrow.
func WithImage(ref string) Option {
	return func(c *config) error { c.image = ref; return nil }
}

// WithBinary is the mlattest executable's name or path in the image
// (default "mlattest", found on the image's PATH).
func WithBinary(path string) Option {
	return func(c *config) error { c.binary = path; return nil }
}

// WithShards is the number of workers N (required, at least 1).
func WithShards(n int) Option {
	return func(c *config) error { c.shards = n; return nil }
}

// WithBackoffLimitPerIndex is how often one shard's pod is retried before
// that shard fails (default 3). A rerun shard writes the same part.
func WithBackoffLimitPerIndex(n int) Option {
	return func(c *config) error { c.backoffPerIndex = n; return nil }
}

// WithAWSRole renders a service account annotated for IRSA with the IAM
// role (eks.amazonaws.com/role-arn) the pods read and write S3 as.
func WithAWSRole(arn string) Option {
	return func(c *config) error { c.roleARN = arn; return nil }
}

// WithGCPServiceAccount renders a service account annotated for GKE
// Workload Identity (iam.gke.io/gcp-service-account) with the Google
// service account the pods act as.
func WithGCPServiceAccount(email string) Option {
	return func(c *config) error { c.gcpSA = email; return nil }
}

// WithServiceAccount runs the pods as an existing Kubernetes service
// account (no ServiceAccount is rendered): one already bound to a cloud
// identity, or none for storage that needs no credentials.
func WithServiceAccount(name string) Option {
	return func(c *config) error { c.existingSA = name; return nil }
}

// WithEnv sets an environment variable in every pod, e.g. AWS_REGION or
// AWS_ENDPOINT_URL_S3 for an S3-compatible store. Names that look like
// credentials are refused: the workload identity provides those.
func WithEnv(name, value string) Option {
	return func(c *config) error {
		if !envNameRE.MatchString(name) {
			return fmt.Errorf("%w: environment variable name %q", ErrInvalid, name)
		}
		if secretEnvRE.MatchString(name) {
			return fmt.Errorf("%w: environment variable %s looks like a credential: the pods get credentials from the workload identity, never from a manifest", ErrInvalid, name)
		}
		switch name {
		case "JOB_COMPLETION_INDEX", "JOB_COMPLETIONS", "MLATTEST_SIGNING_CONFIG", "MLATTEST_TRUSTED_ROOT":
			return fmt.Errorf("%w: environment variable %s is set by the rendered job itself", ErrInvalid, name)
		}
		c.env = append(c.env, corev1.EnvVar{Name: name, Value: value})
		return nil
	}
}

// WithWorkerArgs adds flags to every worker's command line, before the
// location (e.g. "--min-support", "3" for a dataset scan).
func WithWorkerArgs(args ...string) Option {
	return func(c *config) error { c.workerArgs = append(c.workerArgs, args...); return nil }
}

// WithResources sets the workers' resource requests and limits.
func WithResources(r corev1.ResourceRequirements) Option {
	return func(c *config) error { c.resources = r; return nil }
}

// WithDataVolume mounts the PersistentVolumeClaim claim read-only at
// mountPath in every pod (workers and merge): a dataset scan reads its
// files there, and merge reads them again at the same paths.
func WithDataVolume(claim, mountPath string) Option {
	return func(c *config) error { c.dataClaim, c.dataMount = claim, mountPath; return nil }
}

// WithRunID binds the merge step's statement to the pipeline run id.
// Without it the merge pod takes $MLATTEST_RUN_ID (see WithEnv) or makes
// one up.
func WithRunID(id string) Option {
	return func(c *config) error { c.runID = id; return nil }
}

// WithSigning makes the merge pod sign the merged manifest as step's link
// statement and write the bundle below out (a storage location or a
// directory), keylessly: its service-account token, projected with the
// audience "sigstore", is the OIDC identity token Fulcio certifies. The
// certificate names https://kubernetes.io/namespaces/NS/serviceaccounts/SA,
// issued by the cluster's service-account issuer, which the Fulcio instance
// must trust.
func WithSigning(step, out string) Option {
	return func(c *config) error { c.signStep, c.signOut = step, out; return nil }
}

// WithSigstoreConfigMap mounts a ConfigMap holding signing_config.json and
// trusted_root.json (a private Sigstore instance) into the merge pod and
// points mlattest at them. Default: the public-good instance.
func WithSigstoreConfigMap(name string) Option {
	return func(c *config) error { c.sigstoreCM = name; return nil }
}

// New renders the objects that compute kind over inputs, with the parts
// written to and merged from parts (s3://BUCKET/PREFIX or gs://…). For
// Digest, inputs is one storage location (s3:// or gs://, not containing
// parts); for ScanData, the dataset files as absolute paths below the
// WithDataVolume mount, or bucket locations whose objects are the datasets.
func New(kind Kind, inputs []string, parts string, opts ...Option) (*Set, error) {
	c := &config{binary: "mlattest", backoffPerIndex: 3, name: "mlattest-" + string(kind)}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if err := c.validate(kind, inputs, parts); err != nil {
		return nil, err
	}
	s := &Set{Workers: c.workers(kind, inputs, parts), Merge: c.merge(parts)}
	if c.existingSA == "" {
		s.ServiceAccount = c.serviceAccount()
	}
	return s, nil
}

func (c *config) validate(kind Kind, inputs []string, parts string) error {
	if !slices.Contains(Kinds, kind) {
		return fmt.Errorf("%w: kind %q: want %s or %s", ErrInvalid, kind, Digest, ScanData)
	}
	// The longest name derived is NAME-workers, a Job name, which is also
	// a label value (63 bytes at most).
	if errs := validation.IsDNS1123Label(c.name + "-workers"); len(errs) > 0 {
		return fmt.Errorf("%w: name %q: %s", ErrInvalid, c.name, strings.Join(errs, "; "))
	}
	if c.namespace != "" {
		if errs := validation.IsDNS1123Label(c.namespace); len(errs) > 0 {
			return fmt.Errorf("%w: namespace %q: %s", ErrInvalid, c.namespace, strings.Join(errs, "; "))
		}
	}
	if c.image == "" {
		return fmt.Errorf("%w: no image given", ErrMutableImage)
	}
	if _, err := attest.ParseImage(c.image); err != nil {
		// The reason without attest's "invalid step input" (no step here).
		return fmt.Errorf("%w: %s", ErrMutableImage, strings.TrimPrefix(err.Error(), attest.ErrInput.Error()+": "))
	}
	if c.binary == "" || strings.ContainsAny(c.binary, " \t\n") {
		return fmt.Errorf("%w: binary %q", ErrInvalid, c.binary)
	}
	if c.shards < 1 {
		return fmt.Errorf("%w: %d shards: want at least 1", ErrInvalid, c.shards)
	}
	if c.shards > 99999 { // part names carry five digits
		return fmt.Errorf("%w: %d shards: at most 99999", ErrInvalid, c.shards)
	}
	if c.backoffPerIndex < 0 {
		return fmt.Errorf("%w: backoff limit per index %d: want 0 or more", ErrInvalid, c.backoffPerIndex)
	}
	if err := c.validateIdentity(); err != nil {
		return err
	}
	p, err := bucketLocation("parts prefix", parts)
	if err != nil {
		return err
	}
	if c.dataClaim != "" {
		if errs := validation.IsDNS1123Subdomain(c.dataClaim); len(errs) > 0 {
			return fmt.Errorf("%w: PersistentVolumeClaim %q: %s", ErrInvalid, c.dataClaim, strings.Join(errs, "; "))
		}
		if !path.IsAbs(c.dataMount) || path.Clean(c.dataMount) != c.dataMount || c.dataMount == "/" || c.dataMount == "/tmp" {
			return fmt.Errorf("%w: data volume mount path %q: want an absolute, clean directory other than / and /tmp", ErrInvalid, c.dataMount)
		}
	}
	var loc *store.Location // the digested location
	switch {
	case len(inputs) == 0:
		return fmt.Errorf("%w: nothing to %s", ErrInvalid, kind)
	case kind == Digest && len(inputs) > 1:
		return fmt.Errorf("%w: a digest job reads one location, got %d", ErrInvalid, len(inputs))
	case kind == Digest:
		l, err := bucketLocation("location", inputs[0])
		if err != nil {
			return err
		}
		// A worker that lists the location after another wrote its
		// part there would see another listing.
		if inside(p, l) {
			return fmt.Errorf("%w: parts prefix %s lies inside the location %s: the workers would list each other's parts", ErrInvalid, parts, inputs[0])
		}
		loc = &l
	default:
		if err := c.validateDatasets(inputs, p); err != nil {
			return err
		}
	}
	if (c.signStep == "") != (c.signOut == "") {
		return fmt.Errorf("%w: signing needs both a step name and an output location", ErrInvalid)
	}
	if c.signStep != "" {
		if kind != Digest {
			return fmt.Errorf("%w: signing a merged %s is not supported (only %s)", ErrInvalid, kind, Digest)
		}
		if err := predicates.CheckStepName(c.signStep); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if c.runID != "" {
			// As merge will resolve it.
			if _, err := attest.ResolveRunID(c.runID, nil); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalid, err)
			}
		}
		if store.IsURL(c.signOut) {
			out, err := bucketLocation("signature output", c.signOut)
			if err != nil {
				return err
			}
			if loc != nil && inside(out, *loc) {
				return fmt.Errorf("%w: signature output %s lies inside the location %s", ErrInvalid, c.signOut, inputs[0])
			}
		} else if !strings.HasPrefix(c.signOut, "/") {
			return fmt.Errorf("%w: signature output %q: want s3://BUCKET/PREFIX or an absolute directory in the merge pod", ErrInvalid, c.signOut)
		}
	} else if c.runID != "" {
		return fmt.Errorf("%w: a run id binds the signed statement: it needs signing", ErrInvalid)
	}
	if c.sigstoreCM != "" {
		if c.signStep == "" {
			return fmt.Errorf("%w: a Sigstore ConfigMap is only used for signing", ErrInvalid)
		}
		if errs := validation.IsDNS1123Subdomain(c.sigstoreCM); len(errs) > 0 {
			return fmt.Errorf("%w: ConfigMap %q: %s", ErrInvalid, c.sigstoreCM, strings.Join(errs, "; "))
		}
	}
	return nil
}

func (c *config) validateIdentity() error {
	n := 0
	for _, v := range []string{c.roleARN, c.gcpSA, c.existingSA} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return ErrNoIdentity
	case n > 1:
		return fmt.Errorf("%w: give one workload identity: an AWS IAM role, a GCP service account or an existing Kubernetes service account", ErrInvalid)
	case c.roleARN != "" && !roleARNRE.MatchString(c.roleARN):
		return fmt.Errorf("%w: AWS IAM role %q: want arn:aws:iam::ACCOUNT:role/NAME", ErrInvalid, c.roleARN)
	case c.gcpSA != "" && !gcpSARE.MatchString(c.gcpSA):
		return fmt.Errorf("%w: GCP service account %q: want NAME@PROJECT.iam.gserviceaccount.com", ErrInvalid, c.gcpSA)
	case c.existingSA != "":
		if errs := validation.IsDNS1123Subdomain(c.existingSA); len(errs) > 0 {
			return fmt.Errorf("%w: service account %q: %s", ErrInvalid, c.existingSA, strings.Join(errs, "; "))
		}
	}
	return nil
}

// validateDatasets checks a scan's datasets: bucket locations (which the
// parts must not lie in), or absolute paths below the data volume, which
// every pod mounts at the same place.
func (c *config) validateDatasets(files []string, parts store.Location) error {
	seen := map[string]bool{}
	for _, f := range files {
		if store.IsURL(f) {
			l, err := bucketLocation("dataset location", f)
			if err != nil {
				return err
			}
			if inside(parts, l) {
				return fmt.Errorf("%w: parts prefix %s lies inside the dataset location %s: the workers would scan each other's parts", ErrInvalid, parts, f)
			}
		} else if c.dataClaim == "" {
			return fmt.Errorf("%w: a dataset scan reads its files from a volume: none given", ErrInvalid)
		} else if !path.IsAbs(f) || path.Clean(f) != f || !strings.HasPrefix(f, c.dataMount+"/") {
			return fmt.Errorf("%w: dataset %q: want a clean absolute path below the data volume's mount %s", ErrInvalid, f, c.dataMount)
		}
		if seen[f] {
			return fmt.Errorf("%w: dataset %s given twice", ErrInvalid, f)
		}
		seen[f] = true
	}
	return nil
}

// bucketLocation parses a bucket location: the pods share no file system
// to write parts to.
func bucketLocation(what, raw string) (store.Location, error) {
	l, err := store.ParseLocation(raw)
	if err != nil {
		return l, fmt.Errorf("%w: %s: %w", ErrInvalid, what, err)
	}
	if l.Scheme != "s3" && l.Scheme != "gs" {
		return l, fmt.Errorf("%w: %s %q: the pods need an s3://BUCKET/PREFIX or gs://BUCKET/PREFIX location", ErrInvalid, what, raw)
	}
	return l, nil
}

// inside says whether a lies at or below b (same bucket, b's prefix a
// prefix of a's).
func inside(a, b store.Location) bool {
	return a.Bucket == b.Bucket && strings.HasPrefix(a.Prefix, b.Prefix)
}

func (c *config) serviceAccountName() string {
	if c.existingSA != "" {
		return c.existingSA
	}
	return c.name
}

func (c *config) meta(name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      name,
		Namespace: c.namespace,
		Labels: map[string]string{
			LabelName:      "mlattest",
			LabelInstance:  c.name,
			LabelComponent: component,
		},
	}
}

func (c *config) serviceAccount() *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: c.meta(c.name, "identity"),
		// The pods never call the Kubernetes API; the merge pod gets the
		// one token it needs, for Fulcio, by projection.
		AutomountServiceAccountToken: new(false),
	}
	sa.Annotations = map[string]string{}
	if c.roleARN != "" {
		sa.Annotations["eks.amazonaws.com/role-arn"] = c.roleARN
	}
	if c.gcpSA != "" {
		sa.Annotations["iam.gke.io/gcp-service-account"] = c.gcpSA
	}
	return sa
}

func (c *config) workers(kind Kind, inputs []string, parts string) *batchv1.Job {
	n := int32(c.shards)
	ctr := c.container("worker", c.workerCommand(kind, inputs, parts))
	// The Job controller sets JOB_COMPLETION_INDEX in an Indexed Job's
	// pods; the number of shards is set here.
	ctr.Env = append([]corev1.EnvVar{{Name: "JOB_COMPLETIONS", Value: fmt.Sprint(c.shards)}}, ctr.Env...)
	ctr.Resources = c.resources
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: c.meta(c.name+"-workers", "workers"),
		Spec: batchv1.JobSpec{
			CompletionMode:       new(batchv1.IndexedCompletion),
			Completions:          new(n),
			Parallelism:          new(n),
			BackoffLimitPerIndex: new(int32(c.backoffPerIndex)),
			// One shard failing for good fails the Job: merge refuses
			// a listing with a part missing anyway.
			MaxFailedIndexes: new(int32(0)),
			// A pod is replaced only once it has stopped, not while it
			// is terminating, so two never write one part at once.
			PodReplacementPolicy: new(batchv1.Failed),
			Template:             c.podTemplate("workers", ctr, nil),
		},
	}
	return job
}

func (c *config) merge(parts string) *batchv1.Job {
	ctr := c.container("merge", c.mergeCommand(parts))
	var vols []corev1.Volume
	if c.signStep != "" {
		vols = append(vols, corev1.Volume{
			Name: "sigstore-token",
			VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
					Audience:          TokenAudience,
					ExpirationSeconds: new(int64(tokenSeconds)),
					Path:              "token",
				}}},
			}},
		})
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: "sigstore-token", MountPath: tokenDir, ReadOnly: true})
	}
	if c.sigstoreCM != "" {
		vols = append(vols, corev1.Volume{
			Name: "sigstore-config",
			VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: c.sigstoreCM},
			}},
		})
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: "sigstore-config", MountPath: SigstoreDir, ReadOnly: true})
		ctr.Env = append(ctr.Env,
			corev1.EnvVar{Name: "MLATTEST_SIGNING_CONFIG", Value: SigstoreDir + "/signing_config.json"},
			corev1.EnvVar{Name: "MLATTEST_TRUSTED_ROOT", Value: SigstoreDir + "/trusted_root.json"})
	}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: c.meta(c.name+"-merge", "merge"),
		Spec: batchv1.JobSpec{
			Completions:  new(int32(1)),
			Parallelism:  new(int32(1)),
			BackoffLimit: new(int32(c.backoffPerIndex)),
			// Exit 1 (a FAIL verdict, or signing refused) and 2 (parts
			// refused) are answers a rerun would repeat: the Job fails
			// at once. A crash or an eviction is retried.
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: new("merge"),
					Operator:      batchv1.PodFailurePolicyOnExitCodesOpIn,
					Values:        []int32{1, 2},
				},
			}}},
			// The only value podFailurePolicy allows.
			PodReplacementPolicy: new(batchv1.Failed),
			Template:             c.podTemplate("merge", ctr, vols),
		},
	}
}

func (c *config) container(name string, command []string) corev1.Container {
	ctr := corev1.Container{
		Name:    name,
		Image:   c.image,
		Command: command,
		Env:     slices.Clone(c.env),
		// Everything mlattest writes goes to object storage or /tmp.
		VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: new(false),
			ReadOnlyRootFilesystem:   new(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
	if c.dataClaim != "" {
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: c.dataMount, ReadOnly: true})
	}
	return ctr
}

func (c *config) podTemplate(component string, ctr corev1.Container, vols []corev1.Volume) corev1.PodTemplateSpec {
	m := c.meta("", component)
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: m.Labels},
		Spec: corev1.PodSpec{
			ServiceAccountName:           c.serviceAccountName(),
			AutomountServiceAccountToken: new(false),
			RestartPolicy:                corev1.RestartPolicyNever,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   new(true),
				RunAsUser:      new(int64(65532)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{ctr},
			Volumes:    append(c.volumes(), vols...),
		},
	}
}

// volumes are every pod's: /tmp, and the data volume when given.
func (c *config) volumes() []corev1.Volume {
	vols := []corev1.Volume{{
		Name:         "tmp",
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
	}}
	if c.dataClaim != "" {
		vols = append(vols, corev1.Volume{
			Name: "data",
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: c.dataClaim, ReadOnly: true,
			}},
		})
	}
	return vols
}
