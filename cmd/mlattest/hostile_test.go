package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mlattest/mlattest/predicates"
)

// Issue 10 classes 5, 6 and 7 end to end: a key-only run (everything signed
// offline), then hostile release trees and bundles. Each fails verification
// (exit 1, a FAILED report naming the file and the reason code), never a
// usage error; with --vsa the signed VSA says FAILED.
func TestVerifyHostileInputsCLI(t *testing.T) {
	dir := t.TempDir()
	must := succeeding(func(t *testing.T, args ...string) cliResult { return mlattest(t, dir, noNetwork, args...) })
	for _, k := range []string{"owner", "ci"} {
		must(t, "keygen", "--output-key-prefix", k, "--no-passphrase")
	}
	head := keyLayoutHead(t, dir)
	writeFile(t, filepath.Join(dir, "layout.yaml"), head+`steps:
  - name: train
    functionaries: [ci]
    expectedProducts: [CREATE model/*, DISALLOW *]
subject:
  step: train
  patterns: ["model/*"]
`)
	must(t, "layout", "sign", "layout.yaml", "--key", "owner.key", "--offline")
	must(t, "run", "--step", "train", "--run-id", "r1", "--key", "ci.key", "--offline", "--out", "att",
		"--products", "model", "--", "sh", "-c", "mkdir -p model && echo weights > model/m.bin")

	verifyArgs := func(att, model string, extra ...string) []string {
		return append([]string{"verify", "--layout", "layout.yaml", "--layout-key", "owner.pub",
			"--attestations", att, "--model", model}, extra...)
	}
	must(t, verifyArgs("att", "model")...)

	// copyTree copies the released model (one regular file) to a new tree
	// and lets hostile add to it.
	copyTree := func(t *testing.T, hostile func(t *testing.T, tree string)) string {
		t.Helper()
		tree := filepath.Join(t.TempDir(), "model")
		writeFile(t, filepath.Join(tree, "m.bin"), "weights\n")
		hostile(t, tree)
		return tree
	}
	// copyAtt copies the attestations and adds one file.
	copyAtt := func(t *testing.T, name string, data []byte, size int64) string {
		t.Helper()
		att := t.TempDir()
		ents, err := os.ReadDir(filepath.Join(dir, "att"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, "att", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(att, e.Name()), string(b))
		}
		p := filepath.Join(att, name)
		writeFile(t, p, string(data))
		if size > 0 {
			if err := os.Truncate(p, size); err != nil {
				t.Fatal(err)
			}
		}
		return att
	}
	link, err := os.ReadFile(filepath.Join(dir, "att", "train.link.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(link, []byte(`"mediaType"`))
	dupKey := append(append(append([]byte{}, link[:i]...), `"mediaType":"x",`...), link[i:]...)

	for _, tc := range []struct {
		name       string
		att, model func(t *testing.T) string
		want       []string // in stdout
	}{
		{name: "symbolic link in the release tree",
			model: func(t *testing.T) string {
				return copyTree(t, func(t *testing.T, tree string) {
					if err := os.Symlink("/etc/passwd", filepath.Join(tree, "extra.bin")); err != nil {
						t.Fatal(err)
					}
				})
			},
			want: []string{"artifact extra.bin: the released model", "holds a symbolic link", "[model-tree]"}},
		{name: "FIFO in the release tree",
			model: func(t *testing.T) string {
				return copyTree(t, func(t *testing.T, tree string) {
					if err := syscall.Mkfifo(filepath.Join(tree, "pipe"), 0o644); err != nil {
						t.Skip(err)
					}
				})
			},
			want: []string{"artifact pipe: the released model", "named pipe (FIFO)", "[model-tree]"}},
		{name: "duplicate key in a bundle",
			att:  func(t *testing.T) string { return copyAtt(t, "dup.sigstore.json", dupKey, 0) },
			want: []string{"bundle dup.sigstore.json", `duplicate object key "mediaType"`, "[duplicate-key]"}},
		{name: "60 MB bundle refused by its size",
			att:  func(t *testing.T) string { return copyAtt(t, "big.sigstore.json", nil, 60_000_000) },
			want: []string{"bundle big.sigstore.json: cannot read: larger than", "[bundle-rejected]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			att, model := filepath.Join(dir, "att"), filepath.Join(dir, "model")
			if tc.att != nil {
				att = tc.att(t)
			}
			if tc.model != nil {
				model = tc.model(t)
			}
			vsa := filepath.Join(t.TempDir(), "model.vsa.sigstore.json")
			r := mlattest(t, dir, noNetwork, verifyArgs(att, model, "--vsa", vsa, "--key", "owner.key", "--offline")...)
			if r.code != exitRejected || !strings.Contains(r.stdout, "FAILED") {
				t.Fatalf("want exit 1 and a FAILED report: %v", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("report lacks %q:\n%s", w, r.stdout)
				}
			}
			st, _ := payload(t, vsa)["predicate"].(map[string]any)
			if res, _ := st["verificationResult"].(string); res != predicates.VSAFailed {
				t.Fatalf("VSA verificationResult %q, want FAILED", res)
			}
		})
	}

	t.Run("a missing model stays an input error", func(t *testing.T) {
		if r := mlattest(t, dir, noNetwork, verifyArgs("att", filepath.Join(dir, "nope"))...); r.code != exitUsage {
			t.Fatalf("want exit 2: %v", r)
		}
	})
}
