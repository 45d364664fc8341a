package audit

import (
	"bytes"
	"crypto/sha256"
	mrand "math/rand/v2"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
)

// TestTreeHasherPair: leaf and node hashes two at a time (paired SHA-256 where
// the CPU has it) are rfc6962's, for messages of every length about the
// block boundaries and pairs of unequal block counts.
func TestTreeHasherPair(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	msg := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	}
	want := rfc6962.DefaultHasher.HashLeaf
	node := func(data []byte) []byte {
		h := sha256.Sum256(append([]byte{rfc6962.RFC6962NodeHashPrefix}, data...))
		return h[:]
	}
	var lens []int
	for n := range 300 {
		lens = append(lens, n)
	}
	lens = append(lens, 511, 512, 513, 950, 951, 952, 1000, 4096, 65535)
	l := newTreeHasher()
	for _, tc := range []struct {
		name string
		a, b func(n int) int
	}{
		{"same length", func(n int) int { return n }, func(n int) int { return n }},
		{"second longer", func(n int) int { return n }, func(n int) int { return n + 70 }},
		{"first longer", func(n int) int { return n + 200 }, func(n int) int { return n / 3 }},
		{"second empty", func(n int) int { return n }, func(int) int { return 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range lens {
				a, b := msg(tc.a(n)), msg(tc.b(n))
				got := l.pair([]byte("x"), rfc6962.RFC6962LeafHashPrefix, a, b)
				if w := append(append([]byte("x"), want(a)...), want(b)...); !bytes.Equal(got, w) {
					t.Fatalf("lengths %d, %d: %x, want %x", len(a), len(b), got, w)
				}
				if got := l.one(nil, rfc6962.RFC6962LeafHashPrefix, a); !bytes.Equal(got, want(a)) {
					t.Fatalf("one, length %d: %x", len(a), got)
				}
				// A node's children are 64 bytes; any data takes its prefix.
				if got, w := l.pair(nil, rfc6962.RFC6962NodeHashPrefix, a, b), append(node(a), node(b)...); !bytes.Equal(got, w) {
					t.Fatalf("node prefix, lengths %d, %d: %x, want %x", len(a), len(b), got, w)
				}
			}
		})
	}
	t.Logf("paired SHA-256: %v", pairedSHA256)
}

// FuzzTreeHasherPair: the pair's hashes are rfc6962's for any two entries.
func FuzzTreeHasherPair(f *testing.F) {
	f.Add([]byte(""), []byte("a"))
	f.Add(bytes.Repeat([]byte("e"), 951), bytes.Repeat([]byte("f"), 55))
	l := newTreeHasher()
	f.Fuzz(func(t *testing.T, a, b []byte) {
		got := l.pair(nil, rfc6962.RFC6962LeafHashPrefix, a, b)
		want := append(rfc6962.DefaultHasher.HashLeaf(a), rfc6962.DefaultHasher.HashLeaf(b)...)
		if !bytes.Equal(got, want) {
			t.Fatalf("%x, want %x", got, want)
		}
	})
}

// BenchmarkTreeHasher hashes 256 entries one at a time and in pairs.
func BenchmarkTreeHasher(b *testing.B) {
	entries := benchEntries(b, 256)
	l := newTreeHasher()
	out := make([]byte, 0, 32*len(entries))
	for _, mode := range []string{"one", "pair"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				out = out[:0]
				for i := 0; i+1 < len(entries); i += 2 {
					if mode == "one" {
						out = l.one(l.one(out, 0, entries[i]), 0, entries[i+1])
					} else {
						out = l.pair(out, 0, entries[i], entries[i+1])
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(entries)), "ns/entry")
		})
	}
}
