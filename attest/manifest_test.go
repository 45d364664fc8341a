package attest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlattest/mlattest/predicates"
)

// TestManifestCollapse: a directory above the threshold is one descriptor in
// the link, backed by a manifest in the record; smaller trees stay listed.
func TestManifestCollapse(t *testing.T) {
	dir := t.TempDir()
	for i := range 6 {
		p := filepath.Join(dir, "data", fmt.Sprintf("s%d", i%2), fmt.Sprintf("f%d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"small/a", "out/b"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		threshold int
		manifests int
		materials []string
	}{
		{5, 1, []string{"data/", "small/a"}},
		{6, 0, []string{"data/s0/f0", "data/s0/f2", "data/s0/f4", "data/s1/f1", "data/s1/f3", "data/s1/f5", "small/a"}},
		{-1, 0, nil},
	} {
		s := &Step{Name: "clean", Dir: dir, Materials: []string{"data", "small"}, Products: []string{"out"}, Command: []string{"clean"}, ManifestThreshold: tc.threshold}
		rec, err := Attest(context.Background(), s, 0, testOpts(t, nil, WithGit(filepath.Join(dir, "no-git")))...)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Materials) != 7 {
			t.Errorf("threshold %d: record lists %d materials, want all 7", tc.threshold, len(rec.Materials))
		}
		if len(rec.Manifests) != tc.manifests {
			t.Fatalf("threshold %d: %d manifests", tc.threshold, len(rec.Manifests))
		}
		mats, err := predicates.MaterialsOf(rec.Statements[0].Statement)
		if err != nil {
			t.Fatal(err)
		}
		if tc.materials == nil {
			if len(mats) != 7 {
				t.Errorf("threshold -1: %d materials", len(mats))
			}
			continue
		}
		var names []string
		for _, m := range mats {
			names = append(names, m.Name)
		}
		if fmt.Sprint(names) != fmt.Sprint(tc.materials) {
			t.Errorf("threshold %d: materials %v, want %v", tc.threshold, names, tc.materials)
		}
		if tc.manifests == 1 {
			m := rec.Manifests[0]
			if m.Dir != "data/" || m.Files != 6 || mats[0].SHA256 != m.SHA256 {
				t.Errorf("manifest %+v", m)
			}
			entries, err := predicates.DecodeManifest(m.Data, m.SHA256)
			if err != nil || len(entries) != 6 || entries[0].Name != "s0/f0" {
				t.Errorf("manifest entries %v %v", entries, err)
			}
		}
	}
}
