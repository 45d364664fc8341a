//go:build !unix

package digest

import "os"

// openRegular opens p for reading; the caller checks the open file's type.
func openRegular(p string, _ bool) (*os.File, error) { return os.Open(p) }
