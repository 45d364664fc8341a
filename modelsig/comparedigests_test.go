package modelsig

import (
	"errors"
	"strings"
	"testing"
)

// TestCompareDigests: a files manifest against whole-file digests, with the
// signature's ignore paths and git's files left out unless signed.
func TestCompareDigests(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	m := &Manifest{Serialization: Serialization{Method: MethodFiles, HashType: HashSHA256, IgnorePaths: []string{"logs"}},
		Resources: []Resource{{Name: "m.bin", Algorithm: HashSHA256, Digest: a}, {Name: "sub/c.json", Algorithm: HashSHA256, Digest: b}}}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // "" = equal
	}{
		{"equal", map[string]string{"m.bin": a, "sub/c.json": b}, ""},
		{"ignored path and git files left out", map[string]string{"m.bin": a, "sub/c.json": b, "logs/x": a, ".gitattributes": a}, ""},
		{"changed", map[string]string{"m.bin": b, "sub/c.json": b}, "changed: m.bin"},
		{"extra", map[string]string{"m.bin": a, "sub/c.json": b, "logsx": a}, "unsigned files present: logsx"},
		{"missing", map[string]string{"m.bin": a}, "signed files missing: sub/c.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := m.CompareDigests(tc.files)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want a mismatch with %q, got %v", tc.want, err)
			}
		})
	}
	sh := &Manifest{Serialization: Serialization{Method: MethodShards, HashType: HashSHA256, ShardSize: 10}}
	if err := sh.CompareDigests(map[string]string{}); !errors.Is(err, ErrShardedManifest) {
		t.Fatalf("shards manifest: %v", err)
	}
}
