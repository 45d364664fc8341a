package fsutil

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	if err := WriteFileAtomic(p, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "two" {
		t.Fatalf("content = %q, %v; want two", got, err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	assertOnly(t, dir, "out.json")
}

func TestCreateExclusive(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "b.sigstore.json")
	if err := CreateExclusive(p, []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := CreateExclusive(p, []byte("second"), 0o644)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second create: err = %v, want fs.ErrExist", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "first" {
		t.Fatalf("existing file was replaced: %q", got)
	}
	assertOnly(t, dir, "b.sigstore.json")
}

func TestWriteFileAtomicMissingDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope", "x")
	if err := WriteFileAtomic(p, []byte("x"), 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

// assertOnly fails when dir holds anything but the named files (no temp leftovers).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(names) {
		var got []string
		for _, e := range ents {
			got = append(got, e.Name())
		}
		t.Fatalf("dir holds %v, want %v", got, names)
	}
}

// TestWriteErrorsNameThePath: errors name the path the caller gave and the
// cause, never the temporary file (a user cannot act on that name).
func TestWriteErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       string
		is         error
	}{
		{"directory", sub, "cannot write " + sub + ": is a directory", nil},
		{"missing parent", filepath.Join(dir, "nope", "x"), "cannot write " + filepath.Join(dir, "nope", "x") + ": no such file or directory", fs.ErrNotExist},
	} {
		for fname, write := range map[string]func(string, []byte, os.FileMode) error{"WriteFileAtomic": WriteFileAtomic, "CreateExclusive": CreateExclusive} {
			err := write(tc.path, []byte("x"), 0o644)
			if err == nil || err.Error() != tc.want {
				t.Errorf("%s %s: err = %v, want %q", fname, tc.name, err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%s %s: err = %v, want errors.Is %v", fname, tc.name, err, tc.is)
			}
		}
	}
	p := filepath.Join(dir, "f")
	if err := CreateExclusive(p, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CreateExclusive(p, []byte("2"), 0o644); err == nil || err.Error() != "cannot write "+p+": file exists" {
		t.Errorf("existing file: err = %v", err)
	}
	assertOnly(t, dir, "f", "sub")
}

// TestWriteAtomic: the streaming writer publishes what write wrote, and an
// error from write (after some bytes) leaves the old file and no temporary.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cache")
	big := strings.Repeat("x", 3<<20) // more than the writer's buffer
	if err := WriteAtomic(p, 0o600, func(w io.Writer) error {
		_, err := io.WriteString(w, big)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteAtomic(p, 0o600, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "cannot write "+p) {
		t.Fatalf("err = %v, want boom naming %s", err, p)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != big {
		t.Fatalf("content after a failed write: %d bytes, %v; want the first write's %d", len(got), err, len(big))
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	assertOnly(t, dir, "cache")
}
