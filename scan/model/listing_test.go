package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// fakeListing is objects in memory under a URI, each Open a reader of its
// own that records its reads, like a storage listing read with ranged GETs.
type fakeListing struct {
	files map[string]fakeObject

	mu    sync.Mutex
	opens []*fakeFile
}

// fakeObject is an object's bytes: data, then zeros up to size (a
// multi-GiB object costs no memory); fail, when set, is the error of any
// read reaching past failAt (an object that changed after its listing).
type fakeObject struct {
	data   []byte
	size   int64
	failAt int64
	fail   error
}

func (l *fakeListing) URI(name string) string { return "s3://bucket/ckpt/" + name }

func (l *fakeListing) Open(_ context.Context, name string) (File, error) {
	o, ok := l.files[name]
	if !ok {
		return nil, errors.New("not listed")
	}
	f := &fakeFile{o: o}
	l.mu.Lock()
	l.opens = append(l.opens, f)
	l.mu.Unlock()
	return f, nil
}

type fakeFile struct {
	o     fakeObject
	reads []span
	bytes int64
	seq   bool // every read began where the previous one ended, from 0
}

func (f *fakeFile) Size() int64  { return f.o.size }
func (f *fakeFile) Close() error { return nil }

func (f *fakeFile) ReadAt(p []byte, off int64) (int, error) {
	if len(f.reads) == 0 {
		f.seq = off == 0
	} else if f.reads[len(f.reads)-1].end != off {
		f.seq = false
	}
	if f.o.fail != nil && off+int64(len(p)) > f.o.failAt {
		return 0, f.o.fail
	}
	if off >= f.o.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), f.o.size-off))
	clear(p[:n])
	if off < int64(len(f.o.data)) {
		copy(p[:n], f.o.data[off:])
	}
	f.reads = append(f.reads, span{off, off + int64(n)})
	f.bytes += int64(n)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// sumOf is the SHA-256 of an object's bytes.
