package store

import (
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
	"time"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/stacktest"
)

// fakeRangeSum stands for a range's SHA-256.
func fakeRangeSum(f Listed, start, end int64) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%d", f.Name, f.ETag, start, end))
	return hex.EncodeToString(h[:])
}

// rangePartsOf computes the N parts of a sharded digest workers would
// write for the listing, and the single-process manifest.
func rangePartsOf(t testing.TB, loc string, files []Listed, size int64, n int) ([]NamedPart, []digest.Shard) {
	t.Helper()
	plan, err := PlanRanges(files, size, n)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]digest.Shard, len(plan.Ranges))
	for k, r := range plan.Ranges {
		want[k] = r
		want[k].SHA256 = fakeRangeSum(files[plan.File[k]], r.Start, r.End)
	}
	listing := ListingDigest(loc, files)
	var parts []NamedPart
	for i, idx := range plan.Shards {
		p := &Part{Type: ShardPartType, Location: loc, Listing: listing, Files: len(files), Shard: i, Shards: n, ShardSize: size}
		for _, j := range idx {
			f := files[plan.File[j]]
			p.Ranges = append(p.Ranges, PartRange{Name: f.Name, Start: want[j].Start, End: want[j].End, SHA256: want[j].SHA256, Size: f.Size, ETag: f.ETag})
		}
		p.Plan = planDigest(p.Ranges)
		parts = append(parts, NamedPart{File: "parts/" + PartName(i, n), Part: p})
	}
	return parts, want
}

// TestRangeMergeProperty: for random listings (empty files, small ones,
// files of many shards) and N in {1, 2, 3, 7}: every range of every file
// is planned into exactly one shard; the plan is balanced within one
// range's weight and the same however often it is computed; a file
// larger than N shards is spread over every worker; the parts survive a
// round trip through their bytes; and MergeShards returns exactly the
// single-process manifest.
func TestRangeMergeProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 2026))
	sizes := []int64{64 << 20, 1 << 30, 1_000_000_000, 97<<20 + 3}
	for iter := range 50 {
		files := randomListing(rng, rng.IntN(150))
		size := sizes[rng.IntN(len(sizes))]
		for _, n := range []int{1, 2, 3, 7} {
			plan, err := PlanRanges(files, size, n)
			if err != nil {
				t.Fatal(err)
			}
			seen := make([]int, len(plan.Ranges))
			var lo, hi, heaviest int64 = 1 << 62, 0, 0
			workersOf := map[string]map[int]bool{}
			for i, idx := range plan.Shards {
				var load int64
				for _, j := range idx {
					seen[j]++
					r := plan.Ranges[j]
					w := r.End - r.Start + objectCost
					load += w
					heaviest = max(heaviest, w)
					if workersOf[r.Name] == nil {
						workersOf[r.Name] = map[int]bool{}
					}
					workersOf[r.Name][i] = true
				}
				lo, hi = min(lo, load), max(hi, load)
			}
			for j, c := range seen {
				if c != 1 {
					t.Fatalf("iter %d N=%d: range %s planned %d times", iter, n, plan.Ranges[j].ID(), c)
				}
			}
			if len(plan.Ranges) > 0 && hi-lo > heaviest {
				t.Fatalf("iter %d N=%d: loads %d..%d differ by more than the heaviest range %d", iter, n, lo, hi, heaviest)
			}
			for _, f := range files {
				// Equal ranges are dealt round the workers: a file of at
				// least 2N full ranges reaches every one of them.
				if f.Size >= 2*int64(n)*size && len(workersOf[f.Name]) != n {
					t.Fatalf("iter %d N=%d: %s (%d ranges) is hashed by %d workers, want all", iter, n, f.Name, f.Size/size, len(workersOf[f.Name]))
				}
			}
			if again, _ := PlanRanges(slices.Clone(files), size, n); !reflect.DeepEqual(again, plan) {
				t.Fatalf("iter %d N=%d: the plan is not deterministic", iter, n)
			}
			parts, want := rangePartsOf(t, "s3://b/p/", files, size, n)
			rng.Shuffle(len(parts), func(a, b int) { parts[a], parts[b] = parts[b], parts[a] })
			for k, np := range parts {
				b, err := np.Part.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if parts[k].Part, err = ParsePart(b); err != nil {
					t.Fatalf("iter %d N=%d: %v", iter, n, err)
				}
			}
			got, gotSize, err := MergeShards(parts)
			if err != nil {
				t.Fatalf("iter %d N=%d: %v", iter, n, err)
			}
			if gotSize != size || !reflect.DeepEqual(got, want) {
				t.Fatalf("iter %d N=%d: merge differs from the single-process manifest", iter, n)
			}
		}
	}
}

