// Package fsutil holds the small file-system helpers every mlattest writer
// shares, so that no command ever leaves a half-written file behind.
package fsutil

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFileAtomic writes data to a temporary file in path's directory, syncs
// it and renames it over path. A failure at any point leaves path untouched
// and removes the temporary file.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return publish(path, perm, writeBytes(data), os.Rename)
}

// WriteAtomic is WriteFileAtomic for content too large to hold in memory:
// write streams it into the temporary file, whose writes are buffered. An
// error from write leaves path untouched and is returned naming path.
func WriteAtomic(path string, perm os.FileMode, write func(io.Writer) error) error {
	return publish(path, perm, func(f io.Writer) error {
		w := bufio.NewWriterSize(f, 1<<20)
		if err := write(w); err != nil {
			return err
		}
		return w.Flush()
	}, os.Rename)
}

func writeBytes(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// CreateExclusive is WriteFileAtomic that refuses to replace an existing file
// (the error satisfies errors.Is(err, fs.ErrExist)): the final step is a hard
// link, which fails if path exists, so two writers can never clobber each other.
func CreateExclusive(path string, data []byte, perm os.FileMode) error {
	return publish(path, perm, writeBytes(data), os.Link)
}

// publish writes a synced temporary file and hands it to final (rename or link).
func publish(path string, perm os.FileMode, write func(io.Writer) error, final func(oldpath, newpath string) error) error {
	// A directory at path would make rename fail with a message naming the
	// temporary file; say what the user can act on instead.
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return writeError(path, syscall.EISDIR)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return writeError(path, err)
	}
	name := tmp.Name()
	defer os.Remove(name) // a no-op after a successful rename
	err = write(tmp)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = final(name, path)
	}
	if err != nil {
		return writeError(path, err)
	}
	return nil
}

// writeError names path and the cause, never the temporary file: the
// *PathError or *LinkError of a step names the temporary file, so only the
// underlying errno is kept (errors.Is(err, fs.ErrExist) and the like still hold).
func writeError(path string, err error) error {
	return fmt.Errorf("cannot write %s: %w", path, Cause(err))
}

// Cause strips the *fs.PathError or *os.LinkError around a system error, for
// messages that already name the file ("key owner.pub: no such file or
// directory", not "key owner.pub: open owner.pub: no such file or directory").
func Cause(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}