func sumOf(o fakeObject) string {
	h := sha256.New()
	h.Write(o.data)
	zeros := make([]byte, 1<<20)
	for left := o.size - int64(len(o.data)); left > 0; left -= int64(len(zeros)) {
		h.Write(zeros[:min(left, int64(len(zeros)))])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestScanListingReadsHeader: a safetensors object is scanned through
// random access reading only its 8-byte length, its header, the sniffed
// head and the tail where a zip's directory would be, whatever its size
// (5 GiB here: offsets past 4 GiB); with the digest on, a second reader
// reads every byte once, in order, and the SHA-256 is of all of them.
func TestScanListingReadsHeader(t *testing.T) {
	header := `{"__metadata__":{"format":"pt"},"w":{"dtype":"U8","shape":[` + "%d" + `],"data_offsets":[0,%d]}}`
	for _, c := range []struct {
		name   string
		data   int64
		digest bool
	}{
		{"5GiB header only", 5 << 30, false},
		{"64MiB with digest", 64 << 20, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := fmt.Sprintf(header, c.data, c.data)
			head := safetensorsOf(h, 0)
			o := fakeObject{data: head, size: int64(len(head)) + c.data}
			l := &fakeListing{files: map[string]fakeObject{"model/m.safetensors": o}}
			var got []Result
			err := New(WithDigest(c.digest)).ScanListing(context.Background(), l, []string{"model/m.safetensors"}, func(r Result) error {
				got = append(got, r)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d results", len(got))
			}
			r := got[0]
			if r.Path != "s3://bucket/ckpt/model/m.safetensors" || r.Format != FormatSafetensors || r.Verdict != Safe || r.Size != o.size {
				t.Fatalf("%s", describe(r))
			}
			want := 1
			if c.digest {
				want = 2
			}
			if len(l.opens) != want {
				t.Fatalf("%d readers opened, want %d", len(l.opens), want)
			}
			// The scan's reader: every read inside the head or the tail.
			scan := l.opens[0]
			headEnd := max(int64(len(head)), sniffLen)
			const tail = 65557
			for _, s := range scan.reads {
				if s.end > headEnd && s.start < o.size-tail {
					t.Errorf("the scan read [%d, %d) of %d bytes, beyond the header (%d) and the last %d", s.start, s.end, o.size, headEnd, tail)
				}
			}
			if scan.bytes > 2*headEnd+2*tail || r.BytesRead > headEnd+tail {
				t.Errorf("the scan read %d bytes (%d distinct) of %d", scan.bytes, r.BytesRead, o.size)
			}
			if !c.digest {
				if r.SHA256 != "" {
					t.Errorf("a digest without WithDigest: %s", r.SHA256)
				}
				return
			}
			hash := l.opens[1]
			if hash.bytes != o.size || !hash.seq {
				t.Errorf("the digest read %d bytes of %d (in order from 0: %v)", hash.bytes, o.size, hash.seq)
			}
			if want := sumOf(o); r.SHA256 != want {
				t.Errorf("SHA-256 %s, want %s", r.SHA256, want)
			}
		})
	}
}

// TestScanListingMatchesFiles: a listing holding a directory's files
// scans as ScanPaths scans the directory (verdicts, formats, findings,
// digests, bytes read), a shard index checked against its shards among
// the listed objects and ONNX external data resolved among them.
func TestScanListingMatchesFiles(t *testing.T) {
	dir := t.TempDir()
	onnx := func(loc string) []byte {
		return onnxModelOf([][]byte{onnxOpsetOf("", 17)}, [][]byte{onnxNodeOf("", "Relu")}, [][]byte{onnxTensorOf("w", [2]string{"location", loc})})
	}
	files := map[string][]byte{
		"onnx/ok.onnx":       onnx("w.bin"),
		"onnx/w.bin":         make([]byte, 8),
		"onnx/missing.onnx":  onnx("sub/missing.bin"),
		"pickle/eval.pkl":    newPB(2).global("builtins", "eval").str("1").tuple().reduce().stop(),
		"st/m.safetensors":   safetensorsOf(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4),
		"st/bad.safetensors": safetensorsOf(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,5]}}`, 4),
		"empty.bin":          nil,
	}
	repo := filepath.Join("testdata", "repos", "causal-lm-sharded")
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(repo, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files["repo/"+e.Name()] = b
	}
	l := &fakeListing{files: map[string]fakeObject{}}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		l.files[name] = fakeObject{data: b, size: int64(len(b))}
	}
	var local []Result
	if err := New().ScanPaths(context.Background(), []string{dir}, func(r Result) error { local = append(local, r); return nil }); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range local {
		rel, _ := filepath.Rel(dir, r.Path)
		names = append(names, filepath.ToSlash(rel))
	}
	var got []Result
	if err := New().ScanListing(context.Background(), l, names, func(r Result) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(local) || len(got) != len(files) {
		t.Fatalf("%d results, %d scanning the directory, %d files", len(got), len(local), len(files))
	}
	rules := map[string]bool{}
	for i, r := range got {
		w := local[i]
		w.Path = l.URI(names[i])
		for _, f := range r.Findings {
			rules[f.Rule] = true
		}
		if r.Path == l.URI("onnx/missing.onnx") {
			// The message names the missing object by URI, not a path.
			if len(r.Findings) != 1 || !strings.Contains(r.Findings[0].Message, l.URI("onnx/sub/missing.bin")) {
				t.Errorf("%s", describe(r))
			}
			r.Findings, w.Findings = nil, nil
		}
		if !reflect.DeepEqual(r, w) {
			t.Errorf("%s:\n got %s\nwant %s", names[i], describe(r), describe(w))
		}
	}
	for _, rule := range []string{"onnx-external-missing", "safetensors/" + STBounds} {
		if !rules[rule] {
			t.Errorf("no %s finding: the fixtures no longer exercise it", rule)
		}
	}
}

// TestScanListingChanged: an object that reads otherwise than listed (the
// store's ranged read fails: truncated, replaced) stops the scan with an
// error naming its URI, wrapping ErrUnreadable and the store's error,
// whether the digest or the format scan meets it; never a verdict.
func TestScanListingChanged(t *testing.T) {
	errChanged := errors.New("object changed since it was listed")
	head := safetensorsOf(`{"a":{"dtype":"U8","shape":[1048576],"data_offsets":[0,1048576]}}`, 0)
	size := int64(len(head)) + 1<<20
	for _, c := range []struct {
		name   string
		failAt int64
		digest bool
	}{
		{"data section, digest", size / 2, true},
		{"header, no digest", 20, false},
		{"header, digest", 20, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := &fakeListing{files: map[string]fakeObject{
				"a/ok.safetensors": {data: head, size: size},
				"b/m.safetensors":  {data: head, size: size, failAt: c.failAt, fail: errChanged},
			}}
			var scanned []string
			err := New(WithDigest(c.digest)).ScanListing(context.Background(), l, []string{"a/ok.safetensors", "b/m.safetensors"}, func(r Result) error {
				scanned = append(scanned, r.Path)
				return nil
			})
			if !errors.Is(err, ErrUnreadable) || !errors.Is(err, errChanged) || !strings.HasPrefix(err.Error(), "s3://bucket/ckpt/b/m.safetensors: ") {
				t.Fatalf("err = %v, want ErrUnreadable naming the object", err)
			}
			if len(scanned) != 1 || scanned[0] != l.URI("a/ok.safetensors") {
				t.Fatalf("scanned %q before the error", scanned)
			}
		})
	}
}
