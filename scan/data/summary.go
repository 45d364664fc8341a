package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// A record's summary is everything the first pass keeps of it: what the
// record-order step (pass1) and the later passes read, computed from the
// record's text by a worker (decode, normalise, tokenise, hash, per-record
// attributes, code and hidden-character checks). A sharded scan's workers
// write the summaries of their records to their parts and merge feeds them
// to pass1 in the dataset's order; a single scan makes and reads the same
// summaries in memory, so that both run one code path from pass1 on.
//
// Layout: a flags byte, the record's line (counted from the first line its
// worker read) and file offset, then either the error or the fields below
// and, last, the features exactly as the first pass's spill keeps them.

const (
	sumErr    = 1 << iota // a malformed record: its error follows
	sumSource             // the record names a source
	sumAll    = sumErr | sumSource
)

// maxSummaryString bounds a string in a summary (a record is at most
// maxRecordBytes, and a summary holds pieces of one).
const maxSummaryString = maxRecordBytes

// ErrPart wraps a dataset-scan part whose summaries cannot be what a
// worker wrote.
var ErrPart = errors.New("bad dataset-scan part")

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// summarise computes the record's summary into it.raw (on a worker).
func (s *scanner) summarise(f *featurizer, it *recItem) {
	head := func(b []byte, flags byte) []byte {
		b = binary.AppendUvarint(append(b, flags), uint64(it.loc.Line))
		return binary.AppendUvarint(b, uint64(it.loc.Offset))
	}
	if it.err != nil {
		msg := it.err.Error()
		it.raw = appendString(head(sized(it.raw, 3*binary.MaxVarintLen64+len(msg)+1, 2048), sumErr), msg)
		return
	}
	rec := it.rec
	hidden := ""
	for _, t := range []string{rec.Instruction, rec.Input, rec.Response} {
		if k, _ := hiddenScan(t); k != "" {
			hidden = k
			break
		}
	}
	var flags byte
	source := ""
	if rec.Source != "" {
		flags |= sumSource
		source = strings.ToLower(strings.TrimSpace(rec.Source))
	}
	script := dominantScript(rec.Response, rec.Instruction)
	f.featurize(rec, true)
	var code []codeHit
	if f.code { // most answers are not: the featurizer has looked
		code = inspectCode(rec.Prompt(), rec.Response)
	}
	var sim uint64
	if f.respWords > 0 {
		sim = simhash64(f.rtoks)
	}
	rattr, label := f.respAttrs()
	var inst uint32
	if rec.Input != "" {
		inst = uint32(hashString(strings.TrimSpace(rec.Instruction))) | 1
	}
	// One buffer of the summary's size: the fixed fields, the strings
	// with their lengths, and the features.
	need := 16*binary.MaxVarintLen64 + 32 + len(source) + len(script) + len(hidden) + len(label) + 9*(len(f.pf)+len(f.rf))
	for _, h := range code {
		need += binary.MaxVarintLen64 + len(h.line) + 2
	}
	b := head(sized(it.raw, need, 2048), flags)
	if flags&sumSource != 0 {
		b = appendString(b, source)
	}
	b = appendString(b, script)
	b = appendString(b, hidden)
	b = binary.AppendUvarint(b, uint64(len(code)))
	for _, h := range code {
		b = append(appendString(b, h.line), h.cats, h.unasked)
	}
	b = binary.LittleEndian.AppendUint64(b, f.respHash)
	b = binary.LittleEndian.AppendUint64(b, f.promptHash)
	b = binary.LittleEndian.AppendUint64(b, sim)
	b = binary.AppendUvarint(b, uint64(f.respWords))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.sentiment))
	b = binary.AppendUvarint(b, uint64(rattr))
	b = binary.AppendUvarint(b, uint64(inst))
	b = appendString(b, label)
	it.raw = appendFeatures(binary.AppendUvarint(b, uint64(it.loc.Offset)), f.pf, f.rf)
}

// summaryReader reads the fields of a summary in order; the first failure
// sticks.
type summaryReader struct {
	b   []byte
	bad bool
}

func (r *summaryReader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *summaryReader) u64() uint64 {
	if len(r.b) < 8 {
		r.bad, r.b = true, nil
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *summaryReader) byte1() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// u32 reads a uvarint that must fit in 32 bits.
func (r *summaryReader) u32() uint32 {
	v := r.uvarint()
	if v > math.MaxUint32 {
		r.bad = true
	}
	return uint32(v)
}

func (r *summaryReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) || n > maxSummaryString {
		r.bad, r.b = true, nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *summaryReader) str() string { return string(r.bytes()) }

// maxInterned bounds a featurizer's interned strings.
const maxInterned = 4096

// intern is b as a string, the same string for the same bytes while the
// table has room: source names, scripts and hidden-character kinds repeat
// from record to record, and a string each would be most of a summary's
// allocations.
func (f *featurizer) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := f.interned[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(f.interned) < maxInterned {
		if f.interned == nil {
			f.interned = map[string]string{}
		}
		f.interned[s] = s
	}
	return s
}

// recordError is a malformed record's error as its summary gives it.
type recordError string

func (e recordError) Error() string { return string(e) }

// loadSummary sets the record's first-pass fields from its summary in
// it.raw (on a worker, whose featurizer f interns its strings): lineBase
// is the line its worker's first line is in the file. A summary that
// cannot be read sets it.bad.
func loadSummary(f *featurizer, it *recItem, lineBase int) {
	r := summaryReader{b: it.raw}
	flags := r.byte1()
	line := r.uvarint()
	off := r.uvarint()
	if r.bad || flags&^sumAll != 0 || line > math.MaxInt32 || off > math.MaxInt64 {
		it.bad = fmt.Errorf("%w: record %d: bad summary head", ErrPart, it.loc.Index)
		return
	}
	it.loc.Line = 0
	if line > 0 {
		it.loc.Line = lineBase + int(line)
	}
	it.loc.Offset = int64(off)
	if flags&sumErr != 0 {
		msg := r.str()
		if r.bad || len(r.b) != 0 || flags != sumErr {
			it.bad = fmt.Errorf("%w: record %d: bad error summary", ErrPart, it.loc.Index)
			return
		}
		it.err = recordError(msg)
		return
	}
	it.err = nil
	it.hasSource = flags&sumSource != 0
	it.source = ""
	if it.hasSource {
		it.source = f.intern(r.bytes())
	}
	it.script = f.intern(r.bytes())
	it.hidden = f.intern(r.bytes())
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad = true
	}
	it.code = it.code[:0]
	for ; n > 0 && !r.bad; n-- {
		line := r.str()
		it.code = append(it.code, codeHit{line: line, cats: r.byte1(), unasked: r.byte1()})
	}
	it.respHash, it.promptHash, it.respSim = r.u64(), r.u64(), r.u64()
	words := r.u32()
	it.respWords = int(words)
	it.sentiment = math.Float64frombits(r.u64())
	it.rattr = r.u32()
	it.instHash = r.u32()
	it.label = r.bytes()
	if r.bad {
		it.bad = fmt.Errorf("%w: record %d: bad summary", ErrPart, it.loc.Index)
		return
	}
	it.body = r.b
	bodyOff, np, hs, _, ok := spilled(r.b)
	if !ok || bodyOff != it.loc.Offset || np < 0 {
		it.bad = fmt.Errorf("%w: record %d: bad features", ErrPart, it.loc.Index)
		return
	}
	it.hashes = sized(it.hashes, len(hs)/8, 256)
	for j := 0; j+8 <= len(hs); j += 8 {
		it.hashes = append(it.hashes, binary.LittleEndian.Uint64(hs[j:]))
	}
}
