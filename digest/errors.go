package digest

import (
	"errors"
	"fmt"
	"io/fs"
)

// Sentinel errors; test for them with errors.Is. Every error returned by
// Paths and File for a particular file is a *PathError naming it.
var (
	// ErrOutsideRoot: a path argument is not at or below the root.
	ErrOutsideRoot = errors.New("path is outside the root")
	// ErrSymlink: a symbolic link met under SymlinksReject.
	ErrSymlink = errors.New("symbolic link not allowed (symlink policy is reject)")
	// ErrSymlinkEscapes: a symbolic link whose resolution leaves the root.
	ErrSymlinkEscapes = errors.New("symbolic link escapes the root")
	// ErrSymlinkLoop: too many links in a chain, or a link to a directory
	// that is being walked.
	ErrSymlinkLoop = errors.New("symbolic link loop")
	// ErrSpecialFile: a device, socket, FIFO or other non-regular file.
	ErrSpecialFile = errors.New("not a regular file")
	// ErrBadName: a file name that cannot be represented exactly in the
	// attestation (not valid UTF-8).
	ErrBadName = errors.New("file name is not valid UTF-8")
)

// PathError is an error about one file. Path is the name relative to the root
// when it is known (the name the Artifact would have had), otherwise the path
// as given.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string { return fmt.Sprintf("digest %q: %v", e.Path, e.Err) }
func (e *PathError) Unwrap() error { return e.Err }

// pathErr names the file in err. An *fs.PathError is unwrapped to its
// cause, since its path is the absolute path we built and its operation
// (lstat, openat) means nothing to a user; errors.Is still sees the cause.
func pathErr(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &PathError{Path: name, Err: err}
}

// kindErr is the error for a file that is neither regular nor a directory.
func kindErr(name string, m fs.FileMode) error {
	return &PathError{Path: name, Err: fmt.Errorf("%w: %s", ErrSpecialFile, KindName(m))}
}

// KindName names a file type in words ("named pipe (FIFO)", "symbolic
// link", …) for messages about files that are not regular.
func KindName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	case m.IsDir():
		return "directory"
	}
	return "file of mode " + m.String()
}