// TestMergeShardsRefuses: each way parts of a sharded digest can be wrong
// is refused with an error naming the part file.
func TestMergeShardsRefuses(t *testing.T) {
	const size = 1 << 20
	files := []Listed{
		{Name: "a/empty", Size: 0, ETag: `"e0"`},
		{Name: "a/small", Size: 1000, ETag: `"e1"`},
		{Name: "big.bin", Size: 10*size + 17, ETag: `"e2"`}, // 11 ranges
		{Name: "mid.bin", Size: 3 * size, ETag: `"e3"`},     // 3 ranges
	}
	other := slices.Clone(files)
	other[2].ETag = `"replaced"`
	parts := func() []NamedPart { p, _ := rangePartsOf(t, "s3://b/p/", files, size, 3); return p }
	// find returns the part holding name:start and the range's index in it.
	find := func(p []NamedPart, name string, start int64) (int, int) {
		for i, np := range p {
			for k, r := range np.Part.Ranges {
				if r.Name == name && r.Start == start {
					return i, k
				}
			}
		}
		t.Fatalf("no part holds %s:%d", name, start)
		return 0, 0
	}
	replan := func(p *Part) { p.Plan = planDigest(p.Ranges) }
	for _, tc := range []struct {
		name  string
		parts func() []NamedPart
		want  string
	}{
		{"missing range", func() []NamedPart {
			p := parts()
			i, k := find(p, "big.bin", 4*size)
			p[i].Part.Ranges = slices.Delete(p[i].Part.Ranges, k, k+1)
			return p
		}, "ranges are not the ones it records it was given"},
		{"missing range, plan rewritten", func() []NamedPart {
			p := parts()
			i, k := find(p, "big.bin", 4*size)
			p[i].Part.Ranges = slices.Delete(p[i].Part.Ranges, k, k+1)
			replan(p[i].Part)
			return p
		}, "no part holds big.bin:4194304:5242880 (1 ranges missing); the plan gives it to parts/part-0000"},
		{"missing file's only range, plan rewritten", func() []NamedPart {
			p := parts()
			i, k := find(p, "a/small", 0)
			p[i].Part.Ranges = slices.Delete(p[i].Part.Ranges, k, k+1)
			replan(p[i].Part)
			return p
		}, "do not make up the listing"},
		{"duplicated range", func() []NamedPart {
			p := parts()
			i, k := find(p, "mid.bin", size)
			j := (i + 1) % 3
			p[j].Part.Ranges = append(p[j].Part.Ranges, p[i].Part.Ranges[k])
			sortRanges(p[j].Part.Ranges)
			replan(p[j].Part)
			return p
		}, "range mid.bin:1048576:2097152 is in parts/part-0000"},
		{"overlapping range", func() []NamedPart {
			p := parts()
			i, k := find(p, "mid.bin", size)
			p[i].Part.Ranges[k].Start, p[i].Part.Ranges[k].End = size/2, size/2+size
			replan(p[i].Part)
			return p
		}, "holds mid.bin:524288:1572864, which is not one of the ranges"},
		{"range past a shorter cut", func() []NamedPart {
			p := parts()
			i, k := find(p, "big.bin", 10*size)
			p[i].Part.Ranges[k].End = 11 * size
			p[i].Part.Ranges[k].Size = 11 * size
			replan(p[i].Part)
			return p
		}, "lists \"big.bin\" with size 11534336"},
		{"range from another listing", func() []NamedPart {
			p := parts()
			q, _ := rangePartsOf(t, "s3://b/p/", other, size, 3)
			i, k := find(p, "big.bin", 2*size)
			oi, ok := find(q, "big.bin", 2*size)
			p[i].Part.Ranges[k] = q[oi].Part.Ranges[ok]
			return p
		}, "ETag \"replaced\""},
		{"foreign part", func() []NamedPart {
			p := parts()
			q, _ := rangePartsOf(t, "s3://b/p/", other, size, 3)
			return append(p[:2], q[2])
		}, "foreign part parts/part-00002-of-00003.json"},
		{"other shard size", func() []NamedPart {
			p := parts()
			q, _ := rangePartsOf(t, "s3://b/p/", files, 2*size, 3)
			return append(p[:2], q[2])
		}, "foreign part parts/part-00002-of-00003.json"},
		{"whole-file part among them", func() []NamedPart {
			p := parts()
			return append(p[:2], partsOf("s3://b/p/", files, 3)[2])
		}, "foreign part parts/part-00002-of-00003.json"},
		{"whole-file parts", func() []NamedPart { return partsOf("s3://b/p/", files, 3) },
			"parts/part-00000-of-00003.json is a part of a whole-file digest (Merge), not a sharded digest's ranges (MergeShards)"},
		{"missing part", func() []NamedPart { return parts()[1:] }, "missing 1 of 3 parts: part-00000-of-00003.json"},
		{"range moved between parts", func() []NamedPart {
			p := parts()
			i, k := find(p, "big.bin", 0)
			j := (i + 1) % 3
			p[j].Part.Ranges = append(p[j].Part.Ranges, p[i].Part.Ranges[k])
			p[i].Part.Ranges = slices.Delete(p[i].Part.Ranges, k, k+1)
			sortRanges(p[j].Part.Ranges)
			replan(p[i].Part)
			replan(p[j].Part)
			return p
		}, "ranges, the plan gives shard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := MergeShards(tc.parts())
			if !errors.Is(err, ErrPart) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant ErrPart with %q", err, tc.want)
			}
		})
	}
	// And the other way: Merge refuses parts of ranges.
	if _, err := Merge(parts()); !errors.Is(err, ErrPart) || !strings.Contains(err.Error(), "is a part of a sharded digest's ranges (MergeShards)") {
		t.Fatalf("Merge of range parts: err = %v", err)
	}
}

