package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/tessera/api/layout"
)

// Size limits for what a log server sends: a checkpoint is a few hundred
// bytes, a hash tile at most 256 hashes, an entry bundle 256 entries (each a
// Rekor entry with one certificate, a few KiB).
const (
	maxCheckpointSize  = 64 << 10
	maxTileSize        = 256 * 32
	maxEntryBundleSize = 64 << 20
)

// fetcher reads the tlog-tiles resources of one log over HTTP with a size
// limit per resource, retrying network errors and server errors with
// exponential backoff until the retry deadline of each resource.
type fetcher struct {
	// bufs holds entry-bundle buffers a scan is done with (see release),
	// hashes the buffers of an entry bundle's leaf hashes (see
	// releaseHashes).
	bufs, hashes sync.Pool
	base         *url.URL
	client       *http.Client
	deadline     time.Duration // per resource, across retries
	minWait      time.Duration
	maxWait      time.Duration
}

// errNotFound is a 404 (never retried; a partial tile falls back to the
// full one).
var errNotFound = errors.New("not found")

func (f *fetcher) url(p string) string {
	u := *f.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + p
	return u.String()
}

// get fetches one resource with retries.
func (f *fetcher) get(ctx context.Context, p string, limit int64) ([]byte, error) {
	var b body
	if err := f.getInto(ctx, p, limit, &b); err != nil {
		return nil, err
	}
	return b.bytes(), nil
}

// getInto is get, reading into b.
func (f *fetcher) getInto(ctx context.Context, p string, limit int64, b *body) error {
	start := time.Now()
	wait := f.minWait
	for attempt := 1; ; attempt++ {
		retry, err := f.getOnce(ctx, p, limit, b)
		if err == nil || !retry {
			return err
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if time.Since(start)+wait > f.deadline {
			return &UnavailableError{URL: f.url(p), Attempts: attempt, Elapsed: time.Since(start).Round(time.Millisecond), Err: err}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
		wait = min(2*wait, f.maxWait)
	}
}

// getOnce makes one request; retry says whether a failure may be transient.
func (f *fetcher) getOnce(ctx context.Context, p string, limit int64, b *body) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url(p), nil)
	if err != nil {
		return false, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		return false, fmt.Errorf("%s: %w", f.url(p), errNotFound)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("%s: %s", f.url(p), resp.Status)
	default:
		return false, fmt.Errorf("%s: %s", f.url(p), resp.Status)
	}
	retry, err := b.read(resp, limit)
	if err != nil {
		return retry, fmt.Errorf("%s: %w", f.url(p), err)
	}
	return false, nil
}

// body is a response body read into buf[:n]. With arrived set, it is
// read as it arrives: arrived sees the body so far each time more of it
// is in, and an attempt after a failed one must bring the bytes arrived
// saw again, unchanged, before it goes on.
type body struct {
	buf     []byte
	n       int
	arrived func(sofar []byte) error
}

// errArrived marks an error of arrived (never retried).
type errArrived struct{ err error }

func (e errArrived) Error() string { return e.err.Error() }
func (e errArrived) Unwrap() error { return e.err }

func (b *body) bytes() []byte { return b.buf[:b.n] }

// read reads resp's body into b (at most limit bytes), into one buffer of
// the announced length when there is one (an entry bundle is hundreds of
// KiB: growing a buffer to it copies it over and over); retry says
// whether a failure may be transient.
func (b *body) read(resp *http.Response, limit int64) (retry bool, err error) {
	if b.arrived == nil {
		b.n = 0 // nothing was handed on: start afresh
	}
	size := resp.ContentLength
	if size > limit {
		return false, fmt.Errorf("larger than %d bytes", limit)
	}
	if size >= 0 && size < int64(b.n) {
		return false, fmt.Errorf("%w: %d bytes long, %d read before", errChanged, size, b.n)
	}
	if size >= 0 && int64(cap(b.buf)) < size {
		b.buf = append(make([]byte, 0, size), b.buf[:b.n]...)
	}
	r := io.LimitReader(resp.Body, limit+1)
	if err := b.replay(r); err != nil {
		return !errors.Is(err, errChanged), err
	}
	for size < 0 || int64(b.n) < size {
		if b.n == cap(b.buf) {
			b.buf = slices.Grow(b.buf[:b.n], max(b.n, 32<<10))
		}
		k, err := r.Read(b.buf[b.n:cap(b.buf)])
		b.n += k
		if int64(b.n) > limit {
			return false, fmt.Errorf("larger than %d bytes", limit)
		}
		if k > 0 && b.arrived != nil {
			if err := b.arrived(b.buf[:b.n]); err != nil {
				return false, errArrived{err}
			}
		}
		switch {
		case err == io.EOF && (size < 0 || int64(b.n) == size):
			return false, nil
		case err == io.EOF:
			return true, io.ErrUnexpectedEOF
		case err != nil:
			return true, err
		}
	}
	return false, nil
}

