package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/stacktest"
)

// randomListing is a sorted listing of n files: sizes spread over many
// orders of magnitude (empty, tiny, a few huge), names with shared
// prefixes, ETags.
func randomListing(rng *rand.Rand, n int) []Listed {
	seen := map[string]bool{}
	var files []Listed
	for len(files) < n {
		name := fmt.Sprintf("d%d/%s-%d", rng.IntN(5), strings.Repeat("x", rng.IntN(3)), rng.IntN(10*n+10))
		if seen[name] {
			continue
		}
		seen[name] = true
		var size int64
		switch rng.IntN(10) {
		case 0:
			size = 0
		case 1:
			size = rng.Int64N(1 << 34) // up to 16 GiB
		default:
			size = rng.Int64N(1 << 20)
		}
		files = append(files, Listed{Name: name, Size: size, ETag: fmt.Sprintf(`"%x"`, rng.Uint64())})
	}
	slices.SortFunc(files, func(a, b Listed) int { return strings.Compare(a.Name, b.Name) })
	return files
}

// fakeSum stands for a file's SHA-256.
func fakeSum(f Listed) string {
	h := sha256.Sum256([]byte(f.Name + "\x00" + f.ETag))
	return hex.EncodeToString(h[:])
}

// partsOf computes the N parts workers would write for the listing.
func partsOf(loc string, files []Listed, n int) []NamedPart {
	digestOf := ListingDigest(loc, files)
	var parts []NamedPart
	for i, idx := range Plan(files, n) {
		p := &Part{Type: PartType, Location: loc, Listing: digestOf, Files: len(files), Shard: i, Shards: n, Artifacts: []PartArtifact{}}
		for _, j := range idx {
			f := files[j]
			p.Artifacts = append(p.Artifacts, PartArtifact{Name: f.Name, SHA256: fakeSum(f), Size: f.Size, ETag: f.ETag})
		}
		parts = append(parts, NamedPart{File: "parts/" + PartName(i, n), Part: p})
	}
	return parts
}

// TestShardMergeProperty: for random listings and N in {1, 2, 3, 7}, every
// file is planned into exactly one shard, the plan is balanced within one
// file's weight, it is the same whatever order the listing is planned in
// (workers agree), the parts survive a round trip through their bytes,
// and Merge returns exactly the single-process artifacts.
func TestShardMergeProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 26))
	for iter := range 200 {
		files := randomListing(rng, rng.IntN(300))
		want := make([]digest.Artifact, len(files))
		for k, f := range files {
			want[k] = digest.Artifact{Name: f.Name, SHA256: fakeSum(f), Size: f.Size}
		}
		for _, n := range []int{1, 2, 3, 7} {
			plan := Plan(files, n)
			seen := make([]int, len(files))
			var lo, hi, heaviest int64 = 1 << 62, 0, 0
			for _, idx := range plan {
				var load int64
				for _, j := range idx {
					seen[j]++
					w := files[j].Size + objectCost
					load += w
					heaviest = max(heaviest, w)
				}
				lo, hi = min(lo, load), max(hi, load)
			}
			for j, c := range seen {
				if c != 1 {
					t.Fatalf("iter %d N=%d: %s planned %d times", iter, n, files[j].Name, c)
				}
			}
			if len(files) > 0 && hi-lo > heaviest {
				t.Fatalf("iter %d N=%d: loads %d..%d differ by more than the heaviest file %d", iter, n, lo, hi, heaviest)
			}
			if again := Plan(slices.Clone(files), n); !reflect.DeepEqual(again, plan) {
				t.Fatalf("iter %d N=%d: the plan is not deterministic", iter, n)
			}
			parts := partsOf("s3://b/p/", files, n)
			rng.Shuffle(len(parts), func(a, b int) { parts[a], parts[b] = parts[b], parts[a] })
			for k, np := range parts {
				b, err := np.Part.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				p, err := ParsePart(b)
				if err != nil {
					t.Fatalf("iter %d N=%d: %v", iter, n, err)
				}
				parts[k].Part = p
			}
			got, err := Merge(parts)
			if err != nil {
				t.Fatalf("iter %d N=%d: %v", iter, n, err)
			}
			if len(got) == 0 && len(want) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("iter %d N=%d: merge differs from the single-process result", iter, n)
			}
		}
	}
}

