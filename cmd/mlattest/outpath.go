package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mlattest/mlattest/internal/fsutil"
)

// checkOutFile refuses an output file flag's value before any work is done:
// a directory, a file in a directory that does not exist or that the user
// cannot write in would only fail once the scan or signature it is meant to
// hold has been computed. The write probe leaves nothing behind.
func checkOutFile(flag, path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s %s: is a directory", flag, path)
	}
	fi, err := os.Stat(filepath.Dir(path))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: directory %s does not exist", flag, path, filepath.Dir(path))
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s %s: %s is not a directory", flag, path, filepath.Dir(path))
	}
	probe, err := os.CreateTemp(filepath.Dir(path), ".mlattest-probe-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, fsutil.Cause(err))
	}
	probe.Close()
	return os.Remove(probe.Name())
}
