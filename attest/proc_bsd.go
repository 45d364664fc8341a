//go:build unix && !linux

package attest

import (
	"os"
	"syscall"
)

// dieWithParent: only Linux can have a child killed when its parent dies;
// elsewhere a command outlives a killed mlattest.
func dieWithParent(*syscall.SysProcAttr) {}

// rawNewlines: the digest of a pseudo-terminal's output has "\r\n" line
// ends here.
func rawNewlines(*os.File) error { return nil }
