package gate

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

	"github.com/mlattest/mlattest/verify"
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
				sparseFile(t, filepath.Join(r.att, "big.sigstore.json"), verify.MaxBundleSize+1)
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

// A release tree holding anything but regular files and directories fails
// verification with model-tree naming the entry (issue 10, class 5); it is
// not an input error, and nothing special is opened (a FIFO would hang).
func TestAttacksModelTree(t *testing.T) {
	mknod := func(t *testing.T, path string, mode uint32, dev int) {
		t.Helper()
		if err := syscall.Mknod(path, mode|0o644, dev); err != nil {
			if errors.Is(err, syscall.EPERM) {
				t.Skipf("mknod needs privileges: %v", err)
			}
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, r *keyRun) // may set r.model
		substr string
	}{
		{name: "product replaced by a symbolic link to the same bytes outside",
			substr: "artifact m.bin: the released model", mutate: func(t *testing.T, r *keyRun) {
				outside := writeFile(t, t.TempDir(), "m.bin", koModel)
				p := filepath.Join(r.model, "m.bin")
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(outside, p); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "extra symbolic link inside the tree", substr: "artifact alias.bin: the released model",
			mutate: func(t *testing.T, r *keyRun) {
				if err := os.Symlink("m.bin", filepath.Join(r.model, "alias.bin")); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "FIFO in a subdirectory", substr: "artifact sub/pipe: the released model ",
			mutate: func(t *testing.T, r *keyRun) {
				if err := os.Mkdir(filepath.Join(r.model, "sub"), 0o755); err != nil {
					t.Fatal(err)
				}
				mkfifo(t, filepath.Join(r.model, "sub", "pipe"))
			}},
		{name: "socket", substr: "holds a socket",
			mutate: func(t *testing.T, r *keyRun) { mknod(t, filepath.Join(r.model, "sock"), syscall.S_IFSOCK, 0) }},
		{name: "character device", substr: "artifact null: the released model",
			mutate: func(t *testing.T, r *keyRun) { mknod(t, filepath.Join(r.model, "null"), syscall.S_IFCHR, 1<<8|3) }},
		{name: "the model path itself is a FIFO", substr: "holds a named pipe (FIFO)",
			mutate: func(t *testing.T, r *keyRun) {
				r.model = filepath.Join(t.TempDir(), "model.bin")
				mkfifo(t, r.model)
			}},
		{name: "file name that is not UTF-8", substr: "file whose name is not UTF-8",
			mutate: func(t *testing.T, r *keyRun) { writeFile(t, r.model, "bad\xffname", []byte("x")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newKeyRun(t, "", false)
			tc.mutate(t, r)
			rep, err := verifyWithin(t, r.opts(nil))
			if err != nil {
				t.Fatalf("want a model-tree failure, got an input error: %v", err)
			}
			if rep.Passed || rep.Subject.Passed || !rep.HasFailure(FailModelTree, tc.substr) {
				t.Fatalf("want a %s failure containing %q, got:\n%s", FailModelTree, tc.substr, failureList(rep))
			}
		})
	}

	t.Run("the honest tree passes and a missing model is an input error", func(t *testing.T) {
		r := newKeyRun(t, "", false)
		if rep, err := verifyWithin(t, r.opts(nil)); err != nil || !rep.Passed {
			t.Fatalf("honest run: %v\n%s", err, failureList(rep))
		}
		r.model = filepath.Join(t.TempDir(), "missing")
		if _, err := verifyWithin(t, r.opts(nil)); err == nil || errors.Is(err, ErrModelTree) {
			t.Fatalf("missing model: want an input error, got %v", err)
		}
	})
}
