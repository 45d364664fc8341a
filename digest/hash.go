package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
)

// bufSize is large enough that per-read overhead vanishes against hashing,
// small enough that a worker pool of them is cheap.
const bufSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// job is one regular file to hash.
type job struct {
	name string // Artifact name
	path string // OS path to open: fully resolved, no symbolic links
	size int64  // size seen while walking, for progress
}

// hashFile hashes the file at p. With nofollow the final component must not
// be a symbolic link (p was resolved by the walker). add, if not nil, is told
// of every chunk read.
func hashFile(ctx context.Context, p string, nofollow bool, add func(int64)) (string, int64, error) {
	f, err := openRegular(p, nofollow)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	// Check again on the open file: the walk's Lstat is not the file we read.
	fi, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	if !fi.Mode().IsRegular() {
		return "", 0, fmt.Errorf("%w: %s", ErrSpecialFile, kindName(fi.Mode()))
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	h := sha256.New()
	var off int64
	for {
		if err := ctx.Err(); err != nil {
			return "", off, err
		}
		n, err := f.ReadAt(buf, off)
		if n > 0 {
			h.Write(buf[:n])
			off += int64(n)
			if add != nil {
				add(int64(n))
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", off, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), off, nil
}

// hashAll hashes jobs (sorted by name) with o.workers goroutines and returns
// the artifacts in the same order. On failure it returns the error of the
// first failing file in name order, so the error does not depend on timing.
func hashAll(parent context.Context, jobs []job, o options) ([]Artifact, error) {
	out := make([]Artifact, len(jobs))
	if len(jobs) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	var total int64
	for _, j := range jobs {
		total += j.size
	}
	prog := newProgress(o, total)
	defer prog.finish()

	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(o.workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				sum, n, err := hashFile(ctx, j.path, true, prog.add)
				if err != nil {
					errs[i] = pathErr(j.name, err)
					cancel() // one failure fails the whole call: stop the rest
					continue
				}
				out[i] = Artifact{Name: j.name, SHA256: sum, Size: n}
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()

	if err := parent.Err(); err != nil {
		return nil, err
	}
	// The first real failure in name order, not the context.Canceled of the
	// files stopped because of it.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	return out, nil
}
