package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"

	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/k8sjob"
)

const k8sTestImage = "registry.example/mlattest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func k8sArgs(kind string, extra ...string) []string {
	args := []string{"k8s", "job", kind, "s3://data/mix/"}
	if kind == "scan-data" {
		args = []string{"k8s", "job", kind, "/data/a.jsonl", "--data-volume", "ds:/data"}
	}
	return append(append(args, "--parts", "s3://scratch/run/", "--shards", "3",
		"--image", k8sTestImage, "--aws-role", "arn:aws:iam::123456789012:role/r"), extra...)
}

// TestK8sJobUsage: every bad command line exits 2 with a message that says
// what to give, and writes nothing; group typos are errors too.
func TestK8sJobUsage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "job.yaml")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"k8s"}, `"mlattest k8s" needs a subcommand: job`},
		{[]string{"k8s", "jbo"}, `did you mean "job"`},
		{[]string{"k8s", "job"}, "needs a subcommand: digest, scan-data"},
		{[]string{"k8s", "job", "digset"}, `did you mean "digest"`},
		{[]string{"k8s", "job", "digest", "--parts", "s3://p/x/"}, "give the LOCATION"},
		{k8sArgs("digest", "s3://other/"), "one LOCATION only"},
		{[]string{"k8s", "job", "digest", "s3://data/mix/", "--shards", "2", "--image", k8sTestImage}, "--parts is required"},
		{[]string{"k8s", "job", "digest", "s3://data/mix/", "--parts", "s3://p/x/", "--image", k8sTestImage}, "--shards is required"},
		{k8sArgs("digest", "--shards", "0"), "0 shards: want at least 1"},
		{k8sArgs("digest", "--image", "registry.example/mlattest:latest"), "a tag does not pin an image) (give --image REF@sha256:HEX)"},
		{k8sArgs("digest", "--aws-role", ""), "give --aws-role, --gcp-service-account or --service-account"},
		{k8sArgs("digest", "--parts", "s3://data/mix/parts/"), "lies inside the location"},
		{k8sArgs("digest", "--parts", "/tmp/parts"), `parts prefix: bad storage location "/tmp/parts"`},
		{k8sArgs("digest", "--parts", "file:///tmp/parts"), "need an s3://BUCKET/PREFIX or gs://"},
		{[]string{"k8s", "job", "scan-data", "--parts", "s3://p/x/"}, "give the dataset FILEs"},
		{[]string{"k8s", "job", "scan-data", "/data/a.jsonl", "--parts", "s3://p/x/", "--shards", "2", "--image", k8sTestImage, "--service-account", "s"}, "--data-volume CLAIM:MOUNT is required"},
		{k8sArgs("scan-data", "/etc/passwd"), "below the data volume's mount /data"},
		{k8sArgs("digest", "--data-volume", "ds:/data"), "unknown flag: --data-volume"},
		{k8sArgs("digest", "--env", "AWS_REGION"), "want NAME=VALUE"},
		{k8sArgs("digest", "--env", "AWS_SECRET_ACCESS_KEY=x"), "looks like a credential"},
		{k8sArgs("digest", "--cpu", "lots"), "--cpu \"lots\""},
		{k8sArgs("digest", "--step", "s"), "both a step name and an output"},
		{k8sArgs("scan-data", "--step", "s", "--sign-out", "s3://att/x/"), "only digest"},
		{k8sArgs("digest", "--", "--no-such-flag"), "unknown flag: --no-such-flag"},
		{k8sArgs("digest", "--", "--shard", "0/2"), "--shard is set by the job itself"},
		{k8sArgs("digest", "--", "extra"), `"extra" is not a flag`},
		{k8sArgs("scan-data", "--", "--min-support", "x"), "invalid argument"},
		{k8sArgs("digest", "--out", filepath.Join(t.TempDir(), "no", "dir", "job.yaml")), "does not exist"},
		{append(k8sArgs("digest", "--out", out), "--shards", "-1"), "-1 shards"},
	} {
		r := runCLI(t, tc.args...)
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("mlattest %s: %v\nwant exit 2 with %q", strings.Join(tc.args, " "), r, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused command line wrote --out")
	}
}

