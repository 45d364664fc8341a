package main

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

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
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	files := map[string][]byte{
		"a.jsonl":            []byte(`{"instruction":"a","output":"b"}` + "\n"),
		"with space/b.jsonl": []byte("b\n"),
		"ünï/日本.jsonl":       []byte("c\n"),
		"empty":              {},
	}
	s.PutAll(t, bucket, "data/", files)
	loc := "s3://" + bucket + "/data"
	dir := t.TempDir()
	do := func(t *testing.T, args ...string) cliResult {
		t.Helper()
		return mlattest(t, dir, s.Env(), args...)
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
		steps(t, "r2", "att2", func() { s.Put(t, bucket, "data/a.jsonl", []byte("replaced\n")) })
		r := verify(t, pass, "att2")
		if r.code != 1 || !strings.Contains(r.stdout, loc+"/a.jsonl") || !strings.Contains(r.stdout, "digest differs") {
			t.Fatalf("want exit 1 naming %s/a.jsonl and the digest: %v", loc, r)
		}
	})
}
