package audit

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// TestLeafRange: the compact range a scan builds for a run of leaves (a
// whole aligned bundle hashed level by level, anything else leaf by leaf)
// has the nodes and root RFC 6962 gives, and hashChildren is RFC 6962's.
func TestLeafRange(t *testing.T) {
	rf := &compact.RangeFactory{Hash: hashChildren}
	ref := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	for _, tc := range []struct{ first, n uint64 }{{0, 256}, {512, 256}, {256, 255}, {3, 256}, {0, 1}, {768, 100}} {
		t.Run(fmt.Sprint(tc.first, "+", tc.n), func(t *testing.T) {
			var hashes []byte
			want := ref.NewEmptyRange(tc.first)
			for i := range tc.n {
				h := rfc6962.DefaultHasher.HashLeaf(fmt.Appendf(nil, "entry %d", tc.first+i))
				hashes = append(hashes, h...)
				if err := want.Append(h, nil); err != nil {
					t.Fatal(err)
				}
			}
			orig := bytes.Clone(hashes)
			got, err := leafRange(newTreeHasher(), rf, tc.first, hashes)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(hashes, orig) {
				t.Fatal("leafRange changed the leaf hashes (locate reads them)")
			}
			if got.Begin() != want.Begin() || got.End() != want.End() || fmt.Sprint(got.Hashes()) != fmt.Sprint(want.Hashes()) {
				t.Fatalf("range [%d, %d) %x, want [%d, %d) %x", got.Begin(), got.End(), got.Hashes(), want.Begin(), want.End(), want.Hashes())
			}
			// Joined after an empty prefix, as scan joins the parts.
			if tc.first == 0 {
				rng := rf.NewEmptyRange(0)
				if err := rng.AppendRange(got, nil); err != nil {
					t.Fatal(err)
				}
				root, _ := rng.GetRootHash(nil)
				wantRoot, _ := want.GetRootHash(nil)
				if !bytes.Equal(root, wantRoot) {
					t.Fatalf("root %x, want %x", root, wantRoot)
				}
			}
		})
	}
	l, r := make([]byte, sha256.Size), bytes.Repeat([]byte{7}, sha256.Size)
	for _, pair := range [][2][]byte{{l, r}, {r, l}, {l[:5], r}} {
		if got, want := hashChildren(pair[0], pair[1]), rfc6962.DefaultHasher.HashChildren(pair[0], pair[1]); !bytes.Equal(got, want) {
			t.Fatalf("hashChildren(%x, %x) = %x, want %x", pair[0], pair[1], got, want)
		}
	}
}