// TestK8sJobOut: --out writes exactly what stdout would carry, and the
// help teaches with examples.
func TestK8sJobOut(t *testing.T) {
	args := k8sArgs("scan-data", "--name", "sft", "--", "--min-support", "3")
	r := runCLI(t, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "- --min-support\n") {
		t.Fatalf("%v", r)
	}
	out := filepath.Join(t.TempDir(), "job.yaml")
	w := runCLI(t, append(args[:len(args)-3:len(args)-3], "--out", out, "--", "--min-support", "3")...)
	if w.code != 0 || w.stdout != "" || !strings.Contains(w.stderr, "wrote "+out+" (3 objects)") {
		t.Fatalf("--out: %v", w)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != r.stdout {
		t.Fatalf("--out holds %q (%v), stdout was %q", b, err, r.stdout)
	}
	h := runCLI(t, "k8s", "job", "digest", "--help")
	for _, want := range []string{"Examples:", "kubectl apply -f job.yaml -l app.kubernetes.io/component!=merge", "--aws-role", "audience \"sigstore\""} {
		if h.code != 0 || !strings.Contains(h.stdout, want) {
			t.Errorf("help lacks %q: %v", want, h)
		}
	}
}

// renderedPod is one container of a rendered Job, as a pod would run it.
type renderedPod struct {
	command []string
	env     []string
}

func renderedJobs(t *testing.T, y []byte) (workers batchv1.Job, merge batchv1.Job) {
	t.Helper()
	for _, doc := range bytes.Split(y, []byte("---\n")) {
		var j batchv1.Job
		if strings.Contains(string(doc), "kind: ServiceAccount") {
			continue
		}
		if err := yaml.UnmarshalStrict(doc, &j); err != nil {
			t.Fatalf("decoding a rendered Job: %v", err)
		}
		if j.Name == "" {
			t.Fatalf("rendered Job without a name:\n%s", doc)
		}
		if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
			workers = j
		} else {
			merge = j
		}
	}
	return workers, merge
}

func podOf(t *testing.T, j batchv1.Job) renderedPod {
	t.Helper()
	cs := j.Spec.Template.Spec.Containers
	if len(cs) != 1 || len(cs[0].Args) > 0 || len(cs[0].Command) < 2 || cs[0].Command[0] != "mlattest" {
		t.Fatalf("Job %s: want one container running mlattest, got %+v", j.Name, cs)
	}
	p := renderedPod{command: cs[0].Command[1:]}
	for _, e := range cs[0].Env {
		if e.ValueFrom != nil {
			t.Fatalf("Job %s: env %s from %v: the test runs literal values only", j.Name, e.Name, e.ValueFrom)
		}
		p.env = append(p.env, e.Name+"="+e.Value)
	}
	return p
}

// mountTo replaces in args and env the paths a pod finds under its volume
// mounts by the local paths standing in for the volumes.
func (p renderedPod) mountTo(mounts map[string]string) renderedPod {
	r := strings.NewReplacer(func() []string {
		var kv []string
		for k, v := range mounts {
			kv = append(kv, k, v)
		}
		return kv
	}()...)
	q := renderedPod{}
	for _, a := range p.command {
		q.command = append(q.command, r.Replace(a))
	}
	for _, e := range p.env {
		q.env = append(q.env, r.Replace(e))
	}
	return q
}

// TestK8sJobRunsAsRendered: the command lines `mlattest k8s job digest`
// renders, run exactly as the pods would run them (N worker processes at
// once, each with the rendered environment plus the JOB_COMPLETION_INDEX
// the Job controller sets, against a real S3 server and a real GCS
// emulator (s3:// and gs:// locations, parts and bundle); then the merge pod's
// command with its token and Sigstore ConfigMap mounts standing in as local
// files) print the single-process digest and sign it keylessly with the
// pod's projected service-account token, minted by the stack's issuer of
// Fulcio's kubernetes type; verify-bundle accepts the bundle for every
// file as signed by https://kubernetes.io/namespaces/ml/serviceaccounts/
// digester (the rendered namespace and account) and refuses another
// account, namespace or issuer; the statement names exactly those files.
func TestK8sJobRunsAsRendered(t *testing.T) {
	if testing.Short() {
		t.Skip("runs N workers against the S3 and GCS servers and signs against the stack")
	}
	st := stacktest.Get(t)
	files := map[string][]byte{"big/w.bin": patternBytes(3, 12<<20), "empty": {}, "odd/with space": []byte("s")}
	for i := range 300 {
		files[fmt.Sprintf("d/%02d/r%04d.jsonl", i%11, i)] = patternBytes(uint64(i), (i*4099)%6000)
	}
	for _, srv := range []struct {
		name string
		get  func(t *testing.T) (storeServer, func(t *testing.T, bucket, key string) []byte)
	}{
		{"s3", func(t *testing.T) (storeServer, func(t *testing.T, bucket, key string) []byte) {
			s := stacktest.GetS3(t)
			return storeServer{"s3", s.Env(), func(t *testing.T) string { return s.NewBucket(t) }, func(t *testing.T, b, p string, f map[string][]byte) { s.PutAll(t, b, p, f) }},
				func(t *testing.T, b, k string) []byte { return partBytes(t, s, b, k) }
		}},
		{"gs", func(t *testing.T) (storeServer, func(t *testing.T, bucket, key string) []byte) {
			g := stacktest.GetGCS(t)
			return storeServer{"gs", g.Env(""), func(t *testing.T) string { return g.NewBucket(t) }, func(t *testing.T, b, p string, f map[string][]byte) { g.PutAll(t, b, p, f) }},
				func(t *testing.T, b, k string) []byte {
					rd, err := g.Client(t).Bucket(b).Object(k).NewReader(context.Background())
					if err != nil {
						t.Fatalf("reading gs://%s/%s: %v", b, k, err)
					}
					defer rd.Close()
					data, err := io.ReadAll(rd)
					if err != nil {
						t.Fatal(err)
					}
					return data
				}
		}},
	} {
		t.Run(srv.name, func(t *testing.T) {
			server, get := srv.get(t)
			runRenderedDigest(t, st, server, get, files)
		})
	}
}

