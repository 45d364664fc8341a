package audit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConsistency(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, nil)
	vs := fakeSigstore(t)
	var entries [][]byte
	for i := range 300 {
		entries = append(entries, hashedRekordEntry(t, vs, "alice@example.com", issuerA, sha(fmt.Sprint(i))))
	}
	l.add(t, entries[:5]...)
	lg := l.open(t)
	cp5, err := lg.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.add(t, entries[5:8]...)
	cp8, err := lg.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.add(t, entries[8:270]...)
	cp270, err := lg.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A fork: same key and origin, the same first 3 entries, then others.
	fork := newTestLog(t, l.key)
	fork.add(t, entries[:3]...)
	fork.add(t, entries[100:105]...)
	forkLog := fork.open(t)
	fork6, err := forkLog.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fork.add(t, entries[105:300]...)
	forkBig, err := forkLog.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name         string
		lg           *Log
		older, newer *Checkpoint
		reason       string // "" = consistent
	}{
		{"grown", lg, cp5, cp270, ""},
		{"same", lg, cp270, cp270, ""},
		{"rolled back", lg, cp270, cp5, "tree size 5 is smaller than the 270 seen before (rolled back)"},
		{"forked, same size", lg, cp8, fork6, "two different roots for tree size 8 (forked)"},
		{"forked, fork grew", forkLog, cp5, forkBig, "from size 5 to 203 does not verify"},
		{"forked, honest log grew", lg, fork6, cp270, "from size 8 to 270 does not verify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.lg.Consistency(ctx, tc.older, tc.newer)
			if tc.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err %v, want ErrInconsistent containing %q", err, tc.reason)
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	l := twoIdentityLog(t, 3)
	ctx := context.Background()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for name, url := range map[string]string{"503": down.URL, "connection refused": closed.URL} {
		t.Run(name, func(t *testing.T) {
			lg, err := Open(url, l.tm, WithRetry(700*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = lg.Checkpoint(ctx)
			var ue *UnavailableError
			if !errors.Is(err, ErrUnavailable) || !errors.As(err, &ue) || ue.Attempts < 3 {
				t.Fatalf("err %v, want ErrUnavailable after several attempts", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("gave up after %s, deadline 700ms", d)
			}
		})
	}
	t.Run("recovers", func(t *testing.T) {
		// Two 503s, then the log answers: retried, not failed.
		fails := 2
		h := http.FileServer(http.Dir(l.dir))
		flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if fails > 0 {
				fails--
				http.Error(w, "busy", http.StatusBadGateway)
				return
			}
			h.ServeHTTP(w, r)
		}))
		defer flaky.Close()
		lg, err := Open(flaky.URL, l.tm, WithRetry(5*time.Second, 10*time.Millisecond, 50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lg.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("oversized checkpoint", func(t *testing.T) {
		dir, url := l.copyServed(t)
		if err := os.WriteFile(filepath.Join(dir, "checkpoint"), make([]byte, maxCheckpointSize+1), 0o644); err != nil {
			t.Fatal(err)
		}
		lg, err := Open(url, l.tm)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lg.Checkpoint(ctx); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("err %v", err)
		}
	})
}
