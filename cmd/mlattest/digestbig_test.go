package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/scan/model"
)

// streamPage is the unit bigStream stamps: every page of the stream is
// distinct.
const streamPage = 4096

// bigStream yields n deterministic bytes without holding them: a 1 MiB
// pseudo-random block repeated, each 4 KiB page stamped with its index, so
// that no two pages are equal and nothing compresses or deduplicates it
// (a storage server that did would test less than a real checkpoint).
type bigStream struct {
	block []byte
	page  [streamPage]byte
	off   int64
	n     int64
}

func newBigStream(seed uint64, n int64) *bigStream {
	return &bigStream{block: patternBytes(seed, 1<<20), n: n}
}

func (b *bigStream) Read(p []byte) (int, error) {
	if b.off >= b.n {
		return 0, io.EOF
	}
	total := 0
	for len(p) > 0 && b.off < b.n {
		idx, in := b.off/streamPage, int(b.off%streamPage)
		if in == 0 { // a new page; a read that stops inside one keeps it
			start := int(idx*streamPage) % len(b.block)
			copy(b.page[:], b.block[start:start+streamPage])
			binary.LittleEndian.PutUint64(b.page[:], uint64(idx))
		}
		k := copy(p, b.page[in:min(streamPage, int64(in)+b.n-b.off)])
		p, total, b.off = p[k:], total+k, b.off+int64(k)
	}
	return total, nil
}

// bigSafetensors is a safetensors file of one U8 tensor of n bytes of
// bigStream: a header of a few dozen bytes before GiBs of data, as a real
// checkpoint shard is.
func bigSafetensors(seed uint64, n int64) (io.Reader, int64) {
	h := fmt.Sprintf(`{"w":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}`, n, n)
	h += strings.Repeat(" ", (8-len(h)%8)%8)
	prefix := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	prefix = append(prefix, h...)
	return io.MultiReader(strings.NewReader(string(prefix)), newBigStream(seed, n)), int64(len(prefix)) + n
}

// rangeHasher hashes a stream whole and in size-byte ranges at once, the
// two digests the CLI prints for it.
type rangeHasher struct {
	size   int64
	whole  hash.Hash
	cur    hash.Hash
	off    int64
	ranges []string // hex per range
}

func newRangeHasher(size int64) *rangeHasher {
	return &rangeHasher{size: size, whole: sha256.New(), cur: sha256.New()}
}

func (h *rangeHasher) Write(p []byte) (int, error) {
	n := len(p)
	h.whole.Write(p)
	for len(p) > 0 {
		k := min(int64(len(p)), h.size-h.off%h.size)
		h.cur.Write(p[:k])
		p, h.off = p[k:], h.off+k
		if h.off%h.size == 0 {
			h.ranges = append(h.ranges, hex.EncodeToString(h.cur.Sum(nil)))
			h.cur.Reset()
		}
	}
	return n, nil
}

// lines are the CLI's whole-file and --sharded lines for name.
func (h *rangeHasher) lines(name string) (whole string, sharded []string) {
	ranges := h.ranges
	if h.off%h.size != 0 || h.off == 0 {
		ranges = append(slices.Clone(ranges), hex.EncodeToString(h.cur.Sum(nil)))
	}
	for i, r := range ranges {
		sharded = append(sharded, fmt.Sprintf("%s  %s:%d:%d", r, name, int64(i)*h.size, min(int64(i+1)*h.size, h.off)))
	}
	return hex.EncodeToString(h.whole.Sum(nil)) + "  " + name, sharded
}

// TestBigStream: the generator yields exactly n bytes whatever the read
// sizes, pages differ, and a seed names one stream.
func TestBigStream(t *testing.T) {
	const n = 3*streamPage + 123
	read := func(seed uint64, chunk int) []byte {
		var out []byte
		s, buf := newBigStream(seed, n), make([]byte, chunk)
		for {
			k, err := s.Read(buf)
			out = append(out, buf[:k]...)
			if err == io.EOF {
				return out
			}
		}
	}
	want := read(1, 1<<20)
	if len(want) != n {
		t.Fatalf("%d bytes, want %d", len(want), n)
	}
	for _, chunk := range []int{1, 7, streamPage, streamPage + 1} {
		if got := read(1, chunk); string(got) != string(want) {
			t.Fatalf("reads of %d bytes give other bytes", chunk)
		}
	}
	if string(want[:streamPage]) == string(want[streamPage:2*streamPage]) || string(read(2, 4096)) == string(want) {
		t.Fatal("pages or seeds do not differ")
	}
}

