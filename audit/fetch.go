package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	// bufs holds entry-bundle buffers a scan is done with (see release).
	bufs     sync.Pool
	base     *url.URL
	client   *http.Client
	deadline time.Duration // per resource, across retries
	minWait  time.Duration
	maxWait  time.Duration
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
	return f.getInto(ctx, p, limit, false)
}

// getInto is get, reading into a released buffer when pooled.
func (f *fetcher) getInto(ctx context.Context, p string, limit int64, pooled bool) ([]byte, error) {
	start := time.Now()
	wait := f.minWait
	for attempt := 1; ; attempt++ {
		body, retry, err := f.getOnce(ctx, p, limit, pooled)
		if err == nil || !retry {
			return body, err
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if time.Since(start)+wait > f.deadline {
			return nil, &UnavailableError{URL: f.url(p), Attempts: attempt, Elapsed: time.Since(start).Round(time.Millisecond), Err: err}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, context.Cause(ctx)
		case <-t.C:
		}
		wait = min(2*wait, f.maxWait)
	}
}

// getOnce makes one request; retry says whether a failure may be transient.
func (f *fetcher) getOnce(ctx context.Context, p string, limit int64, pooled bool) ([]byte, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url(p), nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		return nil, false, fmt.Errorf("%s: %w", f.url(p), errNotFound)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, true, fmt.Errorf("%s: %s", f.url(p), resp.Status)
	default:
		return nil, false, fmt.Errorf("%s: %s", f.url(p), resp.Status)
	}
	var buf []byte
	if pooled {
		if b, ok := f.bufs.Get().(*[]byte); ok {
			buf = *b
		}
	}
	body, err := readBody(resp, limit, buf)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", f.url(p), err)
	}
	if int64(len(body)) > limit {
		return nil, false, fmt.Errorf("%s: larger than %d bytes", f.url(p), limit)
	}
	return body, false, nil
}

// readBody reads at most limit+1 bytes of resp's body, into one buffer of
// the announced length when there is one (an entry bundle is hundreds of
// KiB: growing a buffer to it copies it over and over): buf when it is
// large enough.
func readBody(resp *http.Response, limit int64, buf []byte) ([]byte, error) {
	r := io.LimitReader(resp.Body, limit+1)
	if n := resp.ContentLength; n >= 0 && n <= limit {
		if int64(cap(buf)) >= n {
			buf = buf[:n]
		} else {
			buf = make([]byte, n)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(r)
}

// partialOrFull fetches the resource of level (entry bundles: level 0) and
// index with p entries. A log removes a partial resource once it has a wider
// one (rekor-tiles' POSIX backend collects them), so when width p is gone
// this falls back, as C2SP tlog-tiles allows, to the full resource and then to
// the partial width of the log's current size; the caller uses the first p
// entries only.
func (f *fetcher) partialOrFull(ctx context.Context, level, index uint64, p uint8, path func(p uint8) string, limit int64, pooled bool) ([]byte, error) {
	b, err := f.getInto(ctx, path(p), limit, pooled)
	if p == 0 || !errors.Is(err, errNotFound) {
		return b, err
	}
	if b, err = f.getInto(ctx, path(0), limit, pooled); !errors.Is(err, errNotFound) {
		return b, err
	}
	size, serr := f.liveSize(ctx)
	if serr != nil {
		return nil, err
	}
	if q := layout.PartialTileSize(level, index, size); q > p {
		return f.getInto(ctx, path(q), limit, pooled)
	}
	return nil, err
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
	b, err := f.partialOrFull(ctx, level, index, p, func(p uint8) string { return layout.TilePath(level, index, p) }, maxTileSize, false)
	if err == nil && p > 0 && len(b) > int(p)*32 {
		b = b[:int(p)*32]
	}
	return b, err
}

// entryBundle has the signature of tessera's client.EntryBundleFetcherFunc.
func (f *fetcher) entryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	return f.partialOrFull(ctx, 0, index, p, func(p uint8) string { return layout.EntriesPath(index, p) }, maxEntryBundleSize, false)
}

// scanBundle is entryBundle reading into a released buffer: the caller
// releases the bundle once nothing refers to its bytes.
func (f *fetcher) scanBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	return f.partialOrFull(ctx, 0, index, p, func(p uint8) string { return layout.EntriesPath(index, p) }, maxEntryBundleSize, true)
}

// release gives a scanned bundle's buffer back for the next one.
func (f *fetcher) release(b []byte) { f.bufs.Put(&b) }
