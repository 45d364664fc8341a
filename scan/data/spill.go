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

// spill keeps, for each valid record, the indices of the tracked features
// it holds and its first prompt words, as the second pass found them: the
// third pass reads this instead of parsing and featurising the dataset
// again. A few hundred bytes a record, in a temporary file removed when the
// scan ends, so memory stays bounded; when no temporary file can be
// written the third pass reads the dataset instead.
type spill struct {
	f    *os.File
	w    *bufio.Writer
	err  error
	last int
	buf  []byte
}

func newSpill() *spill {
	f, err := os.CreateTemp("", "mlattest-scan-*.tmp")
	if err != nil {
		return &spill{err: err}
	}
	return &spill{f: f, w: bufio.NewWriterSize(f, 1<<20), last: -1}
}

// usable reports whether every record so far was written.
func (sp *spill) usable() bool { return sp != nil && sp.f != nil && sp.err == nil }

// record appends record i (indices increase from call to call): its size,
// then the index step, the feature indices and the words.
func (sp *spill) record(i int, ks []int32, words []uint64) {
	if !sp.usable() {
		return
	}
	b := binary.AppendUvarint(sp.buf[:0], uint64(i-sp.last))
	b = binary.AppendUvarint(b, uint64(len(ks)))
	for _, k := range ks {
		b = binary.AppendUvarint(b, uint64(k))
	}
	b = binary.AppendUvarint(b, uint64(len(words)))
	for _, w := range words {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	sp.buf = b
	var n [binary.MaxVarintLen64]byte
	if _, err := sp.w.Write(binary.AppendUvarint(n[:0], uint64(len(b)))); err != nil {
		sp.err = err
	}
	if _, err := sp.w.Write(b); err != nil {
		sp.err = err
	}
	sp.last = i
}

// replay calls fn for every record written, in order.
func (sp *spill) replay(ctx context.Context, fn func(i int, ks []int32, words []uint64)) error {
	if err := sp.w.Flush(); err != nil {
		return fmt.Errorf("spill file: %w", err)
	}
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spill file: %w", err)
	}
	r := bufio.NewReaderSize(sp.f, 1<<20)
	var (
		ks    []int32
		words []uint64
		buf   []byte
	)
	bad := errors.New("corrupt record")
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
			return fmt.Errorf("spill file: %w", bad)
		}
		buf = slices.Grow(buf[:0], int(size))[:size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("spill file: %w", err)
		}
		b := buf
		next := func() uint64 {
			v, k := binary.Uvarint(b)
			if k <= 0 {
				b = nil
				err = bad
				return 0
			}
			b = b[k:]
			return v
		}
		i += int(next())
		ks = ks[:0]
		for nk := next(); nk > 0 && err == nil; nk-- {
			ks = append(ks, int32(next()))
		}
		nw := next()
		if err == nil && uint64(len(b)) != 8*nw {
			err = bad
		}
		if err != nil {
			return fmt.Errorf("spill file: %w", err)
		}
		words = words[:0]
		for ; len(b) >= 8; b = b[8:] {
			words = append(words, binary.LittleEndian.Uint64(b))
		}
		fn(i, ks, words)
	}
}

func (sp *spill) close() {
	if sp != nil && sp.f != nil {
		sp.f.Close()
		os.Remove(sp.f.Name())
	}
}
