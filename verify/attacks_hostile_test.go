package verify

// Hostile files around a real (key-signed, offline) run: what is read is
// bounded before it is read (issue 10, class 7).

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// verifyWithin runs VerifyLayout and fails the test if it does not return
// promptly (a blocking open of a FIFO would hang it).
func verifyWithin(t *testing.T, opts LayoutOptions) (*Report, error) {
	t.Helper()
	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := VerifyLayout(context.Background(), opts)
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		return r.rep, r.err
	case <-time.After(20 * time.Second):
		t.Fatal("VerifyLayout blocked")
		return nil, nil
	}
}

func sparseFile(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

func TestAttacksBoundedInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, r *keyRun)
		code   FailureCode // "": an input error
		substr string
	}{
		{name: "bundle just over the limit is refused unread", code: FailBundle,
			substr: "cannot read: larger than",
			mutate: func(t *testing.T, r *keyRun) {
				sparseFile(t, filepath.Join(r.att, "big.sigstore.json"), MaxBundleSize+1)
			}},
		{name: "1 TiB bundle is refused by its size", code: FailBundle,
			substr: "cannot read: larger than",
			mutate: func(t *testing.T, r *keyRun) { sparseFile(t, filepath.Join(r.att, "huge.sigstore.json"), 1<<40) }},
		{name: "60 MB bundle is over the limit", code: FailBundle,
			substr: "cannot read: larger than",
			mutate: func(t *testing.T, r *keyRun) { sparseFile(t, filepath.Join(r.att, "60mb.sigstore.json"), 60_000_000) }},
		{name: "layout that is a FIFO is an input error, not a hang", substr: "not a regular file",
			mutate: func(t *testing.T, r *keyRun) { mkfifo(t, r.layout) }},
		{name: "layout bundle that is a FIFO is an input error, not a hang", substr: "not a regular file",
			mutate: func(t *testing.T, r *keyRun) { mkfifo(t, r.layout+".sigstore.json") }},
		{name: "huge layout is refused by its size", substr: "larger than",
			mutate: func(t *testing.T, r *keyRun) { sparseFile(t, r.layout, 1<<40) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newKeyRun(t, "", false)
			tc.mutate(t, r)
			rep, err := verifyWithin(t, r.opts(nil))
			if tc.code == "" {
				if err == nil || !strings.Contains(err.Error(), tc.substr) {
					t.Fatalf("want an input error containing %q, got %v", tc.substr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Passed || !rep.HasFailure(tc.code, tc.substr) {
				t.Fatalf("want a %s failure containing %q, got:\n%s", tc.code, tc.substr, failureList(rep))
			}
		})
	}
}
