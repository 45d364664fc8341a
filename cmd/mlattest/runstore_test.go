package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// TestRunStoreArtifactsGate: run --products and --materials over an s3://
// location record every object under its full URI with the SHA-256 of its
// bytes (odd names and an empty object included), and the release gate's
// artifact rules MATCH, ALLOW, CREATE and DISALLOW judge those names: the
// layout that matches the objects passes, a DISALLOW names the object it
// refuses, and an object replaced between the two steps fails MATCH
// naming it.
func TestRunStoreArtifactsGate(t *testing.T) {
	for _, srv := range storeServers() {
		t.Run(srv.name, func(t *testing.T) { testRunStoreArtifactsGate(t, srv.get(t)) })
	}
}

func testRunStoreArtifactsGate(t *testing.T, s storeServer) {
	bucket := s.bucket(t)
	files := map[string][]byte{
		"a.jsonl":            []byte(`{"instruction":"a","output":"b"}` + "\n"),
		"with space/b.jsonl": []byte("b\n"),
		"ünï/日本.jsonl":       []byte("c\n"),
		"empty":              {},
	}
	s.putAll(t, bucket, "data/", files)
	loc := s.scheme + "://" + bucket + "/data"
	dir := t.TempDir()
	do := func(t *testing.T, args ...string) cliResult {
		t.Helper()
		return mlattest(t, dir, s.env, args...)
	}
	must := succeeding(do)
	for _, k := range []string{"owner", "ci"} {
		must(t, "keygen", "--output-key-prefix", k, "--no-passphrase")
	}
	steps := func(t *testing.T, run, out string, between func()) {
		t.Helper()
		must(t, "run", "--step", "prep", "--run-id", run, "--key", "ci.key", "--offline", "--out", out, "--products", loc, "--", "true")
		between()
		must(t, "run", "--step", "train", "--run-id", run, "--key", "ci.key", "--offline", "--out", out,
			"--materials", loc, "--products", "model", "--", "sh", "-c", "mkdir -p model && echo m > model/m.bin")
	}
	steps(t, "r1", "att", func() {})

	// The link names each object by URI, with the digest of its bytes.
	mats := map[string]string{}
	for _, m := range payload(t, filepath.Join(dir, "att", "train.link.sigstore.json"))["predicate"].(map[string]any)["materials"].([]any) {
		m := m.(map[string]any)
		mats[m["name"].(string)] = m["digest"].(map[string]any)["sha256"].(string)
	}
	if len(mats) != len(files) {
		t.Fatalf("materials %v, want the %d objects", mats, len(files))
	}
	for name, b := range files {
		sum := sha256.Sum256(b)
		if got := mats[loc+"/"+name]; got != hex.EncodeToString(sum[:]) {
			t.Errorf("material %s/%s: sha256 %q, want %x", loc, name, got, sum)
		}
	}

	head := keyLayoutHead(t, dir)
	layout := func(name, prepProducts, trainMaterials string) string {
		writeFile(t, filepath.Join(dir, name), head+`steps:
  - name: prep
    functionaries: [ci]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [`+prepProducts+`]
  - name: train
    functionaries: [ci]
    expectedMaterials: [`+trainMaterials+`]
    expectedProducts: [CREATE model/m.bin, DISALLOW *]
subject:
  step: train
  patterns: ["model/*"]
requireTransparencyLog: false
`)
		must(t, "layout", "sign", name, "--key", "owner.key", "--offline")
		return name
	}
	verify := func(t *testing.T, l, att string) cliResult {
		return do(t, "verify", "--layout", l, "--layout-key", "owner.pub", "--attestations", att, "--model", "model")
	}
	pass := layout("pass.yaml", "CREATE "+loc+"/*, DISALLOW *", "MATCH * IN "+loc+" WITH PRODUCTS IN "+loc+" FROM prep, DISALLOW *")
	for _, tc := range []struct {
		name, layout string
		wantCode     int
		want         []string
	}{
		{"MATCH and CREATE on URIs pass", pass, 0, []string{"PASSED"}},
		{"ALLOW one object, DISALLOW the rest", layout("allow.yaml", "ALLOW "+loc+"/*, DISALLOW *", "ALLOW "+loc+"/a.jsonl, ALLOW "+loc+"/empty, DISALLOW *"),
			1, []string{"DISALLOW *", loc + "/with space/b.jsonl"}},
		{"a local pattern matches no URI", layout("local.yaml", "ALLOW data/*, DISALLOW *", "ALLOW *"), 1, []string{"DISALLOW *", loc + "/a.jsonl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := verify(t, tc.layout, "att")
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d: %v", r.code, tc.wantCode, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
	t.Run("an object replaced between the steps fails MATCH naming it", func(t *testing.T) {
		steps(t, "r2", "att2", func() { s.putAll(t, bucket, "data/", map[string][]byte{"a.jsonl": []byte("replaced\n")}) })
		r := verify(t, pass, "att2")
		if r.code != 1 || !strings.Contains(r.stdout, loc+"/a.jsonl") || !strings.Contains(r.stdout, "digest differs") {
			t.Fatalf("want exit 1 naming %s/a.jsonl and the digest: %v", loc, r)
		}
	})
}

// TestRunStorePickleMaterial: a pickle among the objects of an s3://
// material is refused before the command runs (exit 125, naming the
// object by URI), as a local pickle material is; --allow-pickle records
// it.
func TestRunStorePickleMaterial(t *testing.T) {
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	s.PutAll(t, bucket, "in/", map[string][]byte{"ok.jsonl": []byte("{}\n"), "w/pytorch_model.bin": []byte(evilPickle)})
	loc := "s3://" + bucket + "/in"
	dir := t.TempDir()
	do := func(t *testing.T, args ...string) cliResult {
		t.Helper()
		return mlattest(t, dir, s.Env(), args...)
	}
	succeeding(do)(t, "keygen", "--output-key-prefix", "ci", "--no-passphrase")
	args := []string{"run", "--step", "s", "--run-id", "r", "--key", "ci.key", "--offline", "--out", "att", "--materials", loc}
	r := do(t, append(args, "--", "touch", "ran")...)
	if r.code != 125 || !strings.Contains(r.stderr, loc+"/w/pytorch_model.bin") || !strings.Contains(r.stderr, "pickle") {
		t.Fatalf("want exit 125 naming the pickle object: %v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("the command ran")
	}
	succeeding(do)(t, append(args, "--allow-pickle", "--out", "att2", "--", "true")...)
}

// TestStoreSecretsNeverPrinted: whatever fails (a wrong secret key, a
// missing bucket, service-account credentials whose token cannot be
// had), no command prints a secret it was given: neither secret access
// key nor any line of a private key.
func TestStoreSecretsNeverPrinted(t *testing.T) {
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	s.Put(t, bucket, "p/a", []byte("a"))
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY0123"
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	keyBody := strings.Split(pemKey, "\n")[1] // a line of the secret key's base64
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "p", "private_key_id": secret, "private_key": pemKey,
		"client_email": "x@p.iam.gserviceaccount.com", "client_id": "1", "token_uri": "http://127.0.0.1:9/token",
	})
	writeFile(t, filepath.Join(dir, "sa.json"), string(sa))
	writeFile(t, filepath.Join(dir, "model", "m.bin"), "m")
	wrong := append(s.Env(), "AWS_SECRET_ACCESS_KEY="+secret)
	// Nothing may leave the machine: every HTTP(S) request goes to a
	// proxy that refuses it.
	gcs := append([]string{"GOOGLE_APPLICATION_CREDENTIALS=" + filepath.Join(dir, "sa.json"), "CLOUDSDK_CONFIG=" + dir}, noNetwork...)
	succeeding(func(t *testing.T, args ...string) cliResult { return mlattest(t, dir, nil, args...) })(t, "keygen", "--output-key-prefix", "k", "--no-passphrase")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"digest, wrong secret", wrong, []string{"digest", "s3://" + bucket + "/p"}},
		{"scan data, wrong secret", wrong, []string{"scan", "data", "s3://" + bucket + "/p"}},
		{"scan model, wrong secret", wrong, []string{"scan", "model", "s3://" + bucket + "/p"}},
		{"run, wrong secret", wrong, []string{"run", "--step", "s", "--key", "k.key", "--offline", "--out", "o", "--materials", "s3://" + bucket + "/p", "--", "true"}},
		{"digest, no such bucket", s.Env(), []string{"digest", "s3://no-such-bucket-" + bucket + "/p"}},
		{"run, no such bucket", s.Env(), []string{"run", "--step", "s", "--key", "k.key", "--offline", "--out", "o", "--products", "s3://no-such-bucket-" + bucket + "/p", "--", "true"}},
		{"digest, gs service account", gcs, []string{"digest", "gs://b/p"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mlattest(t, dir, tc.env, tc.args...)
			if r.code == 0 {
				t.Fatalf("want a failure: %v", r)
			}
			for _, v := range []string{secret, keyBody, s.SecretKey} {
				if strings.Contains(r.stdout+r.stderr, v) {
					t.Fatalf("a secret was printed: %v", r)
				}
			}
		})
	}
}

