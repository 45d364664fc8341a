package k8sjob

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testImage = "registry.example/mlattest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// Decoded is a rendered stream decoded strictly into the API types.
type decoded struct {
	sa             *corev1.ServiceAccount
	workers, merge *batchv1.Job
}

// decode splits a multi-document stream and decodes each document with
// UnmarshalStrict (an unknown or misspelt field is an error) into the type
// its kind names.
func decode(t *testing.T, y []byte) decoded {
	t.Helper()
	var d decoded
	for i, doc := range bytes.Split(y, []byte("---\n")) {
		var tm struct{ Kind string }
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		switch tm.Kind {
		case "ServiceAccount":
			d.sa = &corev1.ServiceAccount{}
			if err := yaml.UnmarshalStrict(doc, d.sa); err != nil {
				t.Fatalf("ServiceAccount: %v", err)
			}
		case "Job":
			j := &batchv1.Job{}
			if err := yaml.UnmarshalStrict(doc, j); err != nil {
				t.Fatalf("Job: %v", err)
			}
			if strings.HasSuffix(j.Name, "-merge") {
				d.merge = j
			} else {
				d.workers = j
			}
		default:
			t.Fatalf("document %d: unexpected kind %q", i, tm.Kind)
		}
	}
	if d.workers == nil || d.merge == nil {
		t.Fatalf("want a workers and a merge Job in:\n%s", y)
	}
	return d
}

