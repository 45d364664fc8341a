// Package fsutil holds the small file-system helpers every mlattest writer
// shares, so that no command ever leaves a half-written file behind.
package fsutil

import (
	"fmt"
	"os"
	"path/filepath"
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
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
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
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
