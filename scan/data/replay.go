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
	flagCapital  = 1 << iota // feat.capital
	flagWord                 // prompt: feat.word
	flagSentence             // response: feat.sentence
)

// flagKindShift: a response feature's kind is in the flag's bits from 3 up.
const flagKindShift = 3

// appendFeatures encodes a record's features for the first pass's spill:
// their counts, the hashes, then a flag byte each.
func appendFeatures(b []byte, pf, rf []feat) []byte {
	np, n := len(pf), len(pf)+len(rf)
	b = slices.Grow(b, 2*binary.MaxVarintLen64+9*n)
	b = binary.AppendUvarint(b, uint64(np))
	b = binary.AppendUvarint(b, uint64(len(rf)))
	at := len(b)
	b = b[:at+9*n]
	hs, fl := b[at:at+8*n], b[at+8*n:]
	for j, x := range pf {
		binary.LittleEndian.PutUint64(hs[8*j:], x.h)
		fl[j] = b2u8(x.capital)*flagCapital | b2u8(x.word)*flagWord
	}
	for j, x := range rf {
		binary.LittleEndian.PutUint64(hs[8*(np+j):], x.h)
		fl[np+j] = b2u8(x.capital)*flagCapital | b2u8(x.sentence)*flagSentence | x.kind<<flagKindShift
	}
	return b
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// spilled splits a record of the first pass's spill: its offset, the
// number of prompt features, then the hashes (8 bytes each) and flags.
func spilled(b []byte) (off int64, np int, hs, fl []byte, ok bool) {
	var v [3]uint64
	for j := range v {
		x, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, 0, nil, nil, false
		}
		v[j], b = x, b[k:]
	}
	n := v[1] + v[2]
	if v[1] > uint64(len(b)) || v[2] > uint64(len(b)) || uint64(len(b)) != 9*n {
		return 0, 0, nil, nil, false
	}
	return int64(v[0]), int(v[1]), b[:8*n], b[8*n:], true
}

