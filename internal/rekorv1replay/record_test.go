package rekorv1replay

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlattest/mlattest/internal/repotest"
)

var record = flag.Bool("record", false, "rewrite audit/testdata/rekorv1/* from ../shared/conformance")

// recordings is every recording under audit/testdata/rekorv1 and the
// conformance bundles (relative to ../shared/conformance) it is built from.
var recordings = map[string][]string{
	"publicgood": {
		"sigstore-bundle-verify/happy-path-v0.1/bundle.sigstore.json",
		"sigstore-bundle-verify/happy-path-v0.3/bundle.sigstore.json",
		"sigstore-bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json",
		"model-signing/v0.3.1-sigstore/model.sig",
		"model-signing/v1.0.0-sigstore/model.sig",
		"model-signing/v1.0.1-sigstore/model.sig",
		"model-signing/v1.1.0-sigstore/model.sig",
	},
	"intoto-custom-root": {
		"sigstore-bundle-verify/intoto-with-custom-trust-root/bundle.sigstore.json",
	},
}

// TestRecordingsMatchConformance rebuilds every recording from the
// conformance bundles and compares it byte for byte with the one in
// testdata: the recorded answers are exactly the real log entries (run with
// -record to rewrite them).
func TestRecordingsMatchConformance(t *testing.T) {
	conf := repotest.Conformance(t)
	for name, bundles := range recordings {
		t.Run(name, func(t *testing.T) {
			var paths []string
			for _, b := range bundles {
				paths = append(paths, filepath.Join(conf, b))
			}
			files, err := Record(paths)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(repotest.Root(t), "audit", "testdata", "rekorv1", name)
			if *record {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := Write(dir, files); err != nil {
					t.Fatal(err)
				}
			}
			seen := 0
			err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				want, ok := files[filepath.ToSlash(rel)]
				if !ok {
					t.Errorf("%s: not built from the conformance bundles", rel)
					return nil
				}
				seen++
				if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
					t.Errorf("%s differs from what the conformance bundles give (rerun with -record?)", rel)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if seen != len(files) {
				t.Errorf("%d recorded files, the bundles give %d", seen, len(files))
			}
		})
	}
}
