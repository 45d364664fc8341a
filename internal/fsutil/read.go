package fsutil

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ReadFileMax reads a regular file of at most limit bytes: policy files,
// bundles and manifests are small, and a reader must not be made to hold
// whatever it is pointed at (a device, a FIFO, a huge file).
func ReadFileMax(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	return data, nil
}

// TooLargeError is ReadFileMax's error for a file over its limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string { return fmt.Sprintf("larger than %d bytes", e.Limit) }
