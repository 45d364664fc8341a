package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mlattest/mlattest/digest"
)

// Ranged reads: an object larger than one part is read as consecutive
// byte ranges of PartSize, up to Parallel of them in flight, and written
// to the caller in order (SHA-256 of one stream is sequential, so the
// parallelism is in the transfer, not in the hash). Memory per object read
// this way is up to (Parallel + 2) parts, but a Source shares only
// 2 × Parallel parts among its reads (64 MiB by default), and each read
// may use one part of its own beyond them: with many objects in flight
// each gets fewer ranges ahead, which the transfer does not need, and
// fewer buffers mean less memory touched for the first time (a page
// fault and zeroing per 4 KiB), a quarter of a worker's CPU when 16
// objects each had 4 ranges ahead. Memory is at most (2 × Parallel +
// reads at once) parts.
const (
	DefaultPartSize = 8 << 20
	DefaultParallel = 4
)

// WithParts sets the part size of ranged reads and how many are in flight
// for one object.
func WithParts(size int64, parallel int) Option {
	return func(c *config) {
		if size > 0 {
			c.partSize = size
		}
		if parallel > 0 {
			c.parallel = parallel
		}
	}
}

// bodyAttempts bounds the reads of one range whose body broke off (the SDK
// retries a request only until its response headers arrive).
const bodyAttempts = 5

// Source reads a Bucket's objects for package digest: it lists them,
// remembers each object's key and ETag, and reads each with ranged
// parallel GETs. It implements digest.Source.
type Source struct {
	b Bucket
	c config

	mu      sync.Mutex
	objects map[string]Object // by Name, filled by List
	free    [][]byte          // part buffers to reuse, under mu
	// bufs holds a token for every shared part buffer in use.
	bufs chan struct{}
}

// NewSource returns a Source over b. Of the options, WithParts applies.
func NewSource(b Bucket, opts ...Option) *Source {
	c := buildConfig(opts)
	return &Source{b: b, c: c, objects: map[string]Object{}, bufs: make(chan struct{}, 2*c.parallel)}
}

// Location is the bucket's location.
func (s *Source) Location() string { return s.b.Location() }

// List lists the bucket, remembering every object for ReadTo.
func (s *Source) List(ctx context.Context, fn func(name string, size int64) error) error {
	return s.b.List(ctx, func(o Object) error {
		s.mu.Lock()
		s.objects[o.Name] = o
		s.mu.Unlock()
		return fn(o.Name, o.Size)
	})
}

// ReadTo writes the listed object name to w (see Copy).
func (s *Source) ReadTo(ctx context.Context, name string, size int64, w io.Writer) (int64, error) {
	s.mu.Lock()
	o, ok := s.objects[name]
	s.mu.Unlock()
	if !ok {
		return 0, fmt.Errorf("store: %s%s was not listed", s.b.Location(), name)
	}
	return s.Copy(ctx, o, w)
}

// ReadRangeTo writes the bytes [start, end) of the listed object name to
// w: the whole object as Copy reads it, or ranged GETs of that span.
func (s *Source) ReadRangeTo(ctx context.Context, name string, start, end int64, w io.Writer) (int64, error) {
	s.mu.Lock()
	o, ok := s.objects[name]
	s.mu.Unlock()
	switch {
	case !ok:
		return 0, fmt.Errorf("store: %s%s was not listed", s.b.Location(), name)
	case start < 0 || start > end || end > o.Size:
		return 0, fmt.Errorf("store: %s%s: range %d-%d of a %d-byte object", s.b.Location(), name, start, end, o.Size)
	case start == 0 && end == o.Size:
		return s.Copy(ctx, o, w)
	}
	return s.copySpan(ctx, o, start, end, w)
}

var _ digest.RangeSource = (*Source)(nil)

// Copy writes obj's bytes to w in order: one GET for an object of at most
// one part, otherwise ranged GETs, Parallel at a time. More bytes than the
// listing said is an ErrChanged error (fewer is the caller's to judge:
// it sees the count).
func (s *Source) Copy(ctx context.Context, obj Object, w io.Writer) (int64, error) {
	if obj.Size <= s.c.partSize {
		return s.copyWhole(ctx, obj, w)
	}
	return s.copySpan(ctx, obj, 0, obj.Size, w)
}

// copyWhole reads a small object with one GET (no range: an empty object
// has no byte to ask for), reading again from where a broken body stopped.
func (s *Source) copyWhole(ctx context.Context, obj Object, w io.Writer) (int64, error) {
	lw := &limitedWriter{w: w, limit: obj.Size}
	err := s.withBodyRetries(ctx, obj, func() (int64, int64) { return lw.n, 0 }, func(rc io.Reader) error {
		_, err := io.Copy(lw, rc)
		return err
	})
	return lw.n, err
}

