package digest

import (
	"errors"
	"path"
	"slices"
	"strings"
	"testing"
)

func TestIgnoreMatch(t *testing.T) {
	tests := []struct {
		pattern string
		rel     string
		isDir   bool
		want    bool
	}{
		{".git/", ".git", true, true},
		{".git/", "a/b/.git", true, true},
		{".git/", ".git", false, false},
		{".git/", ".gitignore", false, false},
		{"*.tmp", "x.tmp", false, true},
		{"*.tmp", "a/b/x.tmp", false, true},
		{"*.tmp", "a.tmp/x", false, false},
		{"*.tmp", "d.tmp", true, true},
		{"data/*.bin", "data/x.bin", false, true},
		{"data/*.bin", "data/sub/x.bin", false, false},
		{"data/*.bin", "other/data/x.bin", false, false},
		{"/data/", "data", true, true},
		{"/data/", "sub/data", true, false},
		{"a/b/", "a/b", true, true},
		{"a/b/", "a/b", false, false},
		{"?", "x", false, true},
		{"?", "xy", false, false},
		{`\*`, "*", false, true},
		{`\*`, "x", false, false},
	}
	for _, tc := range tests {
		ip, err := parseIgnore(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := ip.match(tc.rel, tc.isDir); got != tc.want {
			t.Errorf("%q matching %q (dir %v) = %v, want %v", tc.pattern, tc.rel, tc.isDir, got, tc.want)
		}
	}
	for _, bad := range []string{"", "/", "//", "a//", "[", "a/[b/", `x\`} {
		if _, err := parseIgnore(bad); err == nil {
			t.Errorf("%q: no error", bad)
		} else if strings.Contains(bad, "[") && !errors.Is(err, path.ErrBadPattern) {
			t.Errorf("%q: error %v is not path.ErrBadPattern", bad, err)
		}
	}
}

// FuzzIgnore checks that the matcher never panics and keeps its invariants:
// directory patterns never match files, and a pattern without "/" only looks
// at the base name.
func FuzzIgnore(f *testing.F) {
	for _, s := range []struct {
		p, rel string
		dir    bool
	}{
		{".git/", "a/.git", true}, {"*.tmp", "x/y.tmp", false}, {"data/*.bin", "data/a.bin", false},
		{"/top/", "top", true}, {"[a-c]?", "b1", false}, {`\[`, "[", false},
	} {
		f.Add(s.p, s.rel, s.dir)
	}
	f.Fuzz(func(t *testing.T, pattern, rel string, isDir bool) {
		ip, err := parseIgnore(pattern)
		if err != nil {
			return
		}
		got := ip.match(rel, isDir)
		if got && ip.dirOnly && !isDir {
			t.Fatalf("directory pattern %q matched file %q", pattern, rel)
		}
		// A pattern of one name (at any depth or not) judges the base name
		// only; "**/a/b" needs more components than a base name has.
		if !ip.full && !strings.Contains(ip.glob, "/") && ip.match(path.Base(rel), isDir) != got {
			t.Fatalf("base-name pattern %q: %q and its base name disagree", pattern, rel)
		}
	})
}

func TestIgnoreAnyDepth(t *testing.T) {
	for _, c := range []struct {
		pattern, rel string
		dir, want    bool
	}{
		{"**/.cache/huggingface/", ".cache/huggingface", true, true},
		{"**/.cache/huggingface/", "model/.cache/huggingface", true, true},
		{"**/.cache/huggingface/", "a/b/.cache/huggingface", true, true},
		{"**/.cache/huggingface/", ".cache/huggingface", false, false},
		{"**/.cache/huggingface/", "huggingface", true, false},
		{"**/.cache/huggingface/", "x.cache/huggingface", true, false},
		{"**/.cache/huggingface/", ".cache/huggingface/download", true, false},
		{"**/*.tmp", "a/b.tmp", false, true},
	} {
		ip, err := parseIgnore(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := ip.match(c.rel, c.dir); got != c.want {
			t.Errorf("%q on %q (dir %v): %v", c.pattern, c.rel, c.dir, got)
		}
	}
	if !slices.Contains(DefaultIgnore(), "**/.cache/huggingface/") {
		t.Error("the default does not skip huggingface_hub's local-dir metadata")
	}
}