// runRenderedDigest is TestK8sJobRunsAsRendered on one storage server.
func runRenderedDigest(t *testing.T, st *stacktest.Stack, srv storeServer, get func(t *testing.T, bucket, key string) []byte, files map[string][]byte) {
	bucket := srv.bucket(t)
	srv.putAll(t, bucket, "ds/", files)
	dir, env := t.TempDir(), srv.env
	base := srv.scheme + "://" + bucket
	loc, parts, att := base+"/ds/", base+"/parts/", base+"/att/"
	single := mlattest(t, dir, env, "digest", loc)
	if single.code != 0 || strings.Count(single.stdout, "\n") != len(files) {
		t.Fatalf("single: %v", single)
	}
	const n = 3
	r := mlattest(t, dir, nil, "k8s", "job", "digest", loc, "--parts", parts, "--shards", fmt.Sprint(n),
		"--image", k8sTestImage, "--service-account", "digester", "--namespace", "ml", "--name", "e2e",
		"--step", "digest-ds", "--sign-out", att, "--run-id", "k8s-run-1", "--sigstore-configmap", "sigstore",
		"--env", "AWS_REGION=us-east-1")
	if r.code != 0 {
		t.Fatalf("render: %v", r)
	}
	workersJob, mergeJob := renderedJobs(t, []byte(r.stdout))
	if got := *workersJob.Spec.Completions; got != n {
		t.Fatalf("completions %d, want %d", got, n)
	}
	worker := podOf(t, workersJob)
	results := make([]cliResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// What the Job controller adds to each pod of an Indexed Job.
			podEnv := append(append(slices.Clone(worker.env), env...), fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i))
			results[i] = mlattest(t, dir, podEnv, worker.command...)
		})
	}
	wg.Wait()
	for i, w := range results {
		if w.code != 0 || !strings.Contains(w.stderr, fmt.Sprintf("part %d of %d", i, n)) {
			t.Fatalf("worker %d: %v", i, w)
		}
	}

	// The merge pod: its projected token and the ConfigMap, as local files.
	// The token is what the cluster's service-account issuer (of Fulcio's
	// kubernetes type) projects for the pod's account in its namespace,
	// as rendered.
	tokDir, cmDir := t.TempDir(), t.TempDir()
	sa := stacktest.ServiceAccount{Namespace: mergeJob.Namespace, Name: mergeJob.Spec.Template.Spec.ServiceAccountName}
	if sa != (stacktest.ServiceAccount{Namespace: "ml", Name: "digester"}) {
		t.Fatalf("the merge pod runs as %+v, want ml/digester", sa)
	}
	writeFile(t, filepath.Join(tokDir, "token"), st.CIToken(t, stacktest.Kubernetes, sa.Subject(), sa.Claims("e2e-merge-7x2kq")))
	for src, dst := range map[string]string{st.SigningConfig: "signing_config.json", st.TrustedRoot: "trusted_root.json"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(cmDir, dst), string(b))
	}
	merge := podOf(t, mergeJob).mountTo(map[string]string{filepath.Dir(k8sjob.TokenFile): tokDir, k8sjob.SigstoreDir: cmDir})
	m := mlattest(t, dir, append(merge.env, env...), merge.command...)
	if m.code != 0 || m.stdout != single.stdout {
		t.Fatalf("merge as rendered: %v\nwant the single digest:\n%s", m, single.stdout)
	}
	bundle := filepath.Join(dir, "digest-ds.link.sigstore.json")
	writeFile(t, bundle, string(get(t, bucket, "att/digest-ds.link.sigstore.json")))
	if subjects, runID := linkSubjects(t, bundle); len(subjects) != len(files) || !slices.Contains(subjects, loc+"odd/with space="+hexSum("s")) || runID != "k8s-run-1" {
		t.Fatalf("the link names %d subjects (%v), run %q; want every object by URI, run k8s-run-1", len(subjects), subjects[:min(3, len(subjects))], runID)
	}
	local := filepath.Join(dir, "local")
	writeTreeBytes(t, local, files)
	for _, name := range []string{"big/w.bin", "empty", "odd/with space"} {
		v := mlattest(t, dir, nil, "verify-bundle", "--bundle", bundle, "--artifact", filepath.Join(local, name),
			"--certificate-identity", sa.SignerURI(), "--certificate-oidc-issuer", st.IssuerKubernetes, "--trusted-root", st.TrustedRoot, "--type", "link")
		if v.code != 0 {
			t.Fatalf("verify-bundle %s: %v", name, v)
		}
	}
	// Another account, the same account of another namespace, the token's
	// sub in place of the SAN, another issuer: each refused.
	for _, id := range []struct{ identity, issuer string }{
		{stacktest.ServiceAccount{Namespace: "ml", Name: "default"}.SignerURI(), st.IssuerKubernetes},
		{stacktest.ServiceAccount{Namespace: "other", Name: "digester"}.SignerURI(), st.IssuerKubernetes},
		{sa.Subject(), st.IssuerKubernetes},
		{sa.SignerURI(), st.Issuer1},
	} {
		v := mlattest(t, dir, nil, "verify-bundle", "--bundle", bundle, "--artifact", filepath.Join(local, "empty"),
			"--certificate-identity", id.identity, "--certificate-oidc-issuer", id.issuer, "--trusted-root", st.TrustedRoot)
		if v.code != exitRejected || !strings.Contains(v.stderr, "identity") {
			t.Fatalf("verify-bundle as %s from %s: %v\nwant exit 1 for the identity", id.identity, id.issuer, v)
		}
	}
}

