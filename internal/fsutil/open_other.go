//go:build !unix

package fsutil

import "os"

// OpenNonBlocking opens p for reading; the caller checks the open file's type.
func OpenNonBlocking(p string, _ bool) (*os.File, error) { return os.Open(p) }
