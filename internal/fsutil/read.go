package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ReadFileMax reads a regular file of at most limit bytes: policy files,
// bundles and manifests are small, and a reader must not be made to hold
// whatever it is pointed at (a device, a FIFO, a huge file). Type and size
// are checked with stat before the file is opened, so an oversized file
// costs nothing and a FIFO is never opened; they are checked again on the
// open file (opened without blocking), which may have been replaced since.
func ReadFileMax(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkSize(st, limit); err != nil {
		return nil, err
	}
	f, err := OpenNonBlocking(path, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := checkSize(st, limit); err != nil {
		return nil, err
	}
	// Exactly the size, plus one byte to see growth: no append doubling.
	data := make([]byte, st.Size()+1)
	n, err := io.ReadFull(f, data)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return data[:n:n], nil // shrank while read: what was read is the content
	case err != nil:
		return nil, err
	}
	// The file grew past its stat size; whatever it now is, at most limit.
	rest, err := io.ReadAll(io.LimitReader(f, limit+1-int64(n)))
	if err != nil {
		return nil, err
	}
	data = append(data, rest...)
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	return data, nil
}

// TooLargeError is ReadFileMax's error for a file over its limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string { return fmt.Sprintf("larger than %d bytes", e.Limit) }

func checkSize(st fs.FileInfo, limit int64) error {
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if st.Size() > limit {
		return &TooLargeError{Limit: limit}
	}
	return nil
}