// TestDigestS3MultiGiB: a prefix holding a 2.1 GiB safetensors checkpoint
// (uploaded in parts by the SDK's multipart uploader from a stream, never
// in memory), thousands of small objects, empty ones and odd names:
// `mlattest digest s3://…` prints every object's SHA-256 as computed here
// from the same stream; `--sharded 256MiB` prints the same ranges, and the
// same manifest from 3 Indexed-Job workers and merge as from one process.
// The object crosses 2 GiB, where a 32-bit offset or length would wrap.
func TestDigestS3MultiGiB(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads and reads 2.1 GiB several times")
	}
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	const shard = 256 << 20
	prefix := "ckpt/"
	loc := "s3://" + bucket + "/ckpt"
	bigName := "model/model-00001-of-00001.safetensors"

	small := map[string][]byte{
		"empty":              {},
		"model/empty.bin":    {},
		"model/config.json":  []byte(`{"model_type":"llama"}`),
		"odd/with space":     []byte("space"),
		"odd/ünïcode/日本":     []byte("unicode"),
		"odd/..dots":         []byte("dots"),
		"odd/-dash":          []byte("dash"),
		"odd/#hash?q=1&x=%2": []byte("query-like"),
	}
	for i := range 2000 {
		small[fmt.Sprintf("data/%03d/rec-%05d.jsonl", i%101, i)] = patternBytes(uint64(i), (i*7919)%5000)
	}
	// want holds each object's lines: its whole-file digest and its
	// --sharded ranges, which the CLI prints sorted by name.
	type lines struct{ whole, sharded string }
	want := map[string]lines{}
	add := func(name string, h *rangeHasher) {
		w, r := h.lines(name)
		want[name] = lines{w + "\n", strings.Join(r, "\n") + "\n"}
	}
	for name, b := range small {
		h := newRangeHasher(shard)
		h.Write(b)
		add(name, h)
	}

	start := time.Now()
	s.PutAll(t, bucket, prefix, small)
	t.Logf("uploaded %d small objects in %v", len(small), time.Since(start))
	start = time.Now()
	body, size := bigSafetensors(20, 2<<30+128<<20) // 2 GiB and 128 MiB of tensor data
	h := newRangeHasher(shard)
	s.PutStream(t, bucket, prefix+bigName, io.TeeReader(body, h))
	if h.off != size {
		t.Fatalf("uploaded %d bytes, want %d", h.off, size)
	}
	t.Logf("uploaded and hashed %d bytes in %v", size, time.Since(start))
	add(bigName, h)
	var wantWhole, wantSharded strings.Builder
	for _, name := range slices.Sorted(maps.Keys(want)) {
		wantWhole.WriteString(want[name].whole)
		wantSharded.WriteString(want[name].sharded)
	}

	dir := t.TempDir()
	start = time.Now()
	got := mlattest(t, dir, s.Env(), "digest", loc)
	elapsed := time.Since(start)
	if got.code != 0 || got.stderr != "" || got.stdout != wantWhole.String() {
		t.Fatalf("digest %s: exit %d, stderr %q, %d bytes of output, want %d:\n%s", loc, got.code, got.stderr, len(got.stdout), wantWhole.Len(), firstDiff(got.stdout, wantWhole.String()))
	}
	t.Logf("digest: %v (%.0f MiB/s)", elapsed, float64(size)/(1<<20)/elapsed.Seconds())

	start = time.Now()
	single := mlattest(t, dir, s.Env(), "digest", "--sharded", "256MiB", loc)
	t.Logf("digest --sharded 256MiB: %v", time.Since(start))
	if single.code != 0 || single.stdout != wantSharded.String() || !strings.Contains(single.stderr, "sha256-sharded-268435456 manifest of") {
		t.Fatalf("digest --sharded: exit %d, stderr %q:\n%s", single.code, single.stderr, firstDiff(single.stdout, wantSharded.String()))
	}
	parts := filepath.Join(t.TempDir(), "parts")
	start = time.Now()
	merged := shardedRunWith(t, dir, s.Env(), []string{"--sharded", "256MiB"}, loc, parts, 3)
	t.Logf("3 workers --sharded 256MiB and merge: %v", time.Since(start))
	if merged.code != 0 || merged.stdout != single.stdout || merged.stderr != single.stderr {
		t.Fatalf("merge of 3 workers differs from the single sharded digest:\n%v\n%s", merged, firstDiff(merged.stdout, single.stdout))
	}

	// scan model reads the checkpoint in place through ranged reads of its
	// header (about 0.1 s here; copying it to disk first took 15.6 s). With
	// the digest, one stream of every byte: as long as digest takes, so
	// left to the unit tests and TestScanStoreMatchesLocal.
	bigURI := loc + "/" + bigName
	for _, tc := range []struct {
		args  []string
		paths []string
	}{
		{[]string{"--no-digest", bigURI}, []string{bigURI}},
		{[]string{"--no-digest", loc + "/model"}, []string{loc + "/model/config.json", loc + "/model/empty.bin", bigURI}},
	} {
		start = time.Now()
		r := mlattest(t, dir, s.Env(), append([]string{"scan", "model", "--json"}, tc.args...)...)
		t.Logf("scan model %s: %v", strings.Join(tc.args, " "), time.Since(start))
		lines := jsonLines(t, r.stdout)
		if r.code != 0 || len(lines) != len(tc.paths) {
			t.Fatalf("scan model %s: %v\nwant %d safe results", strings.Join(tc.args, " "), r, len(tc.paths))
		}
		for i, l := range lines {
			if l["path"] != tc.paths[i] || l["verdict"] != string(model.Safe) {
				t.Errorf("scan model %s: result %d is %v, want %s safe", strings.Join(tc.args, " "), i, l, tc.paths[i])
			}
		}
		big := lines[len(lines)-1]
		if read, _ := big["bytesRead"].(float64); big["format"] != model.FormatSafetensors || big["size"] != float64(size) || read <= 0 || read > 1<<20 || big["sha256"] != nil {
			t.Errorf("scan model %s: the checkpoint's result %v, want safetensors of %d bytes, no digest, its header read", strings.Join(tc.args, " "), big, size)
		}
	}
}

// firstDiff shows where two outputs first differ, by line.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n got  %q\n want %q", i+1, a, b)
		}
	}
	return "equal"
}
