package store

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/mlattest/mlattest/digest"
)

// ReaderAt is random access to one listed object, for readers that seek
// before they stream (a sharded dataset scan finds line starts, then reads
// its range): a read that continues a sequential run of reads is served
// from a stream of ranged GETs of the listed version to its end, the
// Source's parallel parts in flight (all that is read in vain when the
// reader stops); any other read is one ranged GET of its bytes. A run
// streams from its third read on: a format's length then its header (a
// safetensors scan) is two reads, which a stream would follow with parts
// nobody reads. Reads are serialised. Fewer bytes than listed, or a
// changed object, is an ErrChanged error.
type ReaderAt struct {
	ctx context.Context
	l   *Objects
	f   digest.SourceFile

	mu   sync.Mutex
	last int64         // where the previous read ended; -1: none
	run  bool          // the previous read continued the one before it
	rc   io.ReadCloser // the stream, at pos
	pos  int64
}

// ReaderAt returns random access to the listed file f; Close it.
func (l *Objects) ReaderAt(ctx context.Context, f digest.SourceFile) *ReaderAt {
	return &ReaderAt{ctx: ctx, l: l, f: f, last: -1}
}

// Size is the object's listed size.
func (r *ReaderAt) Size() int64 { return r.f.Size }

// ReadAt reads len(p) bytes from off (fewer, with io.EOF, at the end).
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if off < 0 {
		return 0, fmt.Errorf("store: %s: read at offset %d", r.l.URI(r.f.Name), off)
	}
	if off >= r.f.Size {
		return 0, io.EOF
	}
	want := p[:min(int64(len(p)), r.f.Size-off)]
	var (
		n   int
		err error
	)
	cont := off == r.last
	if cont && r.run {
		n, err = r.stream(want, off)
	} else {
		r.closeStream()
		w := &sliceWriter{b: want}
		_, err = r.l.Source.ReadRangeTo(r.ctx, r.f.Name, off, off+int64(len(want)), w)
		n = w.n
		if err == nil && n != len(want) {
			err = fmt.Errorf("store: reading %s: %w: %d bytes at offset %d, listed with %d", r.l.URI(r.f.Name), ErrChanged, n, off, r.f.Size)
		}
	}
	r.last, r.run = off+int64(n), cont
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// stream fills want from off through the stream, opening one where none
// continues at off.
func (r *ReaderAt) stream(want []byte, off int64) (int, error) {
	if r.rc == nil || r.pos != off {
		r.closeStream()
		r.pos = off
		r.rc = r.l.openRange(r.ctx, r.f, off, r.f.Size)
	}
	n, err := io.ReadFull(r.rc, want)
	r.pos += int64(n)
	if err != nil {
		r.closeStream()
	}
	return n, err
}

func (r *ReaderAt) closeStream() {
	if r.rc != nil {
		r.rc.Close()
		r.rc = nil
	}
}

// Close stops a stream in flight.
func (r *ReaderAt) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeStream()
	return nil
}

// sliceWriter fills b; more is an error.
type sliceWriter struct {
	b []byte
	n int
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	m := copy(w.b[w.n:], p)
	w.n += m
	if m < len(p) {
		return m, io.ErrShortWrite
	}
	return m, nil
}
