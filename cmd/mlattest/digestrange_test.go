package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// TestDigestRangeShardedMatchesSingle: with --sharded, N in {1, 2, 3, 7}
// worker processes (JOB_COMPLETION_INDEX set, as an Indexed Job does)
// split a file of many shards between them, and merge prints byte for
// byte what the single-process sharded digest of the location prints
// (text with its manifest line, and --json), which is the local
// directory's sharded digest.
func TestDigestRangeShardedMatchesSingle(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tree := map[string]string{"empty": "", "odd/with space": "s", ".git/HEAD": "ignored",
		"model/big.bin": strings.Repeat("0123456789abcdef", 5<<16) + "tail"} // 5 MiB + 4
	for i := range 40 {
		tree[fmt.Sprintf("d/f%03d", i)] = strings.Repeat("x", (i*7919)%30000)
	}
	writeTree(t, data, tree)
	loc := "file://" + filepath.ToSlash(data)
	local := mlattest(t, data, nil, "digest", "--sharded", "1MiB", ".")
	if local.code != 0 || strings.Count(local.stdout, "model/big.bin:") != 6 || !strings.Contains(local.stderr, "sha256-sharded-1048576 manifest of") {
		t.Fatalf("local: %v", local)
	}
	for _, jsonArgs := range [][]string{nil, {"--json"}} {
		single := mlattest(t, dir, nil, append([]string{"digest", "--sharded", "1MiB"}, append(jsonArgs, loc)...)...)
		if single.code != 0 || (jsonArgs == nil && (single.stdout != local.stdout || single.stderr != local.stderr)) {
			t.Fatalf("single %v: %v\nwant the local sharded digest %v", jsonArgs, single, local)
		}
		for _, n := range []int{1, 2, 3, 7} {
			parts := filepath.Join(t.TempDir(), "parts")
			merged := shardedRunWith(t, dir, nil, []string{"--sharded", "1MiB"}, loc, parts, n, jsonArgs...)
			if merged.code != 0 || merged.stdout != single.stdout || merged.stderr != single.stderr {
				t.Fatalf("N=%d %v: merge differs from the single sharded digest:\n%v\nwant %v", n, jsonArgs, merged, single)
			}
			if n == 7 {
				// The 5 full ranges of big.bin are hashed by 5 workers
				// (the 4-byte last one goes wherever the load is least).
				holders := 0
				for i := range n {
					b, _ := os.ReadFile(filepath.Join(parts, fmt.Sprintf("part-%05d-of-00007.json", i)))
					if strings.Contains(string(b), `"name":"model/big.bin"`) {
						holders++
					}
				}
				if holders < 5 {
					t.Fatalf("N=7: big.bin's 6 ranges are in %d parts, want at least 5", holders)
				}
			}
		}
	}
}

// TestMergeRefusesRangeParts: a part that lost a range, a range held by
// two parts, and a whole-file part among range parts are each refused,
// exit 2, naming the part file, with nothing on stdout.
func TestMergeRefusesRangeParts(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTree(t, data, map[string]string{"big": strings.Repeat("b", 10_000), "small": "s", "empty": ""})
	loc := "file://" + filepath.ToSlash(data)
	part := func(parts string, i int) string {
		return filepath.Join(parts, fmt.Sprintf("part-%05d-of-00003.json", i))
	}
	// edit rewrites part i's JSON through fn.
	edit := func(t *testing.T, parts string, i int, fn func(p map[string]any)) {
		b, err := os.ReadFile(part(parts, i))
		if err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		fn(p)
		if b, err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(part(parts, i), b, 0o644)
	}
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, parts string)
		want  string
	}{
		{"range lost", func(t *testing.T, parts string) {
			edit(t, parts, 0, func(p map[string]any) { p["ranges"] = p["ranges"].([]any)[1:] })
		}, "part-00000-of-00003.json: its 1 ranges are not the ones it records it was given"},
		{"range in two parts", func(t *testing.T, parts string) {
			var first any
			edit(t, parts, 0, func(p map[string]any) { first = p["ranges"].([]any)[0] })
			edit(t, parts, 1, func(p map[string]any) { p["ranges"] = append([]any{first}, p["ranges"].([]any)...) })
		}, "part-00001-of-00003.json: its"},
		{"whole-file part among them", func(t *testing.T, parts string) {
			if w := mlattest(t, dir, nil, "digest", "--shard", "2/3", "--part-out", parts, loc); w.code != 0 {
				t.Fatalf("whole-file worker: %v", w)
			}
		}, "foreign part"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := filepath.Join(t.TempDir(), "parts")
			if r := shardedRunWith(t, dir, nil, []string{"--sharded", "4kB"}, loc, parts, 3); r.code != 0 {
				t.Fatalf("clean run: %v", r)
			}
			tc.spoil(t, parts)
			r := mlattest(t, dir, nil, "merge", parts)
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "part-0000") {
				t.Fatalf("%v\nwant exit 2 naming the part with %q", r, tc.want)
			}
		})
	}
}

// TestDigestRangeShardedS3: three worker processes over an s3:// prefix
// with a 40 MiB object cut into 8 MB ranges, parts in the bucket; merge
// prints the single-process sharded digest of the prefix.
func TestDigestRangeShardedS3(t *testing.T) {
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	files := map[string][]byte{"big.bin": patternBytes(3, 40<<20+1), "empty": {}, "small": patternBytes(4, 99)}
	s.PutAll(t, bucket, "m/", files)
	dir, env, loc := t.TempDir(), s.Env(), "s3://"+bucket+"/m/"
	single := mlattest(t, dir, env, "digest", "--sharded", "8MB", loc)
	if single.code != 0 || strings.Count(single.stdout, "\n") != 6+2 {
		t.Fatalf("single: %v", single)
	}
	merged := shardedRunWith(t, dir, env, []string{"--sharded", "8MB"}, loc, "s3://"+bucket+"/parts/", 3)
	if merged.code != 0 || merged.stdout != single.stdout || merged.stderr != single.stderr {
		t.Fatalf("merge differs from the single sharded digest:\n%v\nwant %v", merged, single)
	}
}
