package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// FuzzParsePart: a part file is untrusted (any worker, or anyone who can
// write the part prefix, wrote it). ParsePart never panics, refuses with
// ErrPart, and what it accepts encodes back to a part it accepts again
// with the same content.
func FuzzParsePart(f *testing.F) {
	for _, n := range []int{1, 3} {
		for _, np := range partsOf("s3://b/p/", randomListing(rand.New(rand.NewPCG(3, uint64(n))), 5), n) {
			b, err := np.Part.Marshal()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"https://mlattest.dev/digest-part/v1","shards":1,"listing":"sha256:","artifacts":null}`))
	files := []Listed{{Name: "a", Size: 5, ETag: `"x"`}, {Name: "b", Size: 0}, {Name: "c/d", Size: 9}}
	for _, n := range []int{1, 2} {
		parts, _ := rangePartsOf(f, "s3://b/p/", files, 4, n)
		for _, np := range parts {
			b, err := np.Part.Marshal()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePart(b)
		if err != nil {
			if !errors.Is(err, ErrPart) {
				t.Fatalf("error %v is not ErrPart", err)
			}
			return
		}
		again, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		p2, err := ParsePart(again)
		if err != nil {
			t.Fatalf("re-encoded part refused: %v", err)
		}
		third, _ := p2.Marshal()
		if !bytes.Equal(again, third) {
			t.Fatal("encoding is not stable")
		}
	})
}