// errChanged: a resource read again differs from what an earlier attempt
// read of it.
var errChanged = errors.New("changed between two attempts to read it")

// replay reads the b.n bytes an earlier attempt read again from r and
// checks that they are the same.
func (b *body) replay(r io.Reader) error {
	if b.n == 0 {
		return nil
	}
	again := make([]byte, min(b.n, 32<<10))
	for off := 0; off < b.n; {
		k, err := io.ReadFull(r, again[:min(len(again), b.n-off)])
		if !bytes.Equal(again[:k], b.buf[off:off+k]) {
			return errChanged
		}
		off += k
		if err != nil {
			return err
		}
	}
	return nil
}

// partialOrFull fetches the resource of level (entry bundles: level 0) and
// index with p entries into b. A log removes a partial resource once it has
// a wider one (rekor-tiles' POSIX backend collects them), so when width p is
// gone this falls back, as C2SP tlog-tiles allows, to the full resource and
// then to the partial width of the log's current size; the caller uses the
// first p entries only. (Each wider resource begins with the bytes of the
// narrower one, so a body read as it arrives may go on in the next.)
func (f *fetcher) partialOrFull(ctx context.Context, level, index uint64, p uint8, path func(p uint8) string, limit int64, b *body) error {
	err := f.getInto(ctx, path(p), limit, b)
	if p == 0 || !errors.Is(err, errNotFound) {
		return err
	}
	if err = f.getInto(ctx, path(0), limit, b); !errors.Is(err, errNotFound) {
		return err
	}
	size, serr := f.liveSize(ctx)
	if serr != nil {
		return err
	}
	if q := layout.PartialTileSize(level, index, size); q > p {
		return f.getInto(ctx, path(q), limit, b)
	}
	return err
}

// liveSize reads the tree size of the log's current checkpoint, unverified:
// it only chooses which file to fetch, whose contents are verified.
func (f *fetcher) liveSize(ctx context.Context) (uint64, error) {
	raw, err := f.checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	lines := strings.SplitN(string(raw), "\n", 3)
	if len(lines) < 3 {
		return 0, errors.New("no size line")
	}
	return strconv.ParseUint(lines[1], 10, 64)
}

func (f *fetcher) checkpoint(ctx context.Context) ([]byte, error) {
	return f.get(ctx, layout.CheckpointPath, maxCheckpointSize)
}

// tile has the signature of tessera's client.TileFetcherFunc.
// A wider tile than asked for is cut to the p hashes asked for.
func (f *fetcher) tile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	var b body
	if err := f.partialOrFull(ctx, level, index, p, func(p uint8) string { return layout.TilePath(level, index, p) }, maxTileSize, &b); err != nil {
		return nil, err
	}
	t := b.bytes()
	if p > 0 && len(t) > int(p)*32 {
		t = t[:int(p)*32]
	}
	return t, nil
}

// entryBundle has the signature of tessera's client.EntryBundleFetcherFunc.
func (f *fetcher) entryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	var b body
	if err := f.partialOrFull(ctx, 0, index, p, func(p uint8) string { return layout.EntriesPath(index, p) }, maxEntryBundleSize, &b); err != nil {
		return nil, err
	}
	return b.bytes(), nil
}

// streamBundle is entryBundle read as it arrives: arrived sees the bundle
// so far each time more of it is in (see body), in a buffer an earlier
// scan released. The caller releases the bundle once nothing refers to
// its bytes.
func (f *fetcher) streamBundle(ctx context.Context, index uint64, p uint8, arrived func(sofar []byte) error) ([]byte, error) {
	b := body{arrived: arrived}
	if buf, ok := f.bufs.Get().(*[]byte); ok {
		b.buf = (*buf)[:0]
	}
	err := f.partialOrFull(ctx, 0, index, p, func(p uint8) string { return layout.EntriesPath(index, p) }, maxEntryBundleSize, &b)
	return b.bytes(), err
}

// release gives a scanned bundle's buffer back for the next one.
func (f *fetcher) release(b []byte) {
	if cap(b) > 0 {
		f.bufs.Put(&b)
	}
}

// hashBuf returns an empty buffer for n bytes of leaf hashes, one an
// earlier scan released when there is one.
func (f *fetcher) hashBuf(n int) []byte {
	if b, ok := f.hashes.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:0]
	}
	return make([]byte, 0, max(n, layout.EntryBundleWidth*32))
}

// releaseHashes gives a scan's leaf hashes back once nothing refers to
// them.
func (f *fetcher) releaseHashes(b []byte) {
	if cap(b) > 0 {
		f.hashes.Put(&b)
	}
}
