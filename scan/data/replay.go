package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	var ok bool
	f.pf, f.rf, ok = decodeFeatures(f.pf[:0], f.rf[:0], it.raw)
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

// resolveTexts reads, after a replayed second pass, the surface texts
// findings may quote: of the features in want and of the needed cluster
// roots, from the records that first held them. It reads the dataset only
// up to the last such record and featurises only those records.
func (s *scanner) resolveTexts(want map[uint64]*postings, cl *clusters) error {
	if !s.textsPending {
		return nil
	}
	feats := map[int32][]uint64{}
	roots := map[int32]int32{}
	last := int32(-1)
	for h := range want {
		if k, ok := s.feats.get(h); ok {
			i := s.fstats[k].first
			feats[i] = append(feats[i], h)
			last = max(last, i)
		}
	}
	for r := range s.needRoot {
		if i, ok := s.rootRec[r]; ok {
			roots[i] = r
			last = max(last, i)
		}
	}
	if last < 0 {
		return nil
	}
	prep := func(f *featurizer, it *recItem) {
		i := int32(it.loc.Index)
		if it.err != nil || i > last {
			return
		}
		hs, _ := feats[i]
		_, root := roots[i]
		if len(hs) == 0 && !root {
			return
		}
		f.featurize(it.rec, false)
		c, clOK := cl.feature(int(i))
		for _, h := range hs {
			text := ""
			if clOK && h == c {
				text = snippet(it.rec.Response, 120)
			} else if k := slices.IndexFunc(f.pf, func(x feat) bool { return x.h == h }); k >= 0 {
				text = f.prompt[f.pf[k].s:f.pf[k].e]
			} else if k := slices.IndexFunc(f.rf, func(x feat) bool { return x.h == h }); k >= 0 {
				text = f.response[f.rf[k].s:f.rf[k].e]
			}
			it.texts = append(it.texts, text)
		}
		if root {
			it.snip = snippet(it.rec.Response, 120)
			for _, t := range f.rtoks {
				it.rtoks = append(it.rtoks, t.h)
			}
		}
		it.hit = true
	}
	fn := func(it *recItem) error {
		i := int32(it.loc.Index)
		if it.hit {
			for k, h := range feats[i] {
				if x, ok := s.feats.get(h); ok {
					s.fstats[x].text = strings.Clone(it.texts[k])
				}
			}
			if r, ok := roots[i]; ok {
				s.rootText[r] = strings.Clone(it.snip)
				s.rootToks[r] = slices.Clone(it.rtoks)
			}
		}
		if i >= last {
			return errResolved
		}
		return nil
	}
	_, err := s.pass(prep, fn, nil)
	if err != nil && !errors.Is(err, errResolved) && s.res.Incomplete == "" {
		return fmt.Errorf("%w: %s: reading texts: %w", ErrUnreadable, s.name, err)
	}
	s.textsPending = false
	return nil
}
