package digest

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"github.com/mlattest/mlattest/internal/fsutil"
)

// bufSize is one read: large enough that per-read overhead and the
// hand-over between reader and hasher vanish against hashing, small enough
// that the buffer is still in the CPU's caches when it is hashed (measured
// on a 2-core Ice Lake: 2 MiB buffers cost 10% more CPU than 512 KiB when
// every core hashes). A large file holds two: 1 MiB per worker.
const bufSize = 512 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// job is one regular file to hash; the worker fills in the result.
type job struct {
	name string // Artifact name
	path string // OS path to open: fully resolved, no symbolic links
	size int64  // size seen while walking, for progress (-1: not looked at)

	sum string
	n   int64
	err error
}

// hashFile hashes the file at p. With nofollow the final component must not
// be a symbolic link (p was resolved by the walker). add, if not nil, is told
// of every chunk hashed.
func hashFile(ctx context.Context, p string, nofollow bool, add func(int64)) (string, int64, error) {
	return hashFileCached(ctx, p, nofollow, add, nil)
}

// hashFileGeneric is hashFileCached through os.File: the portable path, and
// the one taken for anything but a plain regular file.
func hashFileGeneric(ctx context.Context, p string, nofollow bool, add func(int64), c *Cache) (string, int64, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	f, err := fsutil.OpenNonBlocking(p, nofollow)
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
		return "", 0, fmt.Errorf("%w: %s", ErrSpecialFile, KindName(fi.Mode()))
	}
	var key cacheKey
	var keyOK bool
	if c != nil {
		if key, keyOK = keyOf(fi); keyOK {
			if sum, ok := c.lookup(key); ok {
				if add != nil {
					add(key.size)
				}
				return sum, key.size, nil
			}
		}
	}
	h := sha256.New()
	var n int64
	if fi.Size() <= bufSize {
		n, err = hashSmall(ctx, f, h, add)
	} else {
		adviseSequential(f)
		n, err = hashLarge(ctx, f, h, add)
	}
	if err != nil {
		return "", n, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if keyOK && n == key.size {
		c.store(key, sum)
	}
	return sum, n, nil
}

// hashSmall reads f with one pooled buffer, in the caller's goroutine: for a
// file that fits a buffer a read-ahead goroutine would cost more than it saves.
func hashSmall(ctx context.Context, f *os.File, h hash.Hash, add func(int64)) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var off int64
	for {
		n, err := f.ReadAt(buf, off)
		if n > 0 {
			h.Write(buf[:n])
			off += int64(n)
			if add != nil {
				add(int64(n))
			}
		}
		if errors.Is(err, io.EOF) {
			return off, nil
		}
		if err != nil {
			return off, err
		}
		// The file grew past its fstat size: go on to EOF, checking for
		// cancellation between chunks as hashLarge does.
		if err := ctx.Err(); err != nil {
			return off, err
		}
	}
}

// chunk is one read handed from the reader to the hasher.
type chunk struct {
	bp  *[]byte
	n   int
	err error
}

