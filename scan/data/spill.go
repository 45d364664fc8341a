package data

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// spill is a temporary file of per-record data one pass leaves for a later
// one, so the later pass need not parse and featurise the dataset again:
// the first pass writes each record's feature hashes (replayed by the
// second), the second the indices of the tracked features each record
// holds and its first prompt words (replayed by the third). Memory stays
// bounded; the file has no name from the start and is gone when the scan
// ends. When no temporary file can be written, or the file would outgrow
// its limit, the later pass reads the dataset instead.
type spill struct {
	f     *os.File
	w     *bufio.Writer
	err   error
	last  int
	buf   []byte
	size  int64
	limit int64
	done  bool
	// unlinked says the file was removed when it was created.
	unlinked bool
}

// defaultSpillLimit bounds a spill file: the first pass's is about one and
// a half times the dataset, so this covers datasets of a few gigabytes;
// larger ones are read again instead.
const defaultSpillLimit = 8 << 30

// errSpillFull stops a spill that would outgrow its limit.
var errSpillFull = errors.New("spill file limit reached")

func newSpill(limit int64) *spill {
	if limit <= 0 {
		limit = defaultSpillLimit
	}
	f, err := os.CreateTemp("", "mlattest-scan-*.tmp")
	if err != nil {
		return &spill{err: err}
	}
	// Unlinked at once, the file has no name to leave behind however the
	// scan ends (a signal, a crash); the kernel frees it when f is closed or
	// the process exits. Where an open file cannot be removed, close does.
	unlinked := os.Remove(f.Name()) == nil
	return &spill{f: f, w: bufio.NewWriterSize(f, 1<<20), last: -1, limit: limit, unlinked: unlinked}
}

// usable reports whether every record so far was written.
func (sp *spill) usable() bool { return sp != nil && sp.f != nil && sp.err == nil && !sp.done }

// put appends record i (indices increase from call to call) with its body:
// the size, then the index step and the body.
func (sp *spill) put(i int, body []byte) {
	if !sp.usable() {
		return
	}
	var n [2 * binary.MaxVarintLen64]byte
	step := binary.AppendUvarint(n[binary.MaxVarintLen64:binary.MaxVarintLen64], uint64(i-sp.last))
	head := binary.AppendUvarint(n[:0], uint64(len(step)+len(body)))
	head = append(head, step...)
	sp.size += int64(len(head) + len(body))
	if sp.size > sp.limit {
		// Give the disk back now: the later pass reads the dataset.
		sp.err = errSpillFull
		sp.close()
		return
	}
	if _, err := sp.w.Write(head); err != nil {
		sp.err = err
	}
	if _, err := sp.w.Write(body); err != nil {
		sp.err = err
	}
	sp.last = i
}

// record appends record i's feature indices and words.
func (sp *spill) record(i int, ks []int32, words []uint64) {
	if !sp.usable() {
		return
	}
	b := binary.AppendUvarint(sp.buf[:0], uint64(len(ks)))
	for _, k := range ks {
		b = binary.AppendUvarint(b, uint64(k))
	}
	b = binary.AppendUvarint(b, uint64(len(words)))
	for _, w := range words {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	sp.buf = b
	sp.put(i, b)
}

var errCorruptSpill = errors.New("corrupt record")

// each calls fn with every record written, in order; the body is only
// valid during the call.
func (sp *spill) each(ctx context.Context, fn func(i int, body []byte) error) error {
	if err := sp.w.Flush(); err != nil {
		return fmt.Errorf("spill file: %w", err)
	}
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spill file: %w", err)
	}
	r := bufio.NewReaderSize(sp.f, 1<<20)
	var buf []byte
	i := -1
	for n := 0; ; n++ {
		size, err := binary.ReadUvarint(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("spill file: %w", err)
		}
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if size > 1<<30 {
			return fmt.Errorf("spill file: %w", errCorruptSpill)
		}
		buf = slices.Grow(buf[:0], int(size))[:size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("spill file: %w", err)
		}
		step, k := binary.Uvarint(buf)
		if k <= 0 {
			return fmt.Errorf("spill file: %w", errCorruptSpill)
		}
		i += int(step)
		if err := fn(i, buf[k:]); err != nil {
			return err
		}
	}
}

// replay calls fn for every record written by record, in order, with the
// feature indices keep accepts. The file is read, decoded and filtered on
// a goroutine of its own, a batch of records ahead: keep must be safe to
// call while fn runs.
func (sp *spill) replay(ctx context.Context, keep func(k int32) bool, fn func(i int, ks []int32, words []uint64)) error {
	type rec struct{ i, nk, nw int }
	type batch struct {
		recs []rec
		ks   []int32
		ws   []uint64
	}
	const ahead = 4
	free, full := make(chan *batch, ahead), make(chan *batch, ahead)
	for range ahead {
		free <- &batch{}
	}
	var err error
	go func() {
		defer close(full)
		b := <-free
		err = sp.each(ctx, func(i int, body []byte) error {
			r, ok := rec{i: i}, true
			next := func() uint64 {
				v, k := binary.Uvarint(body)
				if k <= 0 {
					body, ok = nil, false
					return 0
				}
				body = body[k:]
				return v
			}
			nk := next()
			for ; nk > 0 && ok; nk-- {
				if k := int32(next()); keep(k) {
					b.ks = append(b.ks, k)
					r.nk++
				}
			}
			nw := next()
			if !ok || uint64(len(body)) != 8*nw {
				return fmt.Errorf("spill file: %w", errCorruptSpill)
			}
			for ; len(body) >= 8; body = body[8:] {
				b.ws = append(b.ws, binary.LittleEndian.Uint64(body))
			}
			r.nw = int(nw)
			b.recs = append(b.recs, r)
			if len(b.recs) == 256 {
				full <- b
				b = <-free
				b.recs, b.ks, b.ws = b.recs[:0], b.ks[:0], b.ws[:0]
			}
			return nil
		})
		if len(b.recs) > 0 {
			full <- b
		}
	}()
	for b := range full {
		k, w := 0, 0
		for _, r := range b.recs {
			fn(r.i, b.ks[k:k+r.nk:k+r.nk], b.ws[w:w+r.nw:w+r.nw])
			k, w = k+r.nk, w+r.nw
		}
		free <- b
	}
	return err
}

// close releases the file; the spill is unusable afterwards.
func (sp *spill) close() {
	if sp != nil && sp.f != nil && !sp.done {
		sp.done = true
		sp.f.Close()
		if !sp.unlinked {
			os.Remove(sp.f.Name())
		}
	}
}