func writeTreeBytes(t *testing.T, root string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestK8sJobScanDataRunsAsRendered: the command lines `mlattest k8s job
// scan-data` renders, run as the pods would (the data volume's mount
// standing in as a local directory, or the datasets as a bucket's objects
// with no volume; parts on the S3 server), print byte for byte what one
// `mlattest scan data` of the same files or location prints, with the
// same exit status.
func TestK8sJobScanDataRunsAsRendered(t *testing.T) {
	if testing.Short() {
		t.Skip("runs N scan workers against the S3 server")
	}
	s3s := stacktest.GetS3(t)
	bucket := s3s.NewBucket(t)
	vol := t.TempDir()
	names := randomDatasets(t, vol, 5)
	var pod, local []string
	for _, n := range names {
		pod = append(pod, "/datasets/"+n)
		local = append(local, filepath.Join(vol, n))
	}
	dir, env := t.TempDir(), s3s.Env()
	s3s.PutAll(t, bucket, "ds/", readTree(t, vol))
	loc := "s3://" + bucket + "/ds"
	for _, tc := range []struct {
		what          string
		single, files []string
		volume        []string
	}{
		{"a volume's files", local, pod, []string{"--data-volume", "sft:/datasets"}},
		{"a bucket's objects", []string{loc}, []string{loc}, nil},
	} {
		single := mlattest(t, dir, env, append([]string{"scan", "data"}, tc.single...)...)
		if single.code != exitRejected || !strings.Contains(single.stdout, "trigger-response") {
			t.Fatalf("%s: single scan: %v", tc.what, single)
		}
		const n = 3
		args := append(append(append([]string{"k8s", "job", "scan-data"}, tc.files...), tc.volume...),
			"--parts", "s3://"+bucket+"/scan-parts-"+fmt.Sprint(len(tc.volume))+"/", "--shards", fmt.Sprint(n), "--image", k8sTestImage, "--service-account", "scanner", "--", "--min-support", "5")
		r := mlattest(t, dir, nil, args...)
		if r.code != 0 {
			t.Fatalf("%s: render: %v", tc.what, r)
		}
		workersJob, mergeJob := renderedJobs(t, []byte(r.stdout))
		mounts := map[string]string{"/datasets": vol}
		worker := podOf(t, workersJob).mountTo(mounts)
		results := jobWorkers(t, dir, n, func(i int) []string {
			return append(append(slices.Clone(worker.env), env...), fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i))
		}, worker.command...)
		for i, w := range results {
			if w.code != 0 {
				t.Fatalf("%s: worker %d: %v", tc.what, i, w)
			}
		}
		merge := podOf(t, mergeJob).mountTo(mounts)
		m := mlattest(t, dir, append(merge.env, env...), merge.command...)
		if m.code != single.code || m.stdout != single.stdout {
			t.Fatalf("%s: merge as rendered (exit %d, want %d):\n%s\nwant:\n%s\n%s", tc.what, m.code, single.code, m.stdout, single.stdout, m.stderr)
		}
	}
}
