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

// FuzzParseLocation: a location comes from the command line or a
// pipeline's configuration. ParseLocation never panics, refuses with
// ErrBadLocation, and what it accepts prints (String) as a location that
// parses back to itself.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"s3://b/p", "gs://b/a/b/", "file:///tmp/x", "s3://b//x", "s3://b/p?x=1", "gs://u:p@b/p", "file://h/x", "s3://b/%2e%2e/x", "gs://b/ü/日本", "s3://b/a/../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		loc, err := ParseLocation(raw)
		if err != nil {
			if !errors.Is(err, ErrBadLocation) {
				t.Fatalf("error %v is not ErrBadLocation", err)
			}
			return
		}
		again, err := ParseLocation(loc.String())
		if err != nil {
			t.Fatalf("%q parsed as %+v, whose String %q is refused: %v", raw, loc, loc.String(), err)
		}
		if again != loc {
			t.Fatalf("%q -> %+v -> %q -> %+v", raw, loc, loc.String(), again)
		}
	})
}
