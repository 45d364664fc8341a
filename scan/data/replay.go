package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Feature flags as the first pass's spill keeps them, one byte a feature.
const (
	flagCapital  = 1 << iota // prompt: feat.capital
	flagWord                 // prompt: feat.word
	flagSentence             // response: feat.sentence
)

// flagKindShift: a response feature's kind is in the flag's bits from 3 up.
const flagKindShift = 3

// appendFeatures encodes a record's features for the first pass's spill:
// their counts, the hashes, then a flag byte each.
func appendFeatures(b []byte, pf, rf []feat) []byte {
	b = binary.AppendUvarint(b, uint64(len(pf)))
	b = binary.AppendUvarint(b, uint64(len(rf)))
	for _, x := range pf {
		b = binary.LittleEndian.AppendUint64(b, x.h)
	}
	for _, x := range rf {
		b = binary.LittleEndian.AppendUint64(b, x.h)
	}
	for _, x := range pf {
		b = append(b, b2u8(x.capital)*flagCapital|b2u8(x.word)*flagWord)
	}
	for _, x := range rf {
		b = append(b, b2u8(x.sentence)*flagSentence|x.kind<<flagKindShift)
	}
	return b
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// decodeFeatures is the inverse of appendFeatures (without the texts'
// offsets, which the spill does not keep).
func decodeFeatures(pf, rf []feat, b []byte) ([]feat, []feat, bool) {
	np, k := binary.Uvarint(b)
	if k <= 0 {
		return pf, rf, false
	}
	b = b[k:]
	nr, k := binary.Uvarint(b)
	if k <= 0 {
		return pf, rf, false
	}
	b = b[k:]
	n := np + nr
	if np > uint64(len(b)) || nr > uint64(len(b)) || uint64(len(b)) != 9*n {
		return pf, rf, false
	}
	hs, fl := b[:8*n], b[8*n:]
	for j := range np {
		x := fl[j]
		pf = append(pf, feat{h: binary.LittleEndian.Uint64(hs[8*j:]), capital: x&flagCapital != 0, word: x&flagWord != 0})
	}
	for j := np; j < n; j++ {
		x := fl[j]
		rf = append(rf, feat{h: binary.LittleEndian.Uint64(hs[8*j:]), sentence: x&flagSentence != 0, kind: x >> flagKindShift})
	}
	return pf, rf, true
}

// prep2Replay is prep2 for a record replayed from the first pass's spill:
// the features come decoded rather than found in the text.
func (s *scanner) prep2Replay(f *featurizer, it *recItem, cl *clusters, lo, hi uint32) {
	i := it.loc.Index
	off, k := binary.Uvarint(it.raw)
	ok := k > 0
	if ok {
		it.loc.Offset = int64(off)
		f.pf, f.rf, ok = decodeFeatures(f.pf[:0], f.rf[:0], it.raw[k:])
	}
	if !ok || i >= len(s.valid) || !s.valid[i] {
		it.err = fmt.Errorf("spill file: record %d: %w", i, errCorruptSpill)
		return
	}
	f.counts = s.df.getAll(s.df.getAll(f.counts[:0], f.pf), f.rf)
	for k, x := range f.pf {
		if c := f.counts[k]; c >= lo && c <= hi {
			it.feats = append(it.feats, x)
		}
		if x.word {
			it.words = append(it.words, x.h^seedP1)
		}
	}
	it.nPrompt = len(it.feats)
	for k, x := range f.rf {
		if c := f.counts[len(f.pf)+k]; c >= lo && c <= hi {
			it.feats = append(it.feats, x)
		}
	}
	it.cluster, it.clOK = cl.feature(i)
	it.hit = true
}

// pass2Replay is pass2 for replayed records.
func (s *scanner) pass2Replay(it *recItem) error {
	if it.err != nil {
		return it.err
	}
	return s.pass2(it)
}

// errResolved stops the text pass after the last record it wants.
var errResolved = errors.New("texts resolved")

// textNeed is a record whose text a replayed second pass did not have.
type textNeed struct {
	loc   Location
	hs    []uint64 // features first found in it
	root  int32    // the cluster root it is the first record of, or -1
	texts []string // found: the features' surface texts
	snip  string   // the root's response, shortened
	rtoks []uint64 // and its tokens
}

// resolveTexts reads, after a replayed second pass, the surface texts
// findings may quote: of the features in want and of the needed cluster
// roots, from the records that first held them. A JSONL file that can be
// read at an offset has just those lines read; otherwise the dataset is
// read up to the last such record. Only those records are featurised.
func (s *scanner) resolveTexts(want map[uint64]*postings, cl *clusters) error {
	if !s.textsPending {
		return nil
	}
	byRec := map[int32]*textNeed{}
	need := func(loc Location) *textNeed {
		n := byRec[int32(loc.Index)]
		if n == nil {
			n = &textNeed{loc: loc, root: -1}
			byRec[int32(loc.Index)] = n
		}
		return n
	}
	for h := range want {
		if k, ok := s.feats.get(h); ok {
			f := &s.fstats[k]
			n := need(Location{Index: int(f.first), Offset: f.firstOff})
			n.hs = append(n.hs, h)
		}
	}
	for r := range s.needRoot {
		if loc, ok := s.rootRec[r]; ok {
			need(loc).root = r
		}
	}
	if len(byRec) == 0 {
		s.textsPending = false
		return nil
	}
	needs := make([]*textNeed, 0, len(byRec))
	for _, n := range byRec {
		slices.Sort(n.hs) // map order must not matter
		needs = append(needs, n)
	}
	slices.SortFunc(needs, func(a, b *textNeed) int { return a.loc.Index - b.loc.Index })
	rc, err := s.open()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnreadable, s.name, err)
	}
	if ra, ok := rc.(io.ReaderAt); ok && s.format == FormatJSONL {
		err = s.textsAt(ra, needs, cl)
		rc.Close()
	} else {
		rc.Close()
		err = s.textsByPass(byRec, needs[len(needs)-1].loc.Index, cl)
	}
	if err != nil {
		return err
	}
	for _, n := range needs {
		for k, h := range n.hs[:len(n.texts)] { // none if the record was not read
			if x, ok := s.feats.get(h); ok {
				s.fstats[x].text = n.texts[k]
			}
		}
		if n.root >= 0 && n.snip != "" {
			s.rootText[n.root] = n.snip
			s.rootToks[n.root] = n.rtoks
		}
	}
	s.textsPending = false
	return nil
}