// TestMergeRefuses: each way parts can be wrong is refused with an error
// naming the part file.
func TestMergeRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	files := randomListing(rng, 60)
	other := slices.Clone(files)
	other[5].ETag = `"changed"` // the listing of a later run: one object replaced
	for _, tc := range []struct {
		name  string
		parts func() []NamedPart
		want  string
	}{
		{"missing", func() []NamedPart { return partsOf("s3://b/p/", files, 3)[:2] }, "missing 1 of 3 parts: part-00002-of-00003.json"},
		{"duplicated", func() []NamedPart {
			p := partsOf("s3://b/p/", files, 3)
			return append(p[:2], NamedPart{File: "parts/part-00002-of-00003.json", Part: p[1].Part})
		}, "duplicated part 1 of 3: parts/part-00001-of-00003.json and parts/part-00002-of-00003.json"},
		{"foreign listing", func() []NamedPart {
			p := partsOf("s3://b/p/", files, 3)
			return append(p[:2], partsOf("s3://b/p/", other, 3)[2])
		}, "foreign part parts/part-00002-of-00003.json"},
		{"foreign location", func() []NamedPart {
			p := partsOf("s3://b/p/", files, 3)
			return append(p[:2], partsOf("s3://b/q/", files, 3)[2])
		}, "foreign part parts/part-00002-of-00003.json"},
		{"other N", func() []NamedPart {
			p := partsOf("s3://b/p/", files, 3)
			return append(p, partsOf("s3://b/p/", files, 2)...)
		}, "foreign part"},
		{"renamed", func() []NamedPart {
			p := partsOf("s3://b/p/", files, 2)
			p[0].File, p[1].File = p[1].File, p[0].File
			return p
		}, "holds shard"},
		{"file dropped", func() []NamedPart {
			p := partsOf("s3://b/p/", files, 3)
			p[1].Part.Artifacts = p[1].Part.Artifacts[1:]
			return p
		}, "do not make up the listing"},
		{"file moved between parts", func() []NamedPart {
			p := partsOf("s3://b/p/", files, 3)
			moved := p[1].Part.Artifacts[0]
			p[1].Part.Artifacts = p[1].Part.Artifacts[1:]
			p[0].Part.Artifacts = append(p[0].Part.Artifacts, moved)
			slices.SortFunc(p[0].Part.Artifacts, func(a, b PartArtifact) int { return strings.Compare(a.Name, b.Name) })
			return p
		}, "parts/part-00000-of-00003.json holds"},
		{"file in two parts", func() []NamedPart {
			p := partsOf("s3://b/p/", files, 3)
			p[0].Part.Artifacts = append(p[0].Part.Artifacts, p[1].Part.Artifacts[len(p[1].Part.Artifacts)-1])
			return p
		}, "is in parts/part-00000-of-00003.json and parts/part-00001-of-00003.json"},
		{"none", func() []NamedPart { return nil }, "no part files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(tc.parts())
			if !errors.Is(err, ErrPart) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant ErrPart with %q", err, tc.want)
			}
		})
	}
}

func TestParsePartRefuses(t *testing.T) {
	good := partsOf("s3://b/p/", randomListing(rand.New(rand.NewPCG(1, 1)), 3), 1)[0].Part
	b, _ := good.Marshal()
	if _, err := ParsePart(b); err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for name, bad := range map[string]string{
		"trailing":       s + "{}",
		"unknown field":  strings.Replace(s, `"type"`, `"extra":1,"type"`, 1),
		"wrong type":     strings.Replace(s, PartType, "https://mlattest.dev/digest-part/v0", 1),
		"shard range":    strings.Replace(s, `"shard":0`, `"shard":1`, 1),
		"no shards":      strings.Replace(s, `"shards":1`, `"shards":0`, 1),
		"bad listing":    strings.Replace(s, `"listing":"sha256:`, `"listing":"md5:`, 1),
		"bad sha256":     strings.Replace(s, `"sha256":"`, `"sha256":"X`, 1),
		"more than all":  strings.Replace(s, `"files":3`, `"files":2`, 1),
		"not json":       "part",
		"negative size":  strings.Replace(s, `"size":`, `"size":-`, 1),
		"duplicate name": strings.Replace(s, `"artifacts":[`, `"artifacts":[{"name":"d0/-0","sha256":"`+strings.Repeat("a", 64)+`","size":1},{"name":"d0/-0","sha256":"`+strings.Repeat("a", 64)+`","size":1},`, 1),
	} {
		if _, err := ParsePart([]byte(bad)); !errors.Is(err, ErrPart) {
			t.Errorf("%s: err = %v, want ErrPart", name, err)
		}
	}
}

