package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestScanModelAndDigestWalkAlike: `scan model DIR` and `digest DIR` see the
// same files (.git/ skipped, nested folders walked), refuse a symbolic link
// by default and both follow it with --follow-symlinks.
func TestScanModelAndDigestWalkAlike(t *testing.T) {
	t.Chdir(t.TempDir())
	for p, content := range map[string]string{
		"m/weights.txt":         "weights\n",
		"m/sub/deep/notes.md":   "# notes\n",
		"m/.git/config":         "[core]\n",
		"m/.git/objects/ab/cd":  "object\n",
		"m/sub/.git/HEAD":       "ref: refs/heads/main\n",
		"m/sub/deep/readme.txt": "read me\n",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := func(args []string, key string) ([]string, cliResult) {
		t.Helper()
		r := runCLI(t, args...)
		var names []string
		if r.code == 0 || r.code == exitRejected {
			for _, l := range jsonLines(t, r.stdout) {
				names = append(names, l[key].(string))
			}
		}
		slices.Sort(names)
		return names, r
	}
	both := func(extra ...string) (scan, dig []string, rs, rd cliResult) {
		scan, rs = files(append([]string{"scan", "model", "m", "--json"}, extra...), "path")
		dig, rd = files(append([]string{"digest", "m", "--json"}, extra...), "name")
		return
	}

	scan, dig, rs, rd := both()
	want := []string{"m/sub/deep/notes.md", "m/sub/deep/readme.txt", "m/weights.txt"}
	if !slices.Equal(scan, want) || !slices.Equal(dig, want) {
		t.Fatalf("scan lists %v (%+v)\ndigest lists %v (%+v)\nwant both %v", scan, rs, dig, rd, want)
	}

	if err := os.Symlink("../weights.txt", "m/sub/link.txt"); err != nil {
		t.Fatal(err)
	}
	_, _, rs, rd = both()
	for name, r := range map[string]cliResult{"scan model": rs, "digest": rd} {
		if r.code != exitUsage || !strings.Contains(r.stderr, "m/sub/link.txt") || !strings.Contains(r.stderr, "symbolic link not allowed") || !strings.Contains(r.stderr, "pass --follow-symlinks") {
			t.Errorf("%s with a symlink: want exit %d naming the link, got %+v", name, exitUsage, r)
		}
	}

	scan, dig, rs, rd = both("--follow-symlinks")
	want = []string{"m/sub/deep/notes.md", "m/sub/deep/readme.txt", "m/sub/link.txt", "m/weights.txt"}
	if !slices.Equal(scan, want) || !slices.Equal(dig, want) {
		t.Fatalf("--follow-symlinks: scan lists %v (%+v)\ndigest lists %v (%+v)\nwant both %v", scan, rs, dig, rd, want)
	}
}
