package data

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
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

// record appends record i (indices increase from call to call).
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
		wb    [8]byte
	)
	i := -1
	for n := 0; ; n++ {
		d, err := binary.ReadUvarint(r)
		if err == io.EOF {
			return nil
		}
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		nk := uint64(0)
		if err == nil {
			nk, err = binary.ReadUvarint(r)
		}
		ks = ks[:0]
		for ; err == nil && nk > 0; nk-- {
			var k uint64
			if k, err = binary.ReadUvarint(r); err == nil {
				ks = append(ks, int32(k))
			}
		}
		nw := uint64(0)
		if err == nil {
			nw, err = binary.ReadUvarint(r)
		}
		words = words[:0]
		for ; err == nil && nw > 0; nw-- {
			if _, err = io.ReadFull(r, wb[:]); err == nil {
				words = append(words, binary.LittleEndian.Uint64(wb[:]))
			}
		}
		if err != nil {
			return fmt.Errorf("spill file: %w", err)
		}
		i += int(d)
		fn(i, ks, words)
	}
}

func (sp *spill) close() {
	if sp != nil && sp.f != nil {
		sp.f.Close()
		os.Remove(sp.f.Name())
	}
}