// find fills n's texts from its record (on a worker).
func (n *textNeed) find(f *featurizer, rec Record, cl *clusters) {
	f.featurize(rec, false)
	c, clOK := cl.feature(n.loc.Index)
	n.texts = n.texts[:0]
	for _, h := range n.hs {
		text := ""
		if clOK && h == c {
			text = snippet(rec.Response, 120)
		} else if k := slices.IndexFunc(f.pf, func(x feat) bool { return x.h == h }); k >= 0 {
			text = f.prompt[f.pf[k].s:f.pf[k].e]
		} else if k := slices.IndexFunc(f.rf, func(x feat) bool { return x.h == h }); k >= 0 {
			text = f.response[f.rf[k].s:f.rf[k].e]
		}
		// A copy, so the record's text can go.
		n.texts = append(n.texts, strings.Clone(text))
	}
	if n.root >= 0 {
		n.snip = strings.Clone(snippet(rec.Response, 120))
		n.rtoks = n.rtoks[:0]
		for _, t := range f.rtoks {
			n.rtoks = append(n.rtoks, t.h)
		}
	}
}

// textsAt reads the lines of a JSONL file that needs name, at their
// offsets, on all cores; each line is read as readJSONL reads it.
func (s *scanner) textsAt(ra io.ReaderAt, needs []*textNeed, cl *clusters) error {
	nw := max(len(s.workers), 1)
	errs := make([]error, nw)
	var wg sync.WaitGroup
	for w := range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := s.workers[w]
			buf := make([]byte, 64<<10)
			for k := w; k < len(needs); k += nw {
				if k%256 == w && s.ctx.Err() != nil {
					errs[w] = s.ctx.Err()
					return
				}
				n := needs[k]
				line, err := lineAt(ra, n.loc.Offset, &buf)
				if err != nil {
					errs[w] = fmt.Errorf("%w: %s: reading texts: %w", ErrUnreadable, s.name, err)
					return
				}
				t := bytes.TrimSpace(line)
				if n.loc.Offset == 0 {
					t = bytes.TrimPrefix(t, []byte("\ufeff"))
				}
				rec, err := parseJSONRecord(t, s.cfg.Mapping)
				if err != nil {
					errs[w] = fmt.Errorf("%w: %s: record %d changed between passes: %w", ErrUnreadable, s.name, n.loc.Index, err)
					return
				}
				n.find(f, rec, cl)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lineAt reads the line at off (without its newline, up to the end of the
// file for the last one), growing *buf as needed.
func lineAt(ra io.ReaderAt, off int64, buf *[]byte) ([]byte, error) {
	got := 0
	for {
		b := *buf
		m, err := ra.ReadAt(b[got:], off+int64(got))
		if j := bytes.IndexByte(b[got:got+m], '\n'); j >= 0 {
			return b[:got+j], nil
		}
		got += m
		if err == io.EOF {
			return b[:got], nil
		}
		if err != nil {
			return nil, err
		}
		if got == len(b) {
			if len(b) > maxRecordBytes {
				return nil, fmt.Errorf("record at byte %d: longer than %d bytes", off, maxRecordBytes)
			}
			*buf = slices.Grow(b, len(b))[:2*len(b)]
		}
	}
}

// textsByPass reads the dataset up to record last for the records in
// byRec.
func (s *scanner) textsByPass(byRec map[int32]*textNeed, last int, cl *clusters) error {
	_, err := s.pass(func(f *featurizer, it *recItem) {
		if n := byRec[int32(it.loc.Index)]; n != nil && it.err == nil {
			n.find(f, it.rec, cl)
		}
	}, func(it *recItem) error {
		if it.loc.Index >= last {
			return errResolved
		}
		return nil
	}, nil)
	if err != nil && !errors.Is(err, errResolved) && s.res.Incomplete == "" {
		return fmt.Errorf("%w: %s: reading texts: %w", ErrUnreadable, s.name, err)
	}
	return nil
}
