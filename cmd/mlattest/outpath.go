package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkOutFile refuses an output file flag's value before any work is done:
// a directory, or a file in a directory that does not exist, would only
// fail once the scan or signature it is meant to hold has been computed.
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
	return nil
}