// hashLarge overlaps I/O with hashing: a reader goroutine preads the next
// chunk into the second of two pooled buffers while this goroutine hashes the
// first. Memory per file is two buffers, whatever the file's size. SHA-256 of
// one stream is sequential, so this is the one-core ceiling: the copy out of
// the page cache (or the wait for the disk) happens on another core.
func hashLarge(ctx context.Context, f *os.File, h hash.Hash, add func(int64)) (int64, error) {
	free := make(chan *[]byte, 2)
	full := make(chan chunk, 2)
	done := make(chan struct{})
	var wg sync.WaitGroup
	free <- bufPool.Get().(*[]byte)
	free <- bufPool.Get().(*[]byte)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(full)
		var off int64
		for {
			var bp *[]byte
			select {
			case bp = <-free:
			case <-done:
				return
			}
			n, err := readFull(f, *bp, off)
			off += int64(n)
			full <- chunk{bp, n, err} // never blocks: at most two buffers exist
			if err != nil {
				return
			}
		}
	}()
	// Stop the reader and wait for it before the buffers go back to the pool
	// and the caller closes the file.
	defer func() {
		close(done)
		wg.Wait()
		for c := range full {
			bufPool.Put(c.bp)
		}
		close(free)
		for bp := range free {
			bufPool.Put(bp)
		}
	}()

	var total int64
	for c := range full {
		if c.n > 0 {
			h.Write((*c.bp)[:c.n])
			total += int64(c.n)
			if add != nil {
				add(int64(c.n))
			}
		}
		free <- c.bp
		if errors.Is(c.err, io.EOF) {
			return total, nil
		}
		if c.err != nil {
			return total, c.err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
	return total, nil
}

// readFull preads until buf is full, EOF or an error, so that every chunk but
// the last is a whole buffer.
func readFull(f *os.File, buf []byte, off int64) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.ReadAt(buf[n:], off+int64(n))
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// hashAll hashes jobs (sorted by name) with o.workers goroutines and returns
// the artifacts in the same order. On failure it returns the error of the
// first failing file in name order, so the error does not depend on timing.
func hashAll(parent context.Context, jobs []job, o options) ([]Artifact, error) {
	if len(jobs) == 0 {
		return []Artifact{}, nil
	}
	var total int64
	for _, j := range jobs {
		total += max(j.size, 0)
	}
	prog := newProgress(o, total)
	defer prog.Finish()

	q := newQueue()
	ptrs := make([]*job, len(jobs))
	for i := range jobs {
		ptrs[i] = &jobs[i]
	}
	q.jobs = append(q.jobs, ptrs...)
	q.close()
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	startWorkers(ctx, cancel, q, min(o.workers, len(jobs)), prog.Add, o.hasher())()
	return collect(parent, ptrs)
}

// queue is the list of files found so far, shared by the walker (which
// appends) and the workers (which take the next one). The walker never
// waits for the workers: with a bounded channel it would be parked and
// woken once per file, a large share of the cost of a 4 KiB file. Its size
// is that of the result anyway. Workers wait only when they catch up with
// the walk.
type queue struct {
	mu      sync.Mutex
	cond    sync.Cond
	jobs    []*job
	next    int
	done    bool
	waiting int
}

func newQueue() *queue {
	q := &queue{}
	q.cond.L = &q.mu
	return q
}

// push appends a batch of jobs.
func (q *queue) push(js []*job) {
	q.mu.Lock()
	q.jobs = append(q.jobs, js...)
	if q.waiting > 0 {
		q.cond.Broadcast()
	}
	q.mu.Unlock()
}

// close says no more jobs will come.
func (q *queue) close() {
	q.mu.Lock()
	q.done = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// pop returns the next job, or nil when the queue is closed and empty.
func (q *queue) pop() *job {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.next == len(q.jobs) && !q.done {
		q.waiting++
		q.cond.Wait()
		q.waiting--
	}
	if q.next == len(q.jobs) {
		return nil
	}
	j := q.jobs[q.next]
	q.jobs[q.next] = nil // the caller's list keeps it; let the queue forget
	q.next++
	return j
}

// hasher hashes one job's bytes: a local file or a Source's file.
type hasher func(ctx context.Context, j *job, add func(int64)) (sum string, n int64, err error)

// hasher returns how o's jobs are read: from o.source when set, otherwise
// from the local file system through the cache.
func (o options) hasher() hasher {
	if o.source != nil {
		return sourceHasher(o.source)
	}
	c := o.cache
	return func(ctx context.Context, j *job, add func(int64)) (string, int64, error) {
		return hashFileCached(ctx, j.path, true, add, c)
	}
}

// startWorkers starts n hashing goroutines taking jobs from q; the returned
// function waits for them. After a failure (cancel) the remaining jobs are
// drained without being hashed.
func startWorkers(ctx context.Context, cancel context.CancelFunc, q *queue, n int, add func(int64), hash hasher) func() {
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := q.pop(); j != nil; j = q.pop() {
				if ctx.Err() != nil {
					j.err = ctx.Err()
					continue
				}
				sum, n, err := hash(ctx, j, add)
				j.path = "" // not needed any more: less for the GC to keep
				if err != nil {
					j.err = pathErr(j.name, err)
					cancel() // one failure fails the whole call: stop the rest
					continue
				}
				j.sum, j.n = sum, n
			}
		}()
	}
	return wg.Wait
}

// collect turns hashed jobs (sorted by name) into artifacts, or returns the
// first real failure in name order, not the context.Canceled of the files
// stopped because of it.
func collect(parent context.Context, jobs []*job) ([]Artifact, error) {
	if err := parent.Err(); err != nil {
		return nil, err
	}
	for i := range jobs {
		if err := jobs[i].err; err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	out := make([]Artifact, len(jobs))
	for i := range jobs {
		if jobs[i].err != nil {
			return nil, jobs[i].err
		}
		out[i] = Artifact{Name: jobs[i].name, SHA256: jobs[i].sum, Size: jobs[i].n}
	}
	return out, nil
}

// NewHash returns a new hash for alg: sha384 or sha512, anything else
// sha256 (callers check alg against predicates.DigestAlgorithms first).
func NewHash(alg string) hash.Hash {
	switch alg {
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	default:
		return sha256.New()
	}
}
