// Package fsutil holds the small file-system helpers every mlattest writer
// shares, so that no command ever leaves a half-written file behind.
package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFileAtomic writes data to a temporary file in path's directory, syncs
// it and renames it over path. A failure at any point leaves path untouched
// and removes the temporary file.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return publish(path, data, perm, os.Rename)
}

// CreateExclusive is WriteFileAtomic that refuses to replace an existing file
// (the error satisfies errors.Is(err, fs.ErrExist)): the final step is a hard
// link, which fails if path exists, so two writers can never clobber each other.
func CreateExclusive(path string, data []byte, perm os.FileMode) error {
	return publish(path, data, perm, os.Link)
}

// publish writes a synced temporary file and hands it to final (rename or link).
func publish(path string, data []byte, perm os.FileMode, final func(oldpath, newpath string) error) error {
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
	_, err = tmp.Write(data)
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