// TestShardedFileEqualsSingle: N workers over a file:// location, parts
// written to a directory, merge equals the single digest; a rerun of a
// worker writes the same bytes.
func TestShardedFileEqualsSingle(t *testing.T) {
	files := corpus(300, map[string]int{"big.bin": 5<<20 + 3})
	dir := localTree(t, files)
	ctx := context.Background()
	want, err := digest.Paths(ctx, dir, []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 7} {
		parts := runWorkers(t, "file://"+filepath.ToSlash(dir), n, func(src *Source, l *Listing, i, n int) (*Part, error) {
			return src.DigestShard(ctx, l, i, n)
		})
		got, err := Merge(parts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("N=%d: merged digest differs: %s", n, firstDiff(got, want))
		}
	}
}

func TestDigestShardBadShard(t *testing.T) {
	b, err := Open(context.Background(), "file://"+filepath.ToSlash(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	src := NewSource(b)
	l, err := src.Listing(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range [][2]int{{2, 2}, {-1, 2}, {0, 0}} {
		if _, err := src.DigestShard(context.Background(), l, sh[0], sh[1]); !errors.Is(err, ErrShard) {
			t.Errorf("shard %d/%d: err = %v, want ErrShard", sh[0], sh[1], err)
		}
	}
}

// TestPutFrom: a part streamed from a reader is stored whole; a reader
// shorter than its size stores nothing.
func TestPutFrom(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := OpenParts(ctx, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := PutFrom(ctx, b, "a.records", strings.NewReader("0123456789"), 10); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "a.records")); err != nil || string(got) != "0123456789" {
		t.Fatalf("stored %q, %v", got, err)
	}
	if err := PutFrom(ctx, b, "b.records", strings.NewReader("01234"), 10); err == nil || !strings.Contains(err.Error(), "b.records") {
		t.Fatalf("a short reader: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.records")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a short reader left %v", err)
	}
}

// TestS3PutFromMultipart: above the bucket's threshold, PutFrom uploads in
// parts and the object holds exactly the bytes; a reader shorter than its
// size, or one failing mid-way, stores nothing (the upload is aborted).
func TestS3PutFromMultipart(t *testing.T) {
	s := stacktest.GetS3(t)
	s.Setenv(t, "")
	bucket := s.NewBucket(t)
	ctx := context.Background()
	b, err := OpenParts(ctx, "s3://"+bucket+"/parts/", true)
	if err != nil {
		t.Fatal(err)
	}
	b.(*s3Bucket).multipartOver = 6 << 20 // parts of 5 MiB
	data := pattern("multipart", 13<<20+7)
	for _, tc := range []struct {
		name string
		r    io.ReadSeeker
		size int64
		ok   bool
	}{
		{"whole.records", bytes.NewReader(data), int64(len(data)), true},
		{"small.records", bytes.NewReader(data[:1000]), 1000, true},
		{"short.records", bytes.NewReader(data[:11<<20]), int64(len(data)), false},
		{"failing.records", failingSeeker{bytes.NewReader(data[:7<<20])}, int64(len(data)), false},
	} {
		err := PutFrom(ctx, b, tc.name, tc.r, tc.size)
		if tc.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.name) {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	got := map[string]int64{}
	if err := b.List(ctx, func(o Object) error { got[o.Name] = o.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"whole.records": int64(len(data)), "small.records": 1000}; !reflect.DeepEqual(got, want) {
		t.Fatalf("stored %v, want %v", got, want)
	}
	rc, err := b.ReadRange(ctx, Object{Key: "parts/whole.records", Name: "whole.records"}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if back, err := io.ReadAll(rc); err != nil || !bytes.Equal(back, data) {
		t.Fatalf("read back %d bytes, %v; want the %d written", len(back), err, len(data))
	}
}

// failingSeeker fails once its bytes are read, as a broken disk would.
type failingSeeker struct{ *bytes.Reader }

func (f failingSeeker) Read(p []byte) (int, error) {
	n, err := f.Reader.Read(p)
	if err == io.EOF {
		err = errors.New("disk error")
	}
	return n, err
}