// TestRunStoreManyObjects: a material prefix of 2,000 small objects (a
// tenth of them empty) is recorded object by object, each under its URI.
func TestRunStoreManyObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 2,000 objects")
	}
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	files := map[string][]byte{}
	for i := range 2000 {
		b := []byte(fmt.Sprintf("record %d\n", i))
		if i%10 == 0 {
			b = nil
		}
		files[fmt.Sprintf("shard-%02d/%05d.jsonl", i%17, i)] = b
	}
	s.PutAll(t, bucket, "many/", files)
	dir := t.TempDir()
	must := succeeding(func(t *testing.T, args ...string) cliResult { return mlattest(t, dir, s.Env(), args...) })
	must(t, "keygen", "--output-key-prefix", "ci", "--no-passphrase")
	start := time.Now()
	must(t, "run", "--step", "s", "--run-id", "r", "--key", "ci.key", "--offline", "--out", "att", "--materials", "s3://"+bucket+"/many", "--", "true")
	t.Logf("run over %d objects in %v", len(files), time.Since(start))
	mats := payload(t, filepath.Join(dir, "att", "s.link.sigstore.json"))["predicate"].(map[string]any)["materials"].([]any)
	if len(mats) != len(files) {
		t.Fatalf("%d materials, want %d", len(mats), len(files))
	}
	seen := map[string]bool{}
	for _, m := range mats {
		name := m.(map[string]any)["name"].(string)
		key, ok := strings.CutPrefix(name, "s3://"+bucket+"/many/")
		if _, listed := files[key]; !ok || !listed || seen[name] {
			t.Fatalf("material %q is not one of the objects, or is there twice", name)
		}
		seen[name] = true
	}
}