// getBuf returns a part buffer for a read whose own slot is own (a
// channel of capacity 1): a shared one when one is free, else, once the
// read's own part is back, that one. So no read waits on another's
// writer, which may be slow or wait itself (a pipe read in turns).
// Buffers are kept for the Source's life, not in a sync.Pool: a pool
// drops them at every GC, and a fresh 8 MiB buffer costs its page faults
// and zeroing again (a third of the client's CPU in a download).
func (s *Source) getBuf(ctx context.Context, own chan struct{}) (buf []byte, shared bool, err error) {
	select {
	case s.bufs <- struct{}{}:
		shared = true
	default:
		select {
		case s.bufs <- struct{}{}:
			shared = true
		case own <- struct{}{}:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b, shared, nil
	}
	return make([]byte, s.c.partSize), shared, nil
}

// putBuf gives back p's buffer, to the Source's shared ones or as own.
func (s *Source) putBuf(p *part, own chan struct{}) {
	s.mu.Lock()
	s.free = append(s.free, p.buf)
	s.mu.Unlock()
	if p.shared {
		<-s.bufs
	} else {
		<-own
	}
}

// part is one range in flight.
type part struct {
	buf    []byte
	shared bool // buf is one of the Source's shared buffers
	n      int
	err    error
	done   chan struct{}
}

// copySpan reads the bytes [start, end) of obj as consecutive ranges,
// s.c.parallel in flight, and writes them in order.
func (s *Source) copySpan(ctx context.Context, obj Object, start, end int64, w io.Writer) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inflight := make(chan *part, s.c.parallel)
	own := make(chan struct{}, 1)
	go func() {
		defer close(inflight)
		for off := start; off < end; off += s.c.partSize {
			buf, shared, err := s.getBuf(ctx, own)
			if err != nil {
				return
			}
			p := &part{buf: buf, shared: shared, done: make(chan struct{})}
			select {
			case inflight <- p:
			case <-ctx.Done():
				s.putBuf(p, own)
				return
			}
			n := min(s.c.partSize, end-off)
			go func(off int64) {
				defer close(p.done)
				p.n, p.err = s.readRange(ctx, obj, off, p.buf[:n])
			}(off)
		}
	}()
	var (
		total int64
		err   error
	)
	for p := range inflight {
		<-p.done
		if err == nil {
			err = p.err
			if err == nil {
				var m int
				m, err = w.Write(p.buf[:p.n])
				total += int64(m)
			}
			if err != nil {
				cancel() // stop the rest; drain what is in flight
			}
		}
		s.putBuf(p, own)
	}
	if err == nil {
		err = ctx.Err()
	}
	return total, err
}

// readRange fills buf with obj's bytes from off.
func (s *Source) readRange(ctx context.Context, obj Object, off int64, buf []byte) (int, error) {
	got := 0
	err := s.withBodyRetries(ctx, obj, func() (int64, int64) { return off + int64(got), int64(len(buf) - got) }, func(r io.Reader) error {
		for got < len(buf) {
			n, err := r.Read(buf[got:])
			got += n
			if err == io.EOF && got < len(buf) {
				// A whole answer, shorter than the range: the object
				// shrank. (A connection lost mid-body is
				// io.ErrUnexpectedEOF, and is read again.)
				return fmt.Errorf("%w: %d bytes short at offset %d", ErrChanged, len(buf)-got, off+int64(got))
			}
			if err != nil && err != io.EOF {
				return err
			}
		}
		return nil
	})
	return got, err
}

// withBodyRetries opens a read at next() (offset, length; length 0: to
// the end) and hands the body to consume; when the body breaks off it
// opens a new read from where consume stopped, with backoff, up to
// bodyAttempts times. Errors from opening (already retried by the
// client) and ErrChanged end it at once.
func (s *Source) withBodyRetries(ctx context.Context, obj Object, next func() (int64, int64), consume func(io.Reader) error) error {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		off, n := next()
		rc, err := s.b.ReadRange(ctx, obj, off, n)
		if err != nil {
			return err
		}
		err = consume(rc)
		rc.Close()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrChanged) || attempt == bodyAttempts {
			return fmt.Errorf("store: reading %s%s: %w", s.b.Location(), obj.Name, err)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(2*delay, s.c.maxBackoff)
	}
}

// limitedWriter passes at most limit bytes on and notes whether more came.
type limitedWriter struct {
	w     io.Writer
	limit int64
	n     int64
	over  bool
}

func (l *limitedWriter) Write(b []byte) (int, error) {
	if rest := l.limit - l.n; int64(len(b)) > rest {
		l.over = true
		b = b[:rest]
	}
	m, err := l.w.Write(b)
	l.n += int64(m)
	if err == nil && l.over {
		err = fmt.Errorf("%w: more than the %d bytes listed", ErrChanged, l.limit)
	}
	return m, err
}
