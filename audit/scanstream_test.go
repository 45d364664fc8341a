package audit

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/api"

	"github.com/mlattest/mlattest/internal/tileserve"
)

// TestScanBundleCutOff: a scan visits entries as their bundle arrives, so
// when a connection breaks mid-bundle the retry must bring the bytes
// already visited again, unchanged, and go on after them. Resumed, the
// scan finds exactly what an unbroken one finds (no entry visited twice);
// a log that serves other bytes the second time fails the scan with that
// reason.
func TestScanBundleCutOff(t *testing.T) {
	const n = 600 // three entry bundles, the last one partial
	l := twoIdentityLog(t, n)
	ctx := context.Background()
	lg := l.open(t)
	cp, err := lg.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := Query{SubjectRegexp: "alice@.*"} // every entry is read
	want, err := lg.Search(ctx, cp, 0, 0, q)
	if err != nil || len(want.Matches) != n/2 {
		t.Fatalf("%v: %d matches", err, len(want.Matches))
	}
	for _, tc := range []struct {
		name string
		// second edits what the second attempt at a bundle serves
		second func([]byte) []byte
		reason string // "": the scan succeeds
	}{
		{"resumed", func(b []byte) []byte { return b }, ""},
		{"changed before the cut", func(b []byte) []byte { b[100] ^= 1; return b }, "changed between two attempts to read it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := l.copyServed(t)
			srv := httptest.NewServer(cutOnce(t, dir, tc.second))
			defer srv.Close()
			lg, err := Open(srv.URL, l.tm, WithRetry(5*time.Second, 10*time.Millisecond, 50*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			got, err := lg.Search(ctx, cp, 0, 0, q)
			if tc.reason != "" {
				if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("err %v, want %v containing %q", err, ErrTampered, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("resumed scan: %d matches, %d unreadable; unbroken: %d, %d", len(got.Matches), len(got.Unreadable), len(want.Matches), len(want.Unreadable))
			}
		})
	}
}

// cutOnce serves the log files under dir, but the first request for each
// entry bundle gets its first half only, after which the connection
// breaks; the second gets the bundle as second edits it.
func cutOnce(t *testing.T, dir string, second func([]byte) []byte) http.Handler {
	files := tileserve.Handler(dir)
	var mu sync.Mutex
	seen := map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/tile/entries/") {
			files.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		seen[r.URL.Path]++
		attempt := seen[r.URL.Path]
		mu.Unlock()
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		switch attempt {
		case 1:
			// Enough for the scan to visit entries before the cut.
			if _, err := w.Write(b[:len(b)/2]); err != nil {
				t.Error(err)
			}
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		case 2:
			_, _ = w.Write(second(b))
		default:
			_, _ = w.Write(b)
		}
	})
}

// FuzzEntryFrames: walked in chunks of any size as it arrives, any bytes
// give the entries api.EntryBundle.UnmarshalText reads of the whole, and
// bytes after the last whole entry exactly when it refuses them.
func FuzzEntryFrames(f *testing.F) {
	var bundle []byte
	for _, e := range entrySeeds(f) {
		bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(e)))
		bundle = append(bundle, e...)
	}
	f.Add(bundle, uint16(1000))
	f.Add(bundle[:len(bundle)-1], uint16(1))
	f.Add([]byte{}, uint16(7))
	f.Add([]byte{0, 0, 0, 0, 0}, uint16(2))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		var fr entryFrames
		var got [][]byte
		for end := 0; end < len(data); {
			end = min(len(data), end+1+int(chunk))
			for {
				e, i, ok := fr.next(data[:end])
				if !ok {
					break
				}
				if i != uint64(len(got)) {
					t.Fatalf("entry %d numbered %d", len(got), i)
				}
				got = append(got, e)
			}
		}
		var eb api.EntryBundle
		err := eb.UnmarshalText(data)
		if (err != nil) != (fr.off != len(data)) {
			t.Fatalf("UnmarshalText: %v; frames end at %d of %d bytes", err, fr.off, len(data))
		}
		if err == nil && !reflect.DeepEqual(got, eb.Entries) && (len(got) > 0 || len(eb.Entries) > 0) {
			t.Fatalf("frames %d entries, UnmarshalText %d", len(got), len(eb.Entries))
		}
	})
}
