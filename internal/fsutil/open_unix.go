//go:build unix

package fsutil

import (
	"os"
	"syscall"
)

// OpenNonBlocking opens p for reading without blocking, so a FIFO or device
// put in place of a checked file cannot hang the open; with nofollow a
// symbolic link put in place of a resolved path fails instead of being
// followed. Reads from a regular file are not affected.
func OpenNonBlocking(p string, nofollow bool) (*os.File, error) {
	flag := os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if nofollow {
		flag |= syscall.O_NOFOLLOW
	}
	return os.OpenFile(p, flag, 0)
}