// prep2Replay is prep2 for a record replayed from the first pass's spill:
// the features come from the spill rather than the text, and only those
// kept are decoded.
func (s *scanner) prep2Replay(it *recItem, cl *clusters, lo, hi uint32) {
	i := it.loc.Index
	off, np, hs, fl, ok := spilled(it.raw)
	if !ok || i >= len(s.valid) || !s.valid[i] {
		it.err = fmt.Errorf("spill file: record %d: %w", i, errCorruptSpill)
		return
	}
	it.loc.Offset = off
	n := len(fl)
	counts := s.df.getAllLE(sized(it.counts, n, 256), hs)
	it.counts = counts
	it.feats = sized(it.feats, 0, 64) // a few dozen are kept, typically
	it.words = sized(it.words, maxPromptTokens, maxPromptTokens)
	for j, c := range counts[:np] {
		x := fl[j]
		if c >= lo && c <= hi {
			it.feats = append(it.feats, feat{h: binary.LittleEndian.Uint64(hs[8*j:]), capital: x&flagCapital != 0, word: x&flagWord != 0})
		}
		if x&flagWord != 0 {
			it.words = append(it.words, binary.LittleEndian.Uint64(hs[8*j:])^seedP1)
		}
	}
	it.nPrompt = len(it.feats)
	for j := np; j < len(counts); j++ {
		if c := counts[j]; c >= lo && c <= hi {
			x := fl[j]
			it.feats = append(it.feats, feat{h: binary.LittleEndian.Uint64(hs[8*j:]), capital: x&flagCapital != 0, sentence: x&flagSentence != 0, kind: x >> flagKindShift})
		}
	}
	if sentencesRecur(int(s.respWords[i]), func(yield func(uint32) bool) {
		for j := np; j < len(counts); j++ {
			if fl[j]>>flagKindShift == phraseSentence && !yield(counts[j]) {
				return
			}
		}
	}) {
		s.rattr[i] |= attrSentencesRecur
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
	loc    Location
	hs     []uint64   // features first found in it
	root   int32      // the cluster root it is the first record of, or -1
	texts  []string   // found: the features' surface texts
	answer rootAnswer // the root's response
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
		// The roots' texts now; the features' when first quoted (few are).
		s.lazy = &textSource{s: s, want: want, cl: cl, ra: ra, c: rc, cache: map[uint64]string{}}
		needs = slices.DeleteFunc(needs, func(n *textNeed) bool { return n.root < 0 })
		for _, n := range needs {
			n.hs = nil
		}
		err = s.textsAt(ra, needs, cl)
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
		if n.root >= 0 && n.answer.text != "" {
			s.roots[n.root] = n.answer
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
		toks := make([]uint64, len(f.rtoks))
		for k, t := range f.rtoks {
			toks[k] = t.h
		}
		n.answer = newRootAnswer(rec.Response, toks)
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
				if err := s.readNeed(ra, needs[k], f, &buf, cl); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readNeed reads n's record from a JSONL file at its offset, as readJSONL
// reads a line, and fills its texts.
func (s *scanner) readNeed(ra io.ReaderAt, n *textNeed, f *featurizer, buf *[]byte, cl *clusters) error {
	line, err := lineAt(ra, n.loc.Offset, buf)
	if err != nil {
		return fmt.Errorf("%w: %s: reading texts: %w", ErrUnreadable, s.name, err)
	}
	t := bytes.TrimSpace(line)
	if n.loc.Offset == 0 {
		t = bytes.TrimPrefix(t, []byte("\ufeff"))
	}
	rec, err := parseJSONRecord(t, s.cfg.Mapping)
	if err != nil {
		return fmt.Errorf("%w: %s: record %d changed between passes: %w", ErrUnreadable, s.name, n.loc.Index, err)
	}
	n.find(f, rec, cl)
	return nil
}

// textSource gives associate the surface texts of the wanted features.
// After a replayed second pass over a JSONL file they are read when first
// asked for, from the line of the record that first held the feature.
type textSource struct {
	s       *scanner
	want    map[uint64]*postings
	cl      *clusters
	ra      io.ReaderAt // nil: the texts are in the feature table
	c       io.Closer
	mu      sync.Mutex
	cache   map[uint64]string
	readers sync.Pool
	err     error
}

// textSource is what associate quotes from.
func (s *scanner) textSource(want map[uint64]*postings) *textSource {
	if s.lazy != nil {
		return s.lazy
	}
	return &textSource{s: s, want: want}
}

// get is the text of wanted feature h ("" for others); safe for
// concurrent use.
func (t *textSource) get(h uint64) string {
	if _, ok := t.want[h]; !ok {
		return ""
	}
	return t.tracked(h)
}

// tracked is the text of any tracked feature h ("" for others).
func (t *textSource) tracked(h uint64) string {
	fs := t.s.feat(h)
	if fs == nil {
		return ""
	}
	if t.ra == nil {
		return fs.text
	}
	t.mu.Lock()
	x, ok := t.cache[h]
	t.mu.Unlock()
	if ok {
		return x
	}
	// Read without the lock, so that the judging goroutines read at once.
	r, _ := t.readers.Get().(*textReader)
	if r == nil {
		r = &textReader{buf: make([]byte, 64<<10)}
		r.f.init(t.s.cfg.MaxTokens)
	}
	n := &textNeed{loc: Location{Index: int(fs.first), Offset: fs.firstOff}, hs: []uint64{h}, root: -1}
	err := t.s.readNeed(t.ra, n, &r.f, &r.buf, t.cl)
	t.readers.Put(r)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		if t.err == nil {
			t.err = err
		}
		return ""
	}
	t.cache[h] = n.texts[0]
	return n.texts[0]
}

// textReader is what reading one record's texts needs.
type textReader struct {
	f   featurizer
	buf []byte
}

// close releases the file; the error is the first reading one.
func (t *textSource) close() error {
	if t == nil {
		return nil
	}
	if t.c != nil {
		t.c.Close()
		t.c, t.ra = nil, nil
	}
	return t.err
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
