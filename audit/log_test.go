package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
)

const (
	issuerA = "https://issuer-a.test"
	issuerB = "https://issuer-b.test"
)

// twoIdentityLog is a log of n entries alternating between alice@A and bob@B,
// entry i signing sha256("artifact i").
func twoIdentityLog(t *testing.T, n int) *testLog {
	t.Helper()
	l := newTestLog(t, nil)
	vs := fakeSigstore(t)
	entries := make([][]byte, n)
	for i := range entries {
		id, iss := "alice@example.com", issuerA
		if i%2 == 1 {
			id, iss = "bob@example.com", issuerB
		}
		entries[i] = hashedRekordEntry(t, vs, id, iss, sha(fmt.Sprintf("artifact %d", i)))
	}
	l.add(t, entries...)
	return l
}

func TestSearch(t *testing.T) {
	const n = 600 // three entry bundles, the last one partial
	l := twoIdentityLog(t, n)
	lg := l.open(t)
	ctx := context.Background()
	cp, err := lg.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != n || cp.Origin != testOrigin {
		t.Fatalf("checkpoint %s size %d, want %s %d", cp.Origin, cp.Size, testOrigin, n)
	}
	tests := []struct {
		name     string
		q        Query
		from, to uint64
		want     func(i int) bool
	}{
		{"alice", Query{Subject: "alice@example.com"}, 0, 0, func(i int) bool { return i%2 == 0 }},
		{"bob by issuer", Query{Issuer: issuerB}, 0, 0, func(i int) bool { return i%2 == 1 }},
		{"bob regexp", Query{SubjectRegexp: "bob@.*"}, 0, 0, func(i int) bool { return i%2 == 1 }},
		{"regexp is anchored", Query{SubjectRegexp: "bob"}, 0, 0, func(int) bool { return false }},
		{"subject and wrong issuer", Query{Subject: "alice@example.com", Issuer: issuerB}, 0, 0, func(int) bool { return false }},
		{"digest", Query{Digest: fmt.Sprintf("sha256:%x", sha("artifact 301"))}, 0, 0, func(i int) bool { return i == 301 }},
		{"bare hex digest", Query{Digest: fmt.Sprintf("%x", sha("artifact 7"))}, 0, 0, func(i int) bool { return i == 7 }},
		{"range across bundles", Query{Subject: "alice@example.com"}, 250, 520, func(i int) bool { return i%2 == 0 && i >= 250 && i < 520 }},
		{"range inside a bundle", Query{Issuer: issuerA}, 3, 9, func(i int) bool { return i%2 == 0 && i >= 3 && i < 9 }},
		{"range in the partial bundle", Query{Issuer: issuerB}, 513, 599, func(i int) bool { return i%2 == 1 && i >= 513 && i < 599 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := lg.Search(ctx, cp, tc.from, tc.to, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var want []uint64
			for i := range n {
				if tc.want(i) {
					want = append(want, uint64(i))
				}
			}
			var got []uint64
			for _, e := range res.Matches {
				got = append(got, e.Index)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %d entries %v\nwant %d %v", len(got), got, len(want), want)
			}
			if len(res.Unreadable) != 0 {
				t.Fatalf("unreadable: %v", res.Unreadable)
			}
		})
	}
	t.Run("invalid queries", func(t *testing.T) {
		for _, q := range []Query{{}, {Digest: "md5:00"}, {Digest: "sha256:zz"}, {SubjectRegexp: "("}} {
			if _, err := lg.Search(ctx, cp, 0, 0, q); !errors.Is(err, ErrQuery) {
				t.Errorf("%+v: err %v, want ErrQuery", q, err)
			}
		}
	})
}

func TestEntryIdentity(t *testing.T) {
	l := twoIdentityLog(t, 2)
	lg := l.open(t)
	ctx := context.Background()
	cp, err := lg.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data, err := lg.Leaf(ctx, cp, 1)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEntry(1, data)
	if err != nil {
		t.Fatal(err)
	}
	s := e.Signers[0]
	if e.Kind != KindHashedRekord || s.Subject != "bob@example.com" || s.Issuer != issuerB || s.NotBefore == nil ||
		e.Digest.String() != fmt.Sprintf("sha256:%x", sha("artifact 1")) {
		t.Fatalf("entry %+v signer %+v", e, s)
	}
}

// TestTampered edits a served copy of the log: every edit must fail
// verification for its own reason.
func TestTampered(t *testing.T) {
	l := twoIdentityLog(t, 300)
	other := newTestLog(t, nil)
	other.add(t, []byte("x"))
	otherCP, err := os.ReadFile(filepath.Join(other.dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		edit     func(t *testing.T, dir string)
		from     uint64
		read     func(context.Context, *Log, *Checkpoint) error // default: Search from
		sentinel error
		reason   string
	}{
		{"checkpoint size", func(t *testing.T, dir string) {
			edit(t, dir, "checkpoint", func(b []byte) []byte { return bytes.Replace(b, []byte("\n300\n"), []byte("\n299\n"), 1) })
		}, 0, nil, ErrCheckpoint, "failed to verify signatures"},
		{"checkpoint root", func(t *testing.T, dir string) {
			edit(t, dir, "checkpoint", func(b []byte) []byte {
				lines := bytes.SplitN(b, []byte("\n"), 4)
				lines[2][0] ^= 1
				return bytes.Join(lines, []byte("\n"))
			})
		}, 0, nil, ErrCheckpoint, "failed to verify signatures"},
		{"checkpoint by another key", func(t *testing.T, dir string) {
			edit(t, dir, "checkpoint", func([]byte) []byte { return otherCP })
		}, 0, nil, ErrCheckpoint, "failed to verify signatures"},
		{"checkpoint of another origin", func(t *testing.T, dir string) {
			edit(t, dir, "checkpoint", func(b []byte) []byte { return bytes.Replace(b, []byte(testOrigin), []byte("evil.test"), 1) })
		}, 0, nil, ErrCheckpoint, `origin "evil.test" is not a log of the trusted root`},
		{"entry bytes", func(t *testing.T, dir string) {
			edit(t, dir, "tile/entries/000", func(b []byte) []byte { return retypeFirst(t, b) })
		}, 0, nil, ErrTampered, "entry 0 in tile/entries/000 does not hash to the level-0 hash tile"},
		// Every entry read by the scan's parser (no needle): the edited
		// entry is parsed as it arrives, and the proof still fails.
		{"certificate byte, every entry parsed", func(t *testing.T, dir string) {
			edit(t, dir, "tile/entries/000", func(b []byte) []byte { return editCert(t, b, 'A') })
		}, 0, func(ctx context.Context, lg *Log, cp *Checkpoint) error {
			_, err := lg.Search(ctx, cp, 0, 0, Query{SubjectRegexp: `.*e@example\.com`})
			return err
		}, ErrTampered, "entry 0 in tile/entries/000 does not hash to the level-0 hash tile"},
		{"quote in a certificate, every entry parsed", func(t *testing.T, dir string) {
			edit(t, dir, "tile/entries/000", func(b []byte) []byte { return editCert(t, b, '"') })
		}, 0, func(ctx context.Context, lg *Log, cp *Checkpoint) error {
			_, err := lg.Search(ctx, cp, 0, 0, Query{SubjectRegexp: `.*e@example\.com`})
			return err
		}, ErrTampered, "entry 0 in tile/entries/000 does not hash to the level-0 hash tile"},
		{"entry bundle truncated", func(t *testing.T, dir string) {
			edit(t, dir, "tile/entries/000", func(b []byte) []byte { return b[:len(b)-100] })
		}, 0, nil, ErrTampered, "tile/entries/000"},
		{"entry bundle missing", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "tile/entries/001.p/44")); err != nil {
				t.Fatal(err)
			}
		}, 0, nil, ErrTampered, "not found"},
		{"level-1 hash tile (range nodes of [0,256))", func(t *testing.T, dir string) {
			edit(t, dir, "tile/1/000.p/1", func(b []byte) []byte { b[5] ^= 1; return b })
		}, 256, nil, ErrTampered, "do not hash to the root of checkpoint size 300"},
		{"level-0 hash tile (inclusion proof)", func(t *testing.T, dir string) {
			edit(t, dir, "tile/0/000", func(b []byte) []byte { b[32*7+5] ^= 1; return b })
		}, 0, func(ctx context.Context, lg *Log, cp *Checkpoint) error {
			_, err := lg.Leaf(ctx, cp, 3)
			return err
		}, ErrTampered, "entry 3 as served is not the entry the checkpoint commits to"},
		{"entry and its hash replaced together", func(t *testing.T, dir string) {
			// The level-0 tile agrees with the edited entry: only the
			// checkpoint's root catches it.
			var leaf []byte
			edit(t, dir, "tile/entries/000", func(b []byte) []byte {
				b = retypeFirst(t, b)
				var eb api.EntryBundle
				if err := eb.UnmarshalText(b); err != nil {
					t.Fatal(err)
				}
				leaf = rfc6962.DefaultHasher.HashLeaf(eb.Entries[0])
				return b
			})
			edit(t, dir, "tile/0/000", func(b []byte) []byte { copy(b, leaf); return b })
		}, 0, nil, ErrTampered, "the hash tiles and entries of [0, 300) do not hash to the root of checkpoint size 300"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, url := l.copyServed(t)
			tc.edit(t, dir)
			lg, err := Open(url, l.tm)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			cp, err := lg.Checkpoint(ctx)
			switch {
			case err != nil:
			case tc.read != nil:
				err = tc.read(ctx, lg, cp)
			default:
				_, err = lg.Search(ctx, cp, tc.from, 0, Query{Issuer: issuerA})
			}
			if !errors.Is(err, tc.sentinel) || !strings.Contains(fmt.Sprint(err), tc.reason) {
				t.Fatalf("err %v\nwant %v containing %q", err, tc.sentinel, tc.reason)
			}
		})
	}
}

func edit(t *testing.T, dir, rel string, f func([]byte) []byte) {
	t.Helper()
	p := filepath.Join(dir, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, f(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// editCert sets a byte in the middle of the first entry's certificate
// (base64) to c, which must differ from it.
func editCert(t *testing.T, b []byte, c byte) []byte {
	t.Helper()
	i := bytes.Index(b, []byte(`"rawBytes":"`))
	if i < 0 || i > 600 {
		t.Fatalf("no certificate in the first entry")
	}
	i += len(`"rawBytes":"`) + 200
	if b[i] == c {
		t.Fatalf("byte %d is %q already", i, c)
	}
	b[i] = c
	return b
}

// retypeFirst changes the kind of the bundle's first entry, keeping lengths.
func retypeFirst(t *testing.T, b []byte) []byte {
	t.Helper()
	i := bytes.Index(b, []byte(`"kind":"hashedrekord"`))
	if i < 0 || i > 600 {
		t.Fatalf("no kind in the first entry")
	}
	b[i+len(`"kind":"hashedrekor`)] = 'D'
	return b
}
