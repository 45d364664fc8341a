package rekorv1replay

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/repotest"
)

// TestRecordings builds every recording twice from the conformance bundles:
// the same bytes each time (tests and fuzz seeds depend on it), one entry
// answer per log entry the bundles carry, a log.json and an index naming
// only recorded entries.
func TestRecordings(t *testing.T) {
	conf := repotest.Conformance(t)
	for name, bundles := range Recordings {
		t.Run(name, func(t *testing.T) {
			var paths []string
			for _, b := range bundles {
				paths = append(paths, filepath.Join(conf, b))
			}
			files, err := Record(paths)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Record(paths)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(files, again, bytes.Equal) {
				t.Error("Record is not deterministic")
			}
			var entries []string
			for f := range files {
				if strings.HasPrefix(f, "entries/") {
					entries = append(entries, strings.TrimSuffix(strings.TrimPrefix(f, "entries/"), ".json"))
				}
			}
			if len(entries) != len(bundles) {
				t.Errorf("%d entry answers for %d bundles of one entry each", len(entries), len(bundles))
			}
			if _, ok := files["log.json"]; !ok {
				t.Error("no log.json")
			}
			var index map[string][]string
			if err := json.Unmarshal(files["index.json"], &index); err != nil {
				t.Fatalf("index.json: %v", err)
			}
			for key, ids := range index {
				for _, id := range ids {
					if !slices.Contains(entries, id) {
						t.Errorf("index key %q names %s, which is not recorded", key, id)
					}
				}
			}
			dir := Conformance(t, name)
			for f, want := range files {
				if got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f))); err != nil || !bytes.Equal(got, want) {
					t.Errorf("Conformance(%q) wrote %s differently (%v)", name, f, err)
				}
			}
		})
	}
}

func TestRecordRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"missing.json": "",
		"garbage.json": "{not json",
	} {
		p := filepath.Join(dir, name)
		if content != "" {
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Record([]string{p}); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: Record gave %v, want an error naming the file", name, err)
		}
	}
}
