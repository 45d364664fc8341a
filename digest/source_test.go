package digest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
)

// memSource is a Source over a map, listing in the order of keys given.
type memSource struct {
	keys  []string
	files map[string][]byte
	// readErr, if set, fails the read of that name.
	readErr map[string]error
	// shrink makes ReadTo return fewer bytes than listed for that name.
	shrink string
	reads  atomic.Int64
}

func newMemSource(files map[string][]byte) *memSource {
	s := &memSource{files: files}
	for k := range files {
		s.keys = append(s.keys, k)
	}
	sort.Strings(s.keys)
	return s
}

func (s *memSource) List(ctx context.Context, fn func(string, int64) error) error {
	for _, k := range s.keys {
		if err := fn(k, int64(len(s.files[k]))); err != nil {
			return err
		}
	}
	return nil
}

func (s *memSource) ReadTo(ctx context.Context, name string, size int64, w io.Writer) (int64, error) {
	s.reads.Add(1)
	if err := s.readErr[name]; err != nil {
		return 0, err
	}
	b := s.files[name]
	if name == s.shrink {
		b = b[:len(b)/2]
	}
	n, err := w.Write(b)
	return int64(n), err
}

// TestFromSourceEqualsPaths: a listing and a directory holding the same
// files give the same artifacts, ignore patterns included.
func TestFromSourceEqualsPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	files := map[string][]byte{
		"empty":                     {},
		"with space/a b.txt":        []byte("spaces"),
		"unicode/é/日本語.bin":         []byte("unicode"),
		"..dots/...x":               []byte("dots that are not segments"),
		"a-b":                       []byte("sorts before a/"),
		"a/b":                       []byte("inside a"),
		"a.txt":                     []byte("after a/ in a walk, before it in bytes"),
		"deep/1/2/3/4/5/6/7/8/9/f":  []byte("deep"),
		"back\\slash":               []byte("backslash"),
		".git/config":               []byte("ignored by default"),
		"x/.cache/huggingface/meta": []byte("ignored by default"),
		"big.bin":                   bytes.Repeat([]byte{7}, 3*bufSize+17),
	}
	for i := range 300 {
		b := make([]byte, rng.IntN(2000))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		files[fmt.Sprintf("many/%03d/f%d", i%17, i)] = b
	}
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"default ignore", nil},
		{"no ignore", []Option{WithIgnore()}},
		{"patterns", []Option{WithIgnore("many/", "*.txt", "deep/1/2/")}},
		{"one worker", []Option{WithWorkers(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := Paths(context.Background(), dir, []string{"."}, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			src := newMemSource(files)
			got, err := FromSource(context.Background(), src, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("FromSource differs from Paths:\n got %d artifacts\nwant %d", len(got), len(want))
			}
			if n := src.reads.Load(); n != int64(len(want)) {
				t.Errorf("%d reads for %d files: ignored files must not be read", n, len(want))
			}
		})
	}
}

// TestFromSourceMarkers: zero-size names ending in "/" are directory
// markers and produce nothing, as an empty directory does.
func TestFromSourceMarkers(t *testing.T) {
	src := newMemSource(map[string][]byte{"d/": {}, "d/x": []byte("x"), "empty/": {}})
	got, err := FromSource(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "d/x" {
		t.Fatalf("got %+v, want only d/x", got)
	}
}

func TestFromSourceRefuses(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name  string
		keys  []string // listed in this order
		setup func(*memSource)
		want  error
		path  string
	}{
		{"dot segment", []string{"a/./b"}, nil, ErrNotPath, "a/./b"},
		{"dotdot segment", []string{"a/../b"}, nil, ErrNotPath, "a/../b"},
		{"leading dotdot", []string{"../etc/passwd"}, nil, ErrNotPath, "../etc/passwd"},
		{"double slash", []string{"a//b"}, nil, ErrNotPath, "a//b"},
		{"leading slash", []string{"/abs"}, nil, ErrNotPath, "/abs"},
		{"lone dot", []string{"."}, nil, ErrNotPath, "."},
		{"NUL", []string{"a\x00b"}, nil, ErrNotPath, "a\x00b"},
		{"non-empty marker", []string{"d/"}, func(s *memSource) { s.files["d/"] = []byte("x") }, ErrNotPath, "d/"},
		{"not UTF-8", []string{"bad\xff"}, nil, ErrBadName, "bad\xff"},
		{"file and dir", []string{"a", "a-b", "a/b"}, nil, ErrFileAndDir, "a"},
		{"file and marker", []string{"a", "a/"}, nil, ErrFileAndDir, "a"},
		{"unsorted", []string{"b", "a"}, nil, ErrUnsorted, "a"},
		{"repeated", []string{"a", "a"}, nil, ErrUnsorted, "a"},
		{"short read", []string{"a", "b"}, func(s *memSource) { s.shrink = "b" }, ErrChanged, "b"},
		{"read error", []string{"a", "b"}, func(s *memSource) { s.readErr = map[string]error{"a": boom} }, boom, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &memSource{keys: tc.keys, files: map[string][]byte{}}
			for _, k := range tc.keys {
				s.files[k] = []byte("content of " + k)
				if strings.HasSuffix(k, "/") {
					s.files[k] = nil
				}
			}
			if tc.setup != nil {
				tc.setup(s)
			}
			arts, err := FromSource(context.Background(), s)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var pe *PathError
			if !errors.As(err, &pe) || pe.Path != tc.path {
				t.Fatalf("err = %v, want a PathError naming %q", err, tc.path)
			}
			if arts != nil {
				t.Fatalf("artifacts returned with an error: %+v", arts)
			}
		})
	}
}

// TestFromSourceChecksIgnoredNames: a bad name inside an ignored
// directory is still refused (names are checked before ignore patterns, so
// that the listing's validity does not depend on them) but nothing below
// an ignored directory is read.
func TestFromSourceChecksIgnoredNames(t *testing.T) {
	s := newMemSource(map[string][]byte{".git/x/../y": []byte("x")})
	if _, err := FromSource(context.Background(), s); !errors.Is(err, ErrNotPath) {
		t.Fatalf("err = %v, want ErrNotPath", err)
	}
}