func sortRanges(r []PartRange) {
	slices.SortFunc(r, func(a, b PartRange) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return int(a.Start - b.Start)
	})
}

func TestParseShardPartRefuses(t *testing.T) {
	p, _ := rangePartsOf(t, "s3://b/p/", []Listed{{Name: "a", Size: 5, ETag: `"x"`}, {Name: "b", Size: 0}}, 2, 1)
	b, _ := p[0].Part.Marshal()
	if _, err := ParsePart(b); err != nil {
		t.Fatal(err)
	}
	s := string(b)
	sum := strings.Repeat("a", 64)
	for name, bad := range map[string]string{
		"future version": strings.Replace(s, ShardPartType, "https://mlattest.dev/digest-shard-part/v2", 1),
		"no shard size":  strings.Replace(s, `"shard_size":2,`, ``, 1),
		"no plan":        strings.Replace(s, `"plan":"sha256:`, `"plan":"`, 1),
		"artifacts too":  strings.Replace(s, `"ranges":[`, `"artifacts":[],"ranges":[`, 1),
		"unsorted":       strings.Replace(s, `"ranges":[`, `"ranges":[{"name":"b","start":0,"end":0,"sha256":"`+sum+`","size":0},`, 1),
		"same start":     strings.Replace(s, `"ranges":[`, `"ranges":[{"name":"a","start":0,"end":2,"sha256":"`+sum+`","size":5},`, 1),
		"past the end":   strings.Replace(s, `"end":5`, `"end":6`, 1),
		"backwards":      strings.Replace(s, `"start":4,"end":5`, `"start":4,"end":3`, 1),
		"bad sha256":     strings.Replace(s, `"sha256":"`, `"sha256":"X`, 1),
		"more files":     strings.Replace(s, `"files":2`, `"files":1`, 1),
	} {
		if bad == s {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if _, err := ParsePart([]byte(bad)); !errors.Is(err, ErrPart) {
			t.Errorf("%s: err = %v, want ErrPart", name, err)
		}
	}
	// A whole-file part with ranges is refused too.
	w, _ := partsOf("s3://b/p/", []Listed{{Name: "a", Size: 5}}, 1)[0].Part.Marshal()
	if _, err := ParsePart([]byte(strings.Replace(string(w), `"artifacts":[`, `"shard_size":2,"artifacts":[`, 1))); !errors.Is(err, ErrPart) {
		t.Errorf("whole-file part with a shard size: err = %v, want ErrPart", err)
	}
}

// TestParsePartV1Golden: parts written by the previous release (whole
// files, before parts of ranges existed) still parse and merge.
func TestParsePartV1Golden(t *testing.T) {
	var parts []NamedPart
	for i := range 2 {
		name := filepath.Join("testdata", "parts-v1", PartName(i, 2))
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParsePart(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		parts = append(parts, NamedPart{File: name, Part: p})
	}
	got, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "a" || got[2].Name != "c" {
		t.Fatalf("merged %+v", got)
	}
}

// runWorkers runs n workers over loc, worker i writing the part digestPart
// makes of shard i of n into a new part directory, and reads the parts
// back; it checks that a rerun of worker 0 writes the same bytes.
func runWorkers(t *testing.T, loc string, n int, digestPart func(src *Source, l *Listing, i, n int) (*Part, error), opts ...Option) []NamedPart {
	t.Helper()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "parts")
	pb, err := OpenParts(ctx, out, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		b, err := Open(ctx, loc, opts...)
		if err != nil {
			t.Fatal(err)
		}
		src := NewSource(b, opts...)
		l, err := src.Listing(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, err := digestPart(src, l, i, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := WritePart(ctx, pb, p); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first, _ := os.ReadFile(filepath.Join(out, PartName(0, n)))
			p2, err := digestPart(src, l, 0, n)
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := p2.Marshal(); string(first) != string(again) {
				t.Fatalf("N=%d: a rerun of worker 0 gives other bytes", n)
			}
		}
	}
	parts, err := ReadParts(ctx, pb)
	if err != nil {
		t.Fatal(err)
	}
	return parts
}

// shardedRangeWorkers runs n range workers over loc and merges their parts.
func shardedRangeWorkers(t *testing.T, loc string, size int64, n int, opts ...Option) []digest.Shard {
	t.Helper()
	parts := runWorkers(t, loc, n, func(src *Source, l *Listing, i, n int) (*Part, error) {
		return src.DigestRanges(context.Background(), l, size, i, n)
	}, opts...)
	got, gotSize, err := MergeShards(parts)
	if err != nil {
		t.Fatal(err)
	}
	if gotSize != size {
		t.Fatalf("N=%d: shard size %d, want %d", n, gotSize, size)
	}
	return got
}

// checkShardedRanges: the single-process sharded digest of loc and the
// merge of N range workers over it both equal the local sharded digest of
// dir, which holds the same files.
func checkShardedRanges(t *testing.T, loc, dir string, size int64, opts ...Option) {
	t.Helper()
	ctx := context.Background()
	want, err := digest.ShardedPaths(ctx, dir, []string{"."}, size)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, loc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	single, err := digest.ShardedSource(ctx, NewSource(b, opts...), size)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(single, want) {
		t.Fatalf("single-process sharded digest of %s differs from the local one", loc)
	}
	for _, n := range []int{1, 2, 3, 7} {
		if got := shardedRangeWorkers(t, loc, size, n, opts...); !reflect.DeepEqual(got, want) {
			t.Fatalf("N=%d: merged sharded digest differs from the local one", n)
		}
	}
}

// TestShardedRangesFileEqualsSingle: over a file:// location holding a
// file of many shards, small and empty files, the single-process sharded
// digest of the location and the merge of N range workers both equal the
// local sharded digest of the directory.
func TestShardedRangesFileEqualsSingle(t *testing.T) {
	files := corpus(100, map[string]int{"big.bin": 5<<20 + 3, "two.bin": 2 << 20})
	dir := localTree(t, files)
	// ranges read in several parts
	checkShardedRanges(t, "file://"+filepath.ToSlash(dir), dir, 1<<20, WithParts(300<<10, 3))
}

// TestS3ShardedRangesEqualLocal: the same against the S3 server, with a
// 20 MiB object cut into 3 MB ranges read in 1 MiB parts.
func TestS3ShardedRangesEqualLocal(t *testing.T) {
	s := stacktest.GetS3(t)
	s.Setenv(t, "")
	bucket := s.NewBucket(t)
	files := corpus(60, map[string]int{"model/big.bin": 20<<20 + 5, "model/exact.bin": 6_000_000})
	s.PutAll(t, bucket, "m/", files)
	checkShardedRanges(t, "s3://"+bucket+"/m/", localTree(t, files), 3_000_000, WithParts(1<<20, 3))
}

// TestSourceBufferBudget: twelve objects read at once, each of many
// ranges, through a Source sharing 4 part buffers (2 × parallel) and one
// more per read: the digests are the local ones, and no more than
// 4 + 12 buffers were ever made (without the bound: up to 12 × 4).
func TestSourceBufferBudget(t *testing.T) {
	large := map[string]int{}
	for i := range 12 {
		large[fmt.Sprintf("big-%02d", i)] = 1<<20 + i*4099
	}
	dir := localTree(t, corpus(0, large))
	ctx := context.Background()
	want, err := digest.Paths(ctx, dir, []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, "file://"+filepath.ToSlash(dir))
	if err != nil {
		t.Fatal(err)
	}
	src := NewSource(b, WithParts(64<<10, 2))
	got, err := digest.FromSource(ctx, src, digest.WithWorkers(12))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("digest differs: %s", firstDiff(got, want))
	}
	if n := len(src.free); n > 4+12 || n == 0 {
		t.Fatalf("%d part buffers made, want 1..16 (2 × parallel + 12 reads)", n)
	}
}

// blockingWriter is a writer that waits for release before its first
// write: a reader that reads another object's stream first.
type blockingWriter struct {
	release chan struct{}
	n       int64
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	w.n += int64(len(p))
	return len(p), nil
}

// TestSourceReadsNeverWaitOnEachOther: a read whose writer does not
// write until another read of the same Source finishes (what a reader of
// two pipes in turns does) holds every shared buffer, and the other read
// still finishes on its own buffer; then the first does.
func TestSourceReadsNeverWaitOnEachOther(t *testing.T) {
	const sizeA, sizeB = 1 << 20, 1<<20 + 1
	dir := localTree(t, map[string][]byte{"a": pattern("a", sizeA), "b": pattern("b", sizeB)})
	ctx := context.Background()
	b, err := Open(ctx, "file://"+filepath.ToSlash(dir))
	if err != nil {
		t.Fatal(err)
	}
	src := NewSource(b, WithParts(64<<10, 2)) // 4 shared buffers
	if _, err := src.Listing(ctx); err != nil {
		t.Fatal(err)
	}
	wa := &blockingWriter{release: make(chan struct{})}
	doneA := make(chan error, 1)
	go func() {
		_, err := src.ReadTo(ctx, "a", sizeA, wa)
		doneA <- err
	}()
	time.Sleep(100 * time.Millisecond) // a's ranges ahead take the shared buffers
	doneB := make(chan error, 1)
	go func() {
		_, err := src.ReadTo(ctx, "b", sizeB, io.Discard)
		doneB <- err
	}()
	select {
	case err := <-doneB:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the read of b waited for a's writer")
	}
	close(wa.release)
	if err := <-doneA; err != nil || wa.n != sizeA {
		t.Fatalf("a: %d bytes, %v", wa.n, err)
	}
}