func env(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

// TestRender: the rendered stream decodes strictly into the API types and
// says what it must: an Indexed Job with completions = parallelism = N and
// a per-index backoff, JOB_COMPLETIONS=N, the exact worker and merge command
// lines, the digest-pinned image, the service account with its workload
// identity annotation, and for signing the projected token with the
// audience "sigstore" mounted where the merge command reads it. It matches
// the golden file.
func TestRender(t *testing.T) {
	for _, tc := range []struct {
		golden       string
		kind         Kind
		inputs       []string
		parts        string
		opts         []Option
		annotation   [2]string // the service account's; empty: none rendered
		saName       string
		worker       []string
		merge        []string
		wantEnv      map[string]string
		shards       int32
		sign, config bool
		dataMount    string
	}{
		{
			golden: "digest.yaml", kind: Digest, shards: 7, inputs: []string{"s3://datasets/mix/"}, parts: "s3://scratch/run-7/",
			opts: []Option{WithName("mix"), WithNamespace("ml"), WithShards(7), WithAWSRole("arn:aws:iam::123456789012:role/mlattest-digest"),
				WithEnv("AWS_REGION", "eu-west-1"), WithSigning("digest-mix", "s3://attestations/run-7/"), WithRunID("run-7"),
				WithSigstoreConfigMap("sigstore-private")},
			annotation: [2]string{"eks.amazonaws.com/role-arn", "arn:aws:iam::123456789012:role/mlattest-digest"},
			saName:     "mix",
			worker:     []string{"mlattest", "digest", "--part-out", "s3://scratch/run-7/", "s3://datasets/mix/"},
			merge: []string{"mlattest", "merge", "--step", "digest-mix", "--sign-out", "s3://attestations/run-7/",
				"--identity-token-file", "/var/run/sigstore/token", "--run-id", "run-7", "s3://scratch/run-7/"},
			wantEnv: map[string]string{"AWS_REGION": "eu-west-1"},
			sign:    true, config: true,
		},
		{
			golden: "scan-data.yaml", kind: ScanData, shards: 4, inputs: []string{"/data/sft/train.jsonl", "/data/sft/extra.jsonl"}, parts: "gs://scratch/run-7/",
			opts: []Option{WithShards(4), WithGCPServiceAccount("scanner@my-project.iam.gserviceaccount.com"),
				WithWorkerArgs("--min-support", "3"), WithBackoffLimitPerIndex(1), WithDataVolume("sft-datasets", "/data")},
			dataMount:  "/data",
			annotation: [2]string{"iam.gke.io/gcp-service-account", "scanner@my-project.iam.gserviceaccount.com"},
			saName:     "mlattest-scan-data",
			worker:     []string{"mlattest", "scan", "data", "--part-out", "gs://scratch/run-7/", "--min-support", "3", "/data/sft/train.jsonl", "/data/sft/extra.jsonl"},
			merge:      []string{"mlattest", "merge", "gs://scratch/run-7/"},
			wantEnv:    map[string]string{},
		},
		{
			// The datasets are a bucket's objects: no volume.
			kind: ScanData, shards: 3, inputs: []string{"s3://datasets/sft/", "gs://more/extra.jsonl"}, parts: "s3://scratch/run-8/",
			opts:    []Option{WithShards(3), WithServiceAccount("storage-reader")},
			saName:  "storage-reader",
			worker:  []string{"mlattest", "scan", "data", "--part-out", "s3://scratch/run-8/", "s3://datasets/sft/", "gs://more/extra.jsonl"},
			merge:   []string{"mlattest", "merge", "s3://scratch/run-8/"},
			wantEnv: map[string]string{},
		},
		{
			kind: Digest, shards: 1, inputs: []string{"gs://datasets/mix/"}, parts: "s3://scratch/run-7/",
			opts: []Option{WithShards(1), WithServiceAccount("storage-reader"), WithBinary("/usr/local/bin/mlattest"),
				WithEnv("AWS_ENDPOINT_URL_S3", "http://minio.storage:9000")},
			saName:  "storage-reader",
			worker:  []string{"/usr/local/bin/mlattest", "digest", "--part-out", "s3://scratch/run-7/", "gs://datasets/mix/"},
			merge:   []string{"/usr/local/bin/mlattest", "merge", "s3://scratch/run-7/"},
			wantEnv: map[string]string{"AWS_ENDPOINT_URL_S3": "http://minio.storage:9000"},
		},
	} {
		t.Run(string(tc.kind)+"/"+tc.golden, func(t *testing.T) {
			set, err := New(tc.kind, tc.inputs, tc.parts, append([]Option{WithImage(testImage)}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			y, err := set.YAML()
			if err != nil {
				t.Fatal(err)
			}
			d := decode(t, y)
			if tc.annotation[0] == "" {
				if d.sa != nil {
					t.Errorf("a ServiceAccount was rendered for an existing one")
				}
			} else if d.sa == nil || d.sa.Annotations[tc.annotation[0]] != tc.annotation[1] || len(d.sa.Annotations) != 1 || d.sa.Name != tc.saName {
				t.Errorf("service account %+v: want %s with %s=%s", d.sa, tc.saName, tc.annotation[0], tc.annotation[1])
			}
			n := tc.shards
			w := d.workers.Spec
			if w.CompletionMode == nil || *w.CompletionMode != batchv1.IndexedCompletion ||
				*w.Completions != n || *w.Parallelism != n || w.BackoffLimitPerIndex == nil || w.BackoffLimit != nil {
				t.Errorf("workers spec: mode %v completions %v parallelism %v backoffLimitPerIndex %v backoffLimit %v; want Indexed, %d, %d, set, unset",
					w.CompletionMode, w.Completions, w.Parallelism, w.BackoffLimitPerIndex, w.BackoffLimit, n, n)
			}
			for _, job := range []*batchv1.Job{d.workers, d.merge} {
				ps := job.Spec.Template.Spec
				if ps.ServiceAccountName != tc.saName || ps.RestartPolicy != corev1.RestartPolicyNever || len(ps.Containers) != 1 {
					t.Errorf("%s: service account %q restart %q containers %d", job.Name, ps.ServiceAccountName, ps.RestartPolicy, len(ps.Containers))
				}
				if ps.Containers[0].Image != testImage {
					t.Errorf("%s: image %q, want %q", job.Name, ps.Containers[0].Image, testImage)
				}
				claim := ""
				for _, v := range ps.Volumes {
					if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ReadOnly {
						claim = v.PersistentVolumeClaim.ClaimName
					}
				}
				if (tc.dataMount != "") != (claim != "" && mounted(ps.Containers[0], tc.dataMount)) {
					t.Errorf("%s: data volume %q mounted at %q: want it read-only in every pod exactly when given", job.Name, claim, tc.dataMount)
				}
			}
			wc := d.workers.Spec.Template.Spec.Containers[0]
			if !slices.Equal(wc.Command, tc.worker) || len(wc.Args) > 0 {
				t.Errorf("worker command %q %q\nwant %q", wc.Command, wc.Args, tc.worker)
			}
			we := env(wc)
			if we["JOB_COMPLETIONS"] != fmt.Sprint(n) {
				t.Errorf("worker JOB_COMPLETIONS=%q, want %d", we["JOB_COMPLETIONS"], n)
			}
			delete(we, "JOB_COMPLETIONS")
			mc := d.merge.Spec.Template.Spec.Containers[0]
			if !slices.Equal(mc.Command, tc.merge) {
				t.Errorf("merge command %q\nwant %q", mc.Command, tc.merge)
			}
			me := env(mc)
			if tc.config {
				if me["MLATTEST_SIGNING_CONFIG"] != SigstoreDir+"/signing_config.json" || me["MLATTEST_TRUSTED_ROOT"] != SigstoreDir+"/trusted_root.json" {
					t.Errorf("merge env %v: want the ConfigMap's signing config and trusted root", me)
				}
				delete(me, "MLATTEST_SIGNING_CONFIG")
				delete(me, "MLATTEST_TRUSTED_ROOT")
			}
			if !mapsEqual(we, tc.wantEnv) || !mapsEqual(me, tc.wantEnv) {
				t.Errorf("env: workers %v merge %v, want %v", we, me, tc.wantEnv)
			}
			if _, ok := me["JOB_COMPLETIONS"]; ok {
				t.Error("the merge pod is not a shard")
			}
			if pfp := d.merge.Spec.PodFailurePolicy; pfp == nil || len(pfp.Rules) != 1 || pfp.Rules[0].Action != batchv1.PodFailurePolicyActionFailJob ||
				!slices.Equal(pfp.Rules[0].OnExitCodes.Values, []int32{1, 2}) {
				t.Errorf("merge podFailurePolicy %+v: want FailJob on exit 1 and 2", pfp)
			}
			for _, j := range []*batchv1.Job{d.workers, d.merge} {
				if p := j.Spec.PodReplacementPolicy; p == nil || *p != batchv1.Failed {
					t.Errorf("%s: podReplacementPolicy %v, want Failed (no second pod writing a part while one terminates)", j.Name, p)
				}
			}
			tok := projectedToken(d.merge)
			switch {
			case tc.sign && (tok == nil || tok.Audience != TokenAudience || tok.Path != "token" || !mounted(mc, filepath.Dir(TokenFile))):
				t.Errorf("merge: projected token %+v mounts %+v: want audience %q at %s", tok, mc.VolumeMounts, TokenAudience, TokenFile)
			case !tc.sign && tok != nil:
				t.Errorf("merge without signing has a projected token")
			}
			if projectedToken(d.workers) != nil {
				t.Error("workers get a Sigstore token")
			}
			if tc.golden == "" {
				return
			}
			golden := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(golden, y, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(y, want) {
				t.Errorf("rendered YAML differs from %s (go test ./k8sjob -update rewrites it):\n%s", golden, y)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func projectedToken(j *batchv1.Job) *corev1.ServiceAccountTokenProjection {
	for _, v := range j.Spec.Template.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				return s.ServiceAccountToken
			}
		}
	}
	return nil
}

func mounted(c corev1.Container, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath == path {
			return true
		}
	}
	return false
}

// TestNewRefuses: every invalid job is refused with ErrInvalid (and the
// sentinel that names its cause), and the message names the value.
func TestNewRefuses(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/r"
	ok := []Option{WithImage(testImage), WithShards(2), WithAWSRole(role)}
	for _, tc := range []struct {
		name       string
		kind       Kind
		loc, parts string
		opts       []Option
		is         error
		want       string
	}{
		{"mutable tag", Digest, "", "", []Option{WithImage("registry.example/mlattest:v1")}, ErrMutableImage, "a tag does not pin an image"},
		{"latest", Digest, "", "", []Option{WithImage("mlattest")}, ErrMutableImage, "a tag does not pin an image"},
		{"short digest", Digest, "", "", []Option{WithImage("mlattest@sha256:abc")}, ErrMutableImage, "64 lowercase hex"},
		{"no image", Digest, "", "", []Option{WithImage("")}, ErrMutableImage, "no image"},
		{"zero shards", Digest, "", "", []Option{WithShards(0)}, ErrInvalid, "0 shards: want at least 1"},
		{"negative shards", Digest, "", "", []Option{WithShards(-3)}, ErrInvalid, "-3 shards"},
		{"too many shards", Digest, "", "", []Option{WithShards(100000)}, ErrInvalid, "at most 99999"},
		{"missing role", Digest, "", "", []Option{WithAWSRole("")}, ErrNoIdentity, "no workload identity"},
		{"two identities", Digest, "", "", []Option{WithGCPServiceAccount("a-sa-name@proj-123.iam.gserviceaccount.com")}, ErrInvalid, "give one workload identity"},
		{"bad role", Digest, "", "", []Option{WithAWSRole("arn:aws:iam::12:role/r")}, ErrInvalid, "want arn:aws:iam::ACCOUNT:role/NAME"},
		{"bad gcp sa", Digest, "", "", []Option{WithAWSRole(""), WithGCPServiceAccount("me@gmail.com")}, ErrInvalid, "NAME@PROJECT.iam.gserviceaccount.com"},
		{"bad existing sa", Digest, "", "", []Option{WithAWSRole(""), WithServiceAccount("Bad_SA")}, ErrInvalid, `service account "Bad_SA"`},
		{"bad prefix scheme", Digest, "file:///data/x", "", nil, ErrInvalid, "need an s3://BUCKET/PREFIX or gs://"},
		{"local path", Digest, "/data/mix", "", nil, ErrInvalid, "location"},
		{"no bucket", Digest, "s3:///x/", "", nil, ErrInvalid, "no bucket"},
		{"bad parts", Digest, "", "file:///tmp/parts", nil, ErrInvalid, "parts prefix"},
		{"local parts", Digest, "", "/tmp/parts", nil, ErrInvalid, "parts prefix"},
		{"two locations", Digest, "s3://b/data/ s3://b/more/", "", nil, ErrInvalid, "one location, got 2"},
		{"scan without volume", ScanData, "/data/a.jsonl", "", nil, ErrInvalid, "from a volume: none given"},
		{"scan outside volume", ScanData, "/etc/passwd", "", []Option{WithDataVolume("ds", "/data")}, ErrInvalid, "below the data volume's mount /data"},
		{"scan relative", ScanData, "data/a.jsonl", "", []Option{WithDataVolume("ds", "/data")}, ErrInvalid, `dataset "data/a.jsonl"`},
		{"scan unclean", ScanData, "/data/../etc/x", "", []Option{WithDataVolume("ds", "/data")}, ErrInvalid, "clean absolute path"},
		{"scan twice", ScanData, "/data/a /data/a", "", []Option{WithDataVolume("ds", "/data")}, ErrInvalid, "given twice"},
		{"scan parts inside datasets", ScanData, "/data/a s3://b/data/", "s3://b/data/parts/", []Option{WithDataVolume("ds", "/data")}, ErrInvalid, "lies inside the dataset location s3://b/data/"},
		{"scan file url", ScanData, "file:///data/a.jsonl", "", []Option{WithDataVolume("ds", "/data")}, ErrInvalid, "dataset location"},
		{"scan bucket twice", ScanData, "s3://b/data/ s3://b/data/", "", nil, ErrInvalid, "given twice"},
		{"scan bucket and file without volume", ScanData, "s3://b/data/ /data/a", "", nil, ErrInvalid, "from a volume: none given"},
		{"bad claim", ScanData, "/data/a", "", []Option{WithDataVolume("Bad Claim", "/data")}, ErrInvalid, `PersistentVolumeClaim "Bad Claim"`},
		{"mount at root", ScanData, "/data/a", "", []Option{WithDataVolume("ds", "/")}, ErrInvalid, "mount path"},
		{"mount on tmp", ScanData, "/tmp/a", "", []Option{WithDataVolume("ds", "/tmp")}, ErrInvalid, "mount path"},
		{"parts inside location", Digest, "s3://b/data/", "s3://b/data/parts/", nil, ErrInvalid, "lies inside the location"},
		{"parts are location", Digest, "s3://b/data/", "s3://b/data/", nil, ErrInvalid, "lies inside the location"},
		{"whole bucket", Digest, "s3://b", "s3://b/parts/", nil, ErrInvalid, "lies inside the location"},
		{"bad kind", Kind("scan-model"), "", "", nil, ErrInvalid, `kind "scan-model"`},
		{"bad name", Digest, "", "", []Option{WithName("Mix_Digest")}, ErrInvalid, `name "Mix_Digest"`},
		{"long name", Digest, "", "", []Option{WithName(strings.Repeat("a", 60))}, ErrInvalid, "name"},
		{"bad namespace", Digest, "", "", []Option{WithNamespace("ML")}, ErrInvalid, `namespace "ML"`},
		{"secret env", Digest, "", "", []Option{WithEnv("AWS_SECRET_ACCESS_KEY", "x")}, ErrInvalid, "looks like a credential"},
		{"session token", Digest, "", "", []Option{WithEnv("AWS_SESSION_TOKEN", "x")}, ErrInvalid, "looks like a credential"},
		{"own env", Digest, "", "", []Option{WithEnv("JOB_COMPLETIONS", "3")}, ErrInvalid, "set by the rendered job"},
		{"bad env name", Digest, "", "", []Option{WithEnv("A-B", "x")}, ErrInvalid, `"A-B"`},
		{"step without out", Digest, "", "", []Option{WithSigning("s", "")}, ErrInvalid, "both a step name and an output"},
		{"bad step", Digest, "", "", []Option{WithSigning("bad step", "s3://att/x/")}, ErrInvalid, "invalid step name"},
		{"bad run id", Digest, "", "", []Option{WithSigning("s", "s3://att/x/"), WithRunID("a b")}, ErrInvalid, "run id"},
		{"run id without signing", Digest, "", "", []Option{WithRunID("r")}, ErrInvalid, "needs signing"},
		{"sign out inside location", Digest, "", "", []Option{WithSigning("s", "s3://b/data/att/")}, ErrInvalid, "signature output"},
		{"sign out relative", Digest, "", "", []Option{WithSigning("s", "att")}, ErrInvalid, "absolute directory"},
		{"sign scan", ScanData, "/data/a", "", []Option{WithDataVolume("ds", "/data"), WithSigning("s", "s3://att/x/")}, ErrInvalid, "only digest"},
		{"configmap without signing", Digest, "", "", []Option{WithSigstoreConfigMap("c")}, ErrInvalid, "only used for signing"},
		{"negative backoff", Digest, "", "", []Option{WithBackoffLimitPerIndex(-1)}, ErrInvalid, "backoff"},
		{"binary with space", Digest, "", "", []Option{WithBinary("ml attest")}, ErrInvalid, "binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, parts := tc.loc, tc.parts
			if loc == "" {
				loc = "s3://b/data/"
			}
			if parts == "" {
				parts = "s3://b/parts/"
			}
			set, err := New(tc.kind, strings.Fields(loc), parts, append(slices.Clone(ok), tc.opts...)...)
			if err == nil || !errors.Is(err, tc.is) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v\nwant an error wrapping %v containing %q", set, err, tc.is, tc.want)
			}
		})
	}
	if _, err := New(Digest, []string{"s3://b/data/"}, "s3://b/parts/", ok...); err != nil {
		t.Fatalf("the valid base of the table is refused: %v", err)
	}
}
