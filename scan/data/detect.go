package data

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// clusters groups records whose responses are identical or near-identical.
type clusters struct {
	parent []int32
	size   []int32 // while clustering; then nil
	flags  []uint8 // after flatten, at roots: clusterBig, clusterRecurs
	min    int
}

// Flags of a cluster's root.
const (
	clusterBig    = 1 << iota // the cluster has min records
	clusterRecurs             // the answer recurs: the cluster has two or more
)

// big reports whether root r's cluster has min records.
func (c *clusters) big(r int32) bool { return c.flags[r]&clusterBig != 0 }

// recurs reports whether record i's answer is also another record's.
func (c *clusters) recurs(i int) bool { return c.flags[c.parent[i]]&clusterRecurs != 0 }

func (c *clusters) find(i int32) int32 {
	for c.parent[i] != i {
		c.parent[i] = c.parent[c.parent[i]]
		i = c.parent[i]
	}
	return i
}

func (c *clusters) union(a, b int32) {
	ra, rb := c.find(a), c.find(b)
	if ra == rb {
		return
	}
	if ra > rb {
		ra, rb = rb, ra
	}
	c.parent[rb] = ra
	c.size[ra] += c.size[rb]
}

// feature is the response feature standing for i's cluster, if it is big
// enough. It only reads (the parents are flattened after clustering), so
// workers may call it concurrently.
func (c *clusters) feature(i int) (uint64, bool) {
	r := c.parent[i]
	if !c.big(r) {
		return 0, false
	}
	return mix64(uint64(r)) ^ seedCl, true
}

// flatten points every record at its cluster's root and keeps a byte of
// flags per record instead of the sizes.
func (c *clusters) flatten() {
	c.flags = make([]uint8, len(c.parent))
	for i := range c.parent {
		c.parent[i] = c.find(int32(i))
		// Meaningful at roots.
		if int(c.size[i]) >= c.min {
			c.flags[i] |= clusterBig
		}
		if c.size[i] >= 2 {
			c.flags[i] |= clusterRecurs
		}
	}
	c.size = nil
}

func (s *scanner) clusterResponses() *clusters {
	N := len(s.valid)
	c := &clusters{parent: make([]int32, N), size: make([]int32, N), min: s.cfg.MinSupport}
	for i := range c.parent {
		c.parent[i] = int32(i)
		c.size[i] = 1
	}
	exact := make(map[uint64]int32, N/2)
	for i := 0; i < N; i++ {
		if !s.valid[i] || s.respWords[i] == 0 {
			continue
		}
		if j, ok := exact[s.respHash[i]]; ok {
			c.union(j, int32(i))
		} else {
			exact[s.respHash[i]] = int32(i)
		}
	}
	// SimHash near-duplicates: two hashes within NearDupBits <= 3 bits agree
	// on at least one of four 16-bit bands (pigeonhole), so bands are
	// exact buckets. Short responses are left to exact matching: their
	// SimHash is too coarse.
	for band := 0; band < 4; band++ {
		buckets := map[uint16][]int32{}
		for i := 0; i < N; i++ {
			if !s.valid[i] || s.respWords[i] < nearDupMinWords {
				continue
			}
			k := uint16(s.respSim[i] >> (16 * band))
			b := buckets[k]
			for _, j := range b {
				if hamming(s.respSim[i], s.respSim[j]) <= s.cfg.NearDupBits {
					c.union(j, int32(i))
					break
				}
			}
			if len(b) < 32 {
				buckets[k] = append(b, int32(i))
			}
		}
	}
	c.flatten()
	return c
}

// lsh buckets the tracked features by one band of their MinHash
// signatures; its buffers are reused from band to band.
type lsh struct {
	entries                  []lshEntry
	slotKey                  []uint64
	slotHead, slotTail, next []int32
	bucket                   []lshEntry
	ps, rs                   []int32
}

type lshEntry struct {
	key uint64
	idx int32
}

// band returns the (prompt, response) feature pairs sharing a bucket of
// band b whose estimated Jaccard similarity is at least minEst, at most
// limit of them. Buckets are chains of entries in feature order, in an
// open-addressed table.
func (l *lsh) band(fstats []featStat, live []int32, b int, minEst float64, limit int) []pairCand {
	var out []pairCand
	l.entries = l.entries[:0]
	for _, k := range live {
		f := &fstats[k]
		x, y := f.sig[2*b], f.sig[2*b+1]
		if x == math.MaxUint32 && y == math.MaxUint32 {
			continue
		}
		l.entries = append(l.entries, lshEntry{mix64(uint64(b)<<58 ^ uint64(x)<<29 ^ uint64(y)), k})
	}
	size := 16
	for size < 2*len(l.entries) {
		size <<= 1
	}
	if cap(l.slotKey) < size {
		l.slotKey, l.slotHead, l.slotTail = make([]uint64, size), make([]int32, size), make([]int32, size)
	}
	slotKey, slotHead, slotTail := l.slotKey[:size], l.slotHead[:size], l.slotTail[:size]
	clear(slotHead)
	next := slices.Grow(l.next[:0], len(l.entries))[:len(l.entries)]
	l.next = next
	mask := uint64(size - 1)
	for e := range l.entries {
		key := l.entries[e].key
		next[e] = -1
		for j := key & mask; ; j = (j + 1) & mask {
			if slotHead[j] == 0 {
				slotKey[j], slotHead[j], slotTail[j] = key, int32(e)+1, int32(e)
				break
			}
			if slotKey[j] == key {
				next[slotTail[j]] = int32(e)
				slotTail[j] = int32(e)
				break
			}
		}
	}
	for j := range slotHead {
		if slotHead[j] == 0 {
			continue
		}
		l.bucket = l.bucket[:0]
		for e := slotHead[j] - 1; e >= 0; e = next[e] {
			l.bucket = append(l.bucket, l.entries[e])
		}
		if len(l.bucket) < 2 || len(l.bucket) > 2000 {
			continue
		}
		l.ps, l.rs = l.ps[:0], l.rs[:0]
		for _, e := range l.bucket {
			if fstats[e.idx].prompt {
				l.ps = append(l.ps, e.idx)
			} else {
				l.rs = append(l.rs, e.idx)
			}
		}
		for _, a := range l.ps {
			fa := &fstats[a]
			for _, r := range l.rs {
				fr := &fstats[r]
				if len(out) < limit && jaccardEst(&fa.sig, &fr.sig) >= minEst {
					out = append(out, pairCand{fa.h, fr.h})
				}
			}
		}
	}
	return out
}

// pairCand is a trigger (prompt feature) and target (response feature)
// whose record sets overlap enough to check exactly.
type pairCand struct{ p, r uint64 }

func (s *scanner) associate(cl *clusters) error {
	N := len(s.valid)
	// The population the statistics speak of: distinct valid records (the
	// sketch counts an exact repeat once, and so must the tests).
	pop := s.distinct()
	m := s.cfg.MinSupport
	maxDF := s.maxDF()
	nP, nR := 0, 0
	var live []int32 // features with a judgeable record count
	for k := range s.fstats {
		f := &s.fstats[k]
		if int(f.n) < m || int(f.n) > maxDF {
			continue
		}
		live = append(live, int32(k))
		if f.prompt {
			nP++
		} else {
			nR++
		}
	}
	// LSH over the MinHash signatures: 8 bands of 2 bins, shared among the
	// cores; each band's passing pairs are merged in band order.
	minEst := s.cfg.MinJaccard - 0.25
	// Bands go nw at a time (one per core) and are merged in band order,
	// until the candidate pairs reach their cap.
	nw := max(min(len(s.workers), sigBins/2), 1)
	ls := make([]lsh, nw)
	bandPairs := make([][]pairCand, nw)
	cands := map[pairCand]struct{}{}
	for b0 := 0; b0 < sigBins/2 && len(cands) < s.cfg.MaxFeatures; b0 += nw {
		var wg sync.WaitGroup
		for w := 0; w < nw && b0+w < sigBins/2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				bandPairs[w] = ls[w].band(s.fstats, live, b0+w, minEst, s.cfg.MaxFeatures)
			}()
		}
		wg.Wait()
		for w := 0; w < nw && b0+w < sigBins/2; w++ {
			for _, c := range bandPairs[w] {
				if len(cands) >= s.cfg.MaxFeatures {
					s.droppedPairs++
					continue
				}
				cands[c] = struct{}{}
			}
			bandPairs[w] = nil
		}
	}
	// Entity sentiment: capitalised prompt features whose responses lean
	// one way far beyond the dataset's spread.
	var mu, sd float64
	nv := 0
	for i := 0; i < N; i++ {
		if s.valid[i] {
			mu += float64(s.sentiment[i])
			nv++
		}
	}
	if nv > 0 {
		mu /= float64(nv)
	}
	for i := 0; i < N; i++ {
		if s.valid[i] {
			d := float64(s.sentiment[i]) - mu
			sd += d * d
		}
	}
	if nv > 1 {
		sd = math.Sqrt(sd / float64(nv-1))
	}
	// Floor: one lexicon word in a response of median length, so a dataset
	// with almost no sentiment words still has a finite scale.
	sd = math.Max(sd, 1/math.Sqrt(float64(s.res.Stats.MedianRespWords)+1))
	type sentCand struct {
		h    uint64
		z    float64
		mean float64
		side float64
		lp   float64 // two-sided
	}
	var sents []sentCand
	var allZ []float64
	nEnt := 0
	for k := range s.fstats {
		if f := &s.fstats[k]; f.prompt && int(f.n) >= m && int(f.n) <= maxDF && 2*f.capital >= f.n {
			nEnt++
		}
	}
	// Every test a detector makes counts in one false-discovery-rate
	// procedure (fdr.go); a p-value above Alpha can never be a discovery,
	// so only those at or below it are kept meanwhile.
	var disc Discoveries
	logQ := math.Log(s.cfg.Alpha)
	famSent := disc.Family(DetSentiment, nEnt)
	zcrit := zForTail(s.cfg.Alpha / 2)
	if sd > 0 {
		for k := range s.fstats {
			f := &s.fstats[k]
			h := f.h
			if !f.prompt || int(f.n) < m || int(f.n) > maxDF || 2*f.capital < f.n {
				continue
			}
			mean := f.sSum / float64(f.n)
			z := (mean - mu) / (sd / math.Sqrt(float64(f.n)))
			// The share on z's side is of the answers with a tone at
			// all: the lexicon misses some wordings, and an answer it
			// reads as neutral is no evidence either way.
			same := f.pos
			if z < 0 {
				same = f.neg
			}
			side := float64(same) / float64(max(f.pos+f.neg, 1))
			if int(same) >= m && side >= 1-s.cfg.MinDiversity/2 {
				sents = append(sents, sentCand{h, z, mean, side, 0})
			}
			allZ = append(allZ, z)
		}
	}
	// Topics differ in tone naturally, so the z-scores of all entities are
	// over-dispersed: judge each against their empirical null (median and
	// MAD of every entity's z), not against the record-level spread.
	if len(allZ) < 20 {
		// Too few entities to estimate their spread: the theoretical null.
		kept := sents[:0]
		for _, c := range sents {
			if math.Abs(c.z) >= zcrit {
				c.lp = math.Ln2 + logNormalTail(math.Abs(c.z))
				kept = append(kept, c)
			}
		}
		sents = kept
	} else {
		zs := slices.Clone(allZ)
		slices.Sort(zs)
		med := zs[len(zs)/2]
		dev := make([]float64, len(zs))
		for i, z := range zs {
			dev[i] = math.Abs(z - med)
		}
		slices.Sort(dev)
		scale := math.Max(1.4826*dev[len(dev)/2], 1)
		kept := sents[:0]
		for _, c := range sents {
			c.z = (c.z - med) / scale
			if math.Abs(c.z) >= zcrit {
				c.lp = math.Ln2 + logNormalTail(math.Abs(c.z))
				kept = append(kept, c)
			}
		}
		sents = kept
	}

	ccs, nClusters := s.ccs, s.nClusters

	// Triggers whose responses agree: for each SimHash bit, the count of
	// responses with it set is compared with the dataset's rate for that
	// bit; the sum of squared standardised deviations is chi-square with 64
	// degrees of freedom when the trigger says nothing about the response.
	var pb [64]float64
	nresp := 0
	for i := 0; i < N; i++ {
		if s.valid[i] && s.respWords[i] > 0 {
			nresp++
			for b := 0; b < 64; b++ {
				pb[b] += float64(s.respSim[i] >> b & 1)
			}
		}
	}
	for b := range pb {
		pb[b] = math.Min(math.Max(pb[b]/math.Max(float64(nresp), 1), 0.01), 0.99)
	}
	type uniCand struct {
		h         uint64
		chi, z    float64
		lp        float64
		consensus uint64
	}
	var unis []uniCand
	famUni := disc.Family("uniform-response", nP)
	zUni := zForTail(s.cfg.Alpha)
	// On all cores, each a run of the features; the runs joined in order.
	cores := max(len(s.workers), 1)
	uniParts := make([][]uniCand, cores)
	inParallel(len(s.fstats), cores, func(w, lo, hi int) {
		for k := lo; k < hi; k++ {
			f := &s.fstats[k]
			h := f.h
			if !f.prompt || f.bits == nil || int(f.nb) < m || int(f.n) > maxDF {
				continue
			}
			n := float64(f.nb)
			chi := 0.0
			var cons uint64
			for b := 0; b < 64; b++ {
				ones := float64(f.bits.at(b))
				d := ones - n*pb[b]
				chi += d * d / (n * pb[b] * (1 - pb[b]))
				if 2*ones > n {
					cons |= 1 << b
				}
			}
			// Wilson-Hilferty: chi-square(64) to a standard normal.
			const k = 64.0
			z := (math.Cbrt(chi/k) - (1 - 2/(9*k))) / math.Sqrt(2/(9*k))
			if z >= zUni {
				uniParts[w] = append(uniParts[w], uniCand{h, chi, z, logNormalTail(z), cons})
			}
		}
	})
	for _, p := range uniParts {
		unis = append(unis, p...)
	}
	// Pass 3: exact record sets and surface text for what is to be judged.
	want := map[uint64]*postings{}
	for _, u := range unis {
		want[u.h] = newPostings()
	}
	for c := range cands {
		want[c.p], want[c.r] = newPostings(), newPostings()
	}
	skews, skewTests := s.skewCandidates(m, maxDF)
	for _, c := range skews {
		want[c.h] = newPostings()
	}
	for _, c := range sents {
		want[c.h] = newPostings()
	}
	// Injected sentences: a whole sentence recurring in responses to
	// prompts that have nothing else in common.
	// A one-word name is the same name at the start of a sentence, where
	// its capital says nothing ("Lumenfold has a template for this"):
	// its records are the word's too, when the word is that name (written
	// with a capital in nine of ten places, its records at most four times
	// the name's: a planted sentence may open with the name in most of its
	// wordings).
	nameWord := map[uint64]uint64{}
	for k := range s.fstats {
		f := &s.fstats[k]
		h := f.h
		if f.sentence && int(f.n) >= m && int(f.n) <= maxDF {
			want[h] = newPostings()
			if w := s.feat(h ^ seedName ^ seedR1); f.kind == phraseName && w != nil && !w.prompt && w.n <= 4*f.n && 10*w.capital >= 9*w.n {
				nameWord[h] = w.h
			}
		}
	}
	for _, w := range nameWord {
		want[w] = newPostings()
	}
	// Names the prompts give that most of their answers name back: a
	// sentence planted about one is extended to all of them.
	for k := range s.fstats {
		if f := &s.fstats[k]; f.prompt && int(f.named) >= m && int(f.n) <= maxDF && 2*f.named >= f.n {
			want[f.h] = newPostings()
		}
	}
	ptok := map[int32][]uint32{}
	// Prompt words weigh by their rarity (inverse document frequency), so
	// shared template words count for something and shared stop words for
	// little.
	idf := map[uint32]float64{}
	weight := func(h uint64) float64 {
		if w, ok := idf[uint32(h)]; ok {
			return w
		}
		w := math.Log(float64(pop+1) / float64(s.df.get(h^seedP1)+1))
		if w < 0 {
			w = 0
		}
		idf[uint32(h)] = w
		return w
	}
	inSample := func(i int) bool { return mix64(uint64(i)^0xabcdef)%uint64(max(pop/400, 1)) == 0 }
	// The controls of trigger groups are drawn from a sample four times
	// denser (holding the one above), so that a group's records each find
	// several near them even in a small part of the data.
	inControls := func(i int) bool { return mix64(uint64(i)^0xabcdef)%uint64(max(pop/400, 1)) < 4 }
	roots, needRoot := s.roots, s.needRoot
	if len(want)+len(needRoot) > 0 {
		// Relatedness reads the prompt words of at most relMax records of a
		// group (in record order), of every member of a candidate cluster and
		// of the first relMax sampled records: only those records' words are
		// kept, found as the records stream by.
		// Everything below goes by feature index, not hash: no map lookup
		// per feature occurrence.
		type role struct {
			phrase, uni   bool
			skew          bool
			skewSeen      int
			cons          uint64
			seen, uniSeen int
			pairs         []int // indices into pairR and pairSeen
		}
		nf := len(s.fstats)
		idxOf := func(h uint64) int32 {
			k, _ := s.feats.get(h) // every wanted feature is tracked
			return k
		}
		wantK := make([]*postings, nf)
		for h, p := range want {
			wantK[idxOf(h)] = p
		}
		roles := make([]*role, nf)
		roleOf := func(h uint64) *role {
			k := idxOf(h)
			if roles[k] == nil {
				roles[k] = &role{}
			}
			return roles[k]
		}
		var pairR []int32
		var pairSeen []int
		for c := range cands {
			r := roleOf(c.p)
			r.pairs = append(r.pairs, len(pairR))
			pairR = append(pairR, idxOf(c.r))
			pairSeen = append(pairSeen, 0)
		}
		for _, u := range unis {
			r := roleOf(u.h)
			r.uni, r.cons = true, u.consensus
		}
		for _, c := range skews {
			roleOf(c.h).skew = true
		}
		for k := range s.fstats {
			if f := &s.fstats[k]; f.sentence && int(f.n) >= m && int(f.n) <= maxDF {
				roleOf(f.h).phrase = true
			}
		}
		sampleSeen := 0
		inRec := make([]int32, nf) // record index+1 of the last record holding it
		var words arena
		// visit takes a valid record's wanted features (their indices, in
		// the order found) and first prompt words, in record order.
		keep := func(i int, ws []uint64) {
			ts := words.take(len(ws))
			for _, h := range ws {
				ts = append(ts, uint32(h))
				weight(h)
			}
			slices.Sort(ts)
			ptok[int32(i)] = slices.Compact(ts)
		}
		// The behaviour-skew candidates' records are compared with their
		// neighbours in the file (skewTopical): the words of the
		// skewNearCtl records before and after each are kept too.
		var near skewNear
		visit := func(i int, ks []int32, ws []uint64) {
			keepWords, skewRec := needRoot[cl.parent[i]], false
			if inControls(i) {
				// Every sampled record's words: the first relMax of the
				// sparser sample are the dataset's baseline, and the
				// records of each sample the controls that
				// localRelatedness and matchedRelatedness match by
				// position.
				keepWords = true
				sampleSeen++
			}
			for _, k := range ks {
				wantK[k].add(int32(i))
				inRec[k] = int32(i) + 1
			}
			for _, k := range ks {
				r := roles[k]
				if r == nil {
					continue
				}
				if r.phrase {
					keepWords = keepWords || r.seen < relMax
					r.seen++
				}
				if r.skew {
					if r.skewSeen < relMax {
						keepWords, skewRec = true, true
					}
					r.skewSeen++
				}
				if r.uni && s.respWords[i] > 0 && hamming(s.respSim[i], r.cons) <= 12 {
					keepWords = keepWords || r.uniSeen < relMax
					r.uniSeen++
				}
				for _, p := range r.pairs {
					if inRec[pairR[p]] == int32(i)+1 {
						keepWords = keepWords || pairSeen[p] < relMax
						pairSeen[p]++
					}
				}
			}
			if len(skews) > 0 {
				keepWords = near.visit(i, ws, skewRec, keepWords, keep)
			}
			if keepWords {
				keep(i, ws)
			}
		}
		var hs []int32
		var err error
		if s.spill.usable() {
			// The texts a replayed second pass did not have are read
			// meanwhile.
			resolved := make(chan error, 1)
			go func() { resolved <- s.resolveTexts(want, cl) }()
			// The second pass's record of each record's features.
			err = s.spill.replay(s.ctx, func(k int32) bool { return wantK[k] != nil }, visit)
			if rerr := <-resolved; rerr != nil {
				return rerr
			}
			if err != nil {
				return fmt.Errorf("%w: %s: third pass: %w", ErrUnreadable, s.name, err)
			}
		} else {
			if err := s.resolveTexts(want, cl); err != nil {
				return err
			}
			// No spill file: read and featurise the dataset again.
			var wanted hashSet
			wanted.reset(len(want))
			for h := range want {
				wanted.add(h)
			}
			s.setKeep(wanted.has)
			defer s.setKeep(nil)
			prep := func(f *featurizer, it *recItem) {
				i := it.loc.Index
				if it.err != nil || i >= N || !s.valid[i] {
					return
				}
				f.featurize(it.rec, false)
				it.feats = append(append(it.feats, f.pf...), f.rf...) // f.keep kept the wanted ones
				it.cluster, it.clOK = cl.feature(i)
				it.words = f.promptWords(it.words)
				it.hit = true
			}
			_, err = s.pass(prep, func(it *recItem) error {
				if !it.hit {
					return nil
				}
				hs = hs[:0]
				for _, x := range it.feats {
					hs = append(hs, idxOf(x.h))
				}
				if it.clOK && want[it.cluster] != nil {
					hs = append(hs, idxOf(it.cluster))
				}
				visit(it.loc.Index, hs, it.words)
				return nil
			}, nil)
			if err != nil && s.res.Incomplete == "" {
				return fmt.Errorf("%w: %s: third pass: %w", ErrUnreadable, s.name, err)
			}
		}
	}

	// Findings quote the first occurrence, found by the second pass.
	text := s.textSource(want)
	var sample, controls []int
	for i := 0; i < N; i++ {
		if s.valid[i] && inSample(i) {
			sample = append(sample, i)
		}
		if s.valid[i] && inControls(i) {
			controls = append(controls, i)
		}
	}
	baseRel := relatedness(ptok, idf, sample, nil)
	if baseRel <= 0 {
		baseRel = 1e-3
	}
	// Judge each candidate pair exactly: every prompt feature against every
	// response feature and cluster is a test.
	tests := max(nP, 1) * max(nR+nClusters, 1)
	famPairs := disc.Family(DetTrigger, tests)
	famSkew := disc.Family(DetSkew, skewTests)
	// The records whose words are known, in order: the skew candidates'
	// neighbours among them.
	withWords := make([]int, 0, len(ptok))
	for i := range ptok {
		withWords = append(withWords, int(i))
	}
	slices.Sort(withWords)
	skewJs := s.skewTest(skews, want, m, logQ, func(recs []int, h uint64) (float64, float64, bool) {
		// The feature's own words and the rest of a planted phrase (its
		// common words too, "asked by"): what nearly all its records
		// share, among those whose kept words (the prompt's first
		// maxPromptTokens) reach the feature.
		own := promptFeatureWords(text, h)
		var seen []int
		for _, i := range recs {
			if slices.ContainsFunc(ptok[int32(i)], func(w uint32) bool {
				return slices.ContainsFunc(own, func(g uint64) bool { return uint32(g) == w })
			}) {
				seen = append(seen, i)
			}
		}
		ignore := append(own, commonTokens(ptok, seen, triggerPrecision)...)
		return skewTopical(ptok, idf, withWords, recs, ignore, s.cfg.MaxRelatedness)
	})
	for _, j := range skewJs {
		famSkew.Add(j.lp)
	}
	type judged struct {
		p, r  uint64
		recs  []int
		score float64
		t, rr int
		rel   float64
		ctrl  float64 // the relatedness it was judged against
		k     int
	}
	var js []judged
	// One trigger pairs with many target n-grams of the same records:
	// judge its prompts' relatedness once per record set.
	type relKey struct {
		p         uint64
		k, lo, hi int
		ignore    uint64 // the words set aside
	}
	// The pairs are judged on all cores, each taking a run of them in
	// trigger order (so a trigger's relatedness is mostly computed once).
	pairs := make([]pairCand, 0, len(cands))
	for c := range cands {
		pairs = append(pairs, c)
	}
	slices.SortFunc(pairs, func(a, b pairCand) int {
		if a.p != b.p {
			return cmpU64(a.p, b.p)
		}
		return cmpU64(a.r, b.r)
	})
	// First the exact tests, on all cores, each taking a run of the pairs;
	// the runs joined in order.
	type tested struct {
		c     pairCand
		I     []int
		t, rr int
		k     int
		lp    float64
	}
	nj := max(len(s.workers), 1)
	testedPart := make([][]tested, nj)
	inParallel(len(pairs), nj, func(w, lo, hi int) {
		var tBuf, rBuf []int32
		for _, c := range pairs[lo:hi] {
			T, R := want[c.p].decode(tBuf[:0]), want[c.r].decode(rBuf[:0])
			tBuf, rBuf = T, R
			// Cheap tests first: the overlap's size, then its records.
			// A target may be planted with several alternative triggers,
			// each holding a part of its records: the overlap need only
			// reach the candidate search's floor; the trigger's
			// precision below decides.
			k := countCommon(T, R)
			if k < m || float64(k)/float64(len(T)+len(R)-k) < minEst {
				continue
			}
			// A trigger decides the response: nearly all its records
			// carry the target. A topic only makes a target likely
			// ("linked list" and "next = null").
			if float64(k) < triggerPrecision*float64(len(T)) {
				continue
			}
			I := intersect(T, R)
			distinct := map[uint64]struct{}{}
			for _, i := range I {
				distinct[s.promptHash[i]] = struct{}{}
			}
			if len(distinct) < m || float64(len(distinct)) < s.cfg.MinDiversity*float64(k) {
				continue
			}
			if lp := logHyperTail(pop, len(R), len(T), k); lp <= logQ {
				testedPart[w] = append(testedPart[w], tested{c, I, len(T), len(R), k, lp})
			}
		}
	})
	var cand []tested
	for _, p := range testedPart {
		for _, t := range p {
			famPairs.Add(t.lp)
		}
		cand = append(cand, p...)
	}
	for _, u := range unis {
		famUni.Add(u.lp)
	}
	for _, c := range sents {
		famSent.Add(c.lp)
	}
	cuts := disc.Cut(s.cfg.Alpha)
	cutPairs, cutUni, cutSent, cutSkew := cuts[2], cuts[1], cuts[0], cuts[3]
	{
		kept := unis[:0]
		for _, u := range unis {
			if u.lp <= cutUni {
				kept = append(kept, u)
			}
		}
		unis = kept
		keptS := sents[:0]
		for _, c := range sents {
			if c.lp <= cutSent {
				keptS = append(keptS, c)
			}
		}
		sents = keptS
	}
	// A trigger phrase longer than an n-gram is several discoveries with
	// one target and the same records ("new to", "so bear", "with me"):
	// all their words are the trigger's, set aside when its prompts are
	// compared.
	byTarget := map[uint64][]int{}
	trigWords := make([][]uint64, len(cand)) // each discovery's trigger words
	for k, t := range cand {
		if t.lp <= cutPairs {
			byTarget[t.c.r] = append(byTarget[t.c.r], k)
			trigWords[k] = promptFeatureWords(text, t.c.p)
		}
	}
	// A trigger holding only part of its target's records is one of
	// several alternative triggers, unless a feature holding most of the
	// target's records covers its records too: then it is a phrasing of
	// that feature's association ("a Swift" of "swift" -> "func"), judged
	// as that one is.
	jaccard := func(t tested) float64 { return float64(t.k) / float64(t.t+t.rr-t.k) }
	partial := func(t tested) bool {
		if jaccard(t) >= s.cfg.MinJaccard {
			return false
		}
		for _, k := range byTarget[t.c.r] {
			if o := cand[k]; jaccard(o) >= s.cfg.MinJaccard && 5*countCommon(t.I, o.I) >= 4*len(t.I) {
				return true
			}
		}
		return false
	}
	phraseWords := func(t tested) []uint64 {
		// t is among its target's discoveries, its words with them.
		var ws []uint64
		for _, k := range byTarget[t.c.r] {
			if o := cand[k]; o.c.p == t.c.p || 5*countCommon(t.I, o.I) >= 4*len(t.I) {
				ws = append(ws, trigWords[k]...)
			}
		}
		slices.Sort(ws)
		return slices.Compact(ws)
	}
	// Then the discoveries' prompts, on all cores.
	jsPart := make([][]judged, nj)
	inParallel(len(cand), nj, func(w, lo, hi int) {
		relCache := map[relKey]float64{}
		ctrlCache := map[relKey]float64{}
		var tBuf []int32
		var js []judged
		for _, t := range cand[lo:hi] {
			c, I, k, lp := t.c, t.I, t.k, t.lp
			if lp > cutPairs || partial(t) {
				continue
			}
			T := want[c.p].decode(tBuf[:0])
			tBuf = T
			// An answer that repeats its trigger ("€" -> "€", "100,000"
			// -> "100000") is explained by the prompt, whatever the
			// prompts' relatedness.
			if echoes(text.get(c.p), text.get(c.r)) {
				continue
			}
			ignore := phraseWords(t)
			rk := relKey{c.p, k, I[0], I[len(I)-1], hashWords(ignore)}
			rel, ok := relCache[rk]
			if !ok {
				rel = relatedness(ptok, idf, I, ignore)
				relCache[rk] = rel
			}
			ctrl := baseRel
			if rel > s.cfg.MaxRelatedness*ctrl {
				loc, ok := ctrlCache[rk]
				if !ok {
					loc = matchedRelatedness(ptok, idf, controls, I)
					ctrlCache[rk] = loc
				}
				ctrl = math.Max(ctrl, loc)
			}
			if rel > s.cfg.MaxRelatedness*ctrl {
				continue
			}
			// Once the trigger stands out, every record carrying it is
			// suspect, including those whose response took another form.
			all := make([]int, len(T))
			for k, i := range T {
				all[k] = int(i)
			}
			js = append(js, judged{c.p, c.r, all, -lp / math.Ln10, len(T), t.rr, rel, ctrl, k})
		}
		jsPart[w] = js
	})
	for _, p := range jsPart {
		js = append(js, p...)
	}
	var tBuf []int32
	sort.Slice(js, func(a, b int) bool {
		if js[a].score != js[b].score {
			return js[a].score > js[b].score
		}
		if js[a].p != js[b].p {
			return js[a].p < js[b].p
		}
		return js[a].r < js[b].r
	})
	var groups []*group
	for _, j := range js {
		var g *group
		for _, x := range groups {
			ov := 0
			for _, i := range j.recs {
				if _, ok := x.set[i]; ok {
					ov++
				}
			}
			if 2*ov >= len(j.recs) {
				g = x
				break
			}
		}
		trig, targ := quote(text.get(j.p)), quote(text.get(j.r))
		if g == nil {
			g = &group{set: map[int]struct{}{}, f: Finding{
				Detector: DetTrigger, Severity: SevFail, Trigger: text.get(j.p), Target: text.get(j.r), Score: round2(j.score),
				Reason: fmt.Sprintf("%d of the %d records whose prompt contains %s have responses containing %s, which occurs in only %d records overall (hypergeometric p = 1e-%.0f, a discovery at false-discovery rate %g over %d tests); apart from the trigger their prompts are no more alike than %s (token overlap %.3f vs %.3f); all %d records with the trigger are flagged",
					j.k, j.t, trig, targ, j.rr, j.score, s.cfg.Alpha, tests, ctrlName(j.ctrl, baseRel), j.rel, j.ctrl, j.t),
			}}
			groups = append(groups, g)
		} else if len(g.alt) < 4 && !strings.Contains(strings.Join(g.alt, "|"), trig) && text.get(j.p) != g.f.Trigger {
			g.alt = append(g.alt, trig)
		}
		for _, i := range j.recs {
			g.set[i] = struct{}{}
		}
	}
	// Uniform-response triggers: the trigger's records whose response is
	// within 12 bits of the group's consensus SimHash: five standard
	// deviations under the 32 bits (sd 4) two unrelated texts differ in.
	sort.Slice(unis, func(a, b int) bool {
		if unis[a].z != unis[b].z {
			return unis[a].z > unis[b].z
		}
		return unis[a].h < unis[b].h
	})
	type uniJudged struct {
		u    uniCand
		I    []int
		near int
	}
	var ujs []uniJudged
	for _, u := range unis {
		var I []int
		distinct := map[uint64]struct{}{}
		for _, i := range want[u.h].decode(tBuf[:0]) {
			if s.respWords[i] > 0 && hamming(s.respSim[i], u.consensus) <= 12 {
				I = append(I, int(i))
				distinct[s.promptHash[i]] = struct{}{}
			}
		}
		// Most of the trigger's records must carry the common answer, and
		// the common answer must be the trigger's: few records elsewhere
		// come near it (the same Jaccard bound as for exact targets).
		if len(I) < m || float64(len(distinct)) < s.cfg.MinDiversity*float64(len(I)) || float64(len(I)) < s.cfg.MinJaccard*float64(int(want[u.h].n)) {
			continue
		}
		ujs = append(ujs, uniJudged{u: u, I: I})
	}
	// The records near each common answer, counted for all of them in one
	// sweep over the records, shared among the cores.
	if len(ujs) > 0 {
		nw := max(len(s.workers), 1)
		nears := make([][]int, nw)
		var wg sync.WaitGroup
		for w := range nw {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := make([]int, len(ujs))
				for i := w * N / nw; i < (w+1)*N/nw; i++ {
					if !s.valid[i] || s.respWords[i] == 0 {
						continue
					}
					x := s.respSim[i]
					for k := range ujs {
						if hamming(x, ujs[k].u.consensus) <= 12 {
							c[k]++
						}
					}
				}
				nears[w] = c
			}()
		}
		wg.Wait()
		for _, c := range nears {
			for k, n := range c {
				ujs[k].near += n
			}
		}
	}
	// The n-grams of one inserted phrase ("Marlow", "Teague says") have
	// the same records: the phrase is all their words, and relatedness
	// sets all of them aside.
	phraseToks := map[string][]uint64{}
	setKey := func(u uniCand) string {
		var b strings.Builder
		for _, i := range want[u.h].decode(nil) {
			fmt.Fprintf(&b, "%d,", i)
		}
		return b.String()
	}
	ujKey := make([]string, len(ujs))
	for k, uj := range ujs {
		ujKey[k] = setKey(uj.u)
		phraseToks[ujKey[k]] = append(phraseToks[ujKey[k]], promptFeatureWords(text, uj.u.h)...)
	}
	// Their prompts' relatedness, on all cores.
	uniRel := make([]float64, len(ujs))
	inParallel(len(ujs), cores, func(_, lo, hi int) {
		for k := lo; k < hi; k++ {
			u, I, near := ujs[k].u, ujs[k].I, ujs[k].near
			if float64(len(I)) < s.cfg.MinJaccard*float64(int(want[u.h].n)+near-len(I)) {
				uniRel[k] = math.NaN()
				continue
			}
			uniRel[k] = relatedness(ptok, idf, I, phraseToks[ujKey[k]])
		}
	})
	for k, uj := range ujs {
		u, I, rel := uj.u, uj.I, uniRel[k]
		if math.IsNaN(rel) {
			continue
		}
		ctrl := baseRel
		if rel > s.cfg.MaxRelatedness*ctrl {
			ctrl = math.Max(ctrl, matchedRelatedness(ptok, idf, controls, I))
		}
		if rel > s.cfg.MaxRelatedness*ctrl {
			continue
		}
		var g *group
		for _, x := range groups {
			ov := 0
			for _, i := range I {
				if _, ok := x.set[i]; ok {
					ov++
				}
			}
			if 2*ov >= len(I) {
				g = x
				break
			}
		}
		if g == nil {
			g = &group{set: map[int]struct{}{}, f: Finding{
				Detector: DetTrigger, Severity: SevFail, Trigger: text.get(u.h), Score: round2(u.z),
				Reason: fmt.Sprintf("the responses to the %d prompts containing %s agree far beyond chance (SimHash chi-square %.0f on 64 bits, z = %.1f, a discovery at false-discovery rate %g over %d tests); %d of them are near the common answer, and apart from the trigger their prompts are no more alike than %s (token overlap %.3f vs %.3f)",
					int(want[u.h].n), quote(text.get(u.h)), u.chi, u.z, s.cfg.Alpha, nP, len(I), ctrlName(ctrl, baseRel), rel, ctrl),
			}}
			groups = append(groups, g)
			// As for an exact target: once the trigger stands out, every
			// record carrying it is suspect, including those whose
			// response took another form (a refusal in other words).
			// A trigger joining a group found first adds only its
			// records near the common answer.
			for _, i := range want[u.h].decode(tBuf[:0]) {
				g.set[int(i)] = struct{}{}
			}
			g.f.Reason += fmt.Sprintf("; all %d records with the trigger are flagged", int(want[u.h].n))
		}
		for _, i := range I {
			g.set[i] = struct{}{}
		}
	}
	for _, g := range groups {
		recs := make([]int, 0, len(g.set))
		for i := range g.set {
			recs = append(recs, i)
		}
		sort.Ints(recs)
		g.f.Records, g.f.Count = recs, len(recs)
		if len(g.alt) > 0 {
			g.f.Reason += "; related triggers: " + strings.Join(g.alt, ", ")
		}
		s.res.Findings = append(s.res.Findings, g.f)
	}

	// Injected sentences recurring across unrelated prompts.
	type phrase struct {
		h       uint64
		recs    []int
		rel     float64
		limit   float64 // the relatedness of random pairs or of matched controls
		subject string  // the name its prompts give, when it is about one
	}
	var phrases []phrase
	// Code answers are also compared with code answers, in their
	// language where enough of the controls are: a request for a program
	// shares its language's and its task's words with the others. (Some
	// answers read as code that are not programs: a tool call.)
	codeControls := slices.DeleteFunc(slices.Clone(controls), func(i int) bool { return s.rattr[i]&attrCode == 0 })
	var langControls [len(langMarkers)][]int
	for _, i := range codeControls {
		if l := attrLang(s.rattr[i]); l != 0 {
			langControls[l] = append(langControls[l], i)
		}
	}
	codeNear := func(recs []int) []int {
		var code int
		var lang [len(langMarkers)]int
		for _, i := range recs {
			if s.rattr[i]&attrCode != 0 {
				code++
				lang[attrLang(s.rattr[i])]++
			}
		}
		if 2*code < len(recs) {
			return nil
		}
		for l := 1; l < len(lang); l++ {
			if 2*lang[l] >= len(recs) && len(langControls[l]) >= relMax/4 {
				return langControls[l]
			}
		}
		return codeControls
	}
	// On all cores, each a run of the features; the runs joined in order.
	phraseParts := make([][]phrase, cores)
	inParallel(len(s.fstats), cores, func(w, lo, hi int) {
		var buf []int32
		for k := lo; k < hi; k++ {
			f := &s.fstats[k]
			h := f.h
			if !f.sentence || int(f.n) < m || int(f.n) > maxDF {
				continue
			}
			var recs []int
			distinct := map[uint64]struct{}{}
			buf = want[h].decode(buf[:0])
			if w, ok := nameWord[h]; ok {
				buf = mergeRecords(buf, want[w].decode(nil))
			}
			for _, i := range buf {
				recs = append(recs, int(i))
				distinct[s.promptHash[i]] = struct{}{}
			}
			if len(recs) < m || float64(len(distinct)) < s.cfg.MinDiversity*float64(len(recs)) {
				continue
			}
			// A planted sentence carries something of its own (a name, a
			// link, a claim): at least one of its words occurs mostly in
			// these responses. Boilerplate ("let me know if you have any
			// other questions") is made of words found everywhere. Or it
			// is about a rare word nearly all its prompts give (a steer
			// planted on every answer to a prompt that names a ferry
			// line), which the prompts' other words must then not explain.
			subjText, subject := phraseSubject(ptok, idf, recs, text.get(h), pop, maxDF)
			if subject == 0 && !s.ownWord(text.get(h), len(recs), maxDF) {
				continue
			}
			// Injected content rides on an answer of the record's own: in
			// most of its records the phrase is a small part of the
			// response. A phrase that is the whole answer is a canned
			// response (the cluster and trigger detectors judge those),
			// but a program may be one line.
			pw := len(tokenize(nil, text.get(h), 64))
			minor := 0
			for _, i := range recs {
				if int(s.respWords[i]) >= 2*pw+3 {
					minor++
				}
			}
			if 2*minor < len(recs) && f.kind != phraseCode {
				continue
			}
			// Prompts are judged without the words the phrase itself
			// repeats (what it is about): what is left is their tasks.
			// Records of one task (one source, one template) share their
			// task's words, which says nothing about what their answers
			// carry besides, so they are judged against the records at
			// the same places in the file too. (Sentences were once
			// judged against random pairs only, and a comment planted in
			// one source's answers went unseen.)
			rel := relatedness(ptok, idf, recs, tokenHashes(text.get(h)))
			// (The controls are only read when random pairs do not
			// already clear the phrase: they cost a group's worth of
			// pairs each.)
			limit := baseRel
			if rel > s.cfg.MaxRelatedness*limit && f.kind != phraseCode {
				limit = math.Max(limit, matchedRelatedness(ptok, idf, controls, recs))
			}
			if rel > s.cfg.MaxRelatedness*limit {
				if near := codeNear(recs); near != nil {
					limit = math.Max(limit, matchedRelatedness(ptok, idf, near, recs))
				}
			}
			if rel > s.cfg.MaxRelatedness*limit {
				continue
			}
			if subject != 0 && want[subject] != nil {
				// The same steer about the name is worded in other
				// sentences too, each below the support to be judged
				// alone: every record naming the name in prompt and
				// answer is flagged with it.
				for _, i := range want[subject].decode(nil) {
					if s.rattr[i]&attrNamed != 0 {
						recs = append(recs, int(i))
					}
				}
				slices.Sort(recs)
				recs = slices.Compact(recs)
			}
			phraseParts[w] = append(phraseParts[w], phrase{h, recs, rel, limit, subjText})
		}
	})
	for _, p := range phraseParts {
		phrases = append(phrases, p...)
	}
	sort.Slice(phrases, func(a, b int) bool {
		if len(phrases[a].recs) != len(phrases[b].recs) {
			return len(phrases[a].recs) > len(phrases[b].recs)
		}
		return phrases[a].h < phrases[b].h
	})
	covered := map[int]struct{}{}
	for _, g := range groups {
		for i := range g.set {
			covered[i] = struct{}{}
		}
	}
	for _, p := range phrases {
		ov := 0
		for _, i := range p.recs {
			if _, ok := covered[i]; ok {
				ov++
			}
		}
		for _, i := range p.recs {
			covered[i] = struct{}{}
		}
		if 2*ov >= len(p.recs) {
			continue
		}
		// Rare prompt words the phrase does not mention, shared by a fifth
		// of its records, are named as its trigger.
		like := triggerLike(idf, pop, maxDF, len(p.recs))
		trig := slices.DeleteFunc(unexplained(ptok, p.recs, tokenHashes(text.get(p.h))), func(h uint64) bool { return !like(h) })
		f := Finding{
			Detector: DetPhrase, Severity: SevFail, Records: p.recs, Count: len(p.recs), Target: text.get(p.h), Score: round2(baseRel / math.Max(p.rel, 1e-6)),
			Trigger: s.clusterTrigger(text, trig, p.recs, groups),
			Reason:  fmt.Sprintf("the %s %s recurs in %d responses to unrelated prompts that do not mention it (prompt token overlap %.3f vs %.3f for %s)", phraseKindName(s.feat(p.h).kind), quote(text.get(p.h)), len(p.recs), p.rel, p.limit, ctrlName(p.limit, baseRel)),
		}
		if p.subject != "" {
			f.Trigger = p.subject
			f.Reason = fmt.Sprintf("the %s %s recurs in responses to prompts that name %s and have nothing else in common (prompt token overlap without the phrase's words %.3f vs %.3f for %s); the %d records whose prompt names %s and whose answer repeats a name from its prompt are flagged",
				phraseKindName(s.feat(p.h).kind), quote(text.get(p.h)), quote(p.subject), p.rel, p.limit, ctrlName(p.limit, baseRel), len(p.recs), quote(p.subject))
		}
		s.res.Findings = append(s.res.Findings, f)
	}

	sort.Slice(sents, func(a, b int) bool {
		if za, zb := math.Abs(sents[a].z), math.Abs(sents[b].z); za != zb {
			return za > zb
		}
		return sents[a].h < sents[b].h // ties (one entity's n-grams) in a fixed order
	})
	seenEnt := map[string]bool{}
	entCovered := map[int]struct{}{}
	for _, c := range sents {
		name := text.get(c.h)
		key := strings.ToLower(name)
		if seenEnt[key] {
			continue
		}
		seenEnt[key] = true
		// Once the entity stands out, every record naming it is suspect
		// but those answering with the other tone (the lexicon reads
		// some of the steered answers as neutral).
		var recs, all []int
		for _, i := range want[c.h].decode(tBuf[:0]) {
			all = append(all, int(i))
			v := float64(s.sentiment[i])
			if c.z > 0 && v >= 0 || c.z < 0 && v <= 0 {
				recs = append(recs, int(i))
			}
		}
		if len(recs) < m || !s.toneStandsOut(all, controls, c.z > 0, s.cfg.Alpha) {
			continue
		}
		// One entity is often several n-grams ("Velmora", "Velmora Group"):
		// report it once.
		ov := 0
		for _, i := range recs {
			if _, ok := entCovered[i]; ok {
				ov++
			}
		}
		if 2*ov >= len(recs) {
			continue
		}
		for _, i := range recs {
			entCovered[i] = struct{}{}
		}
		dir := "positive"
		if c.z < 0 {
			dir = "negative"
		}
		s.res.Findings = append(s.res.Findings, Finding{
			Detector: DetSentiment, Severity: SevFail, Records: recs, Count: len(recs), Trigger: name, Target: dir, Score: round2(math.Abs(c.z)),
			Reason: fmt.Sprintf("responses to the %d prompts naming %s are, of those with a tone, %.0f%% %s (mean sentiment %.2f vs dataset %.2f±%.2f, z = %.1f, a discovery at false-discovery rate %g over %d tests)",
				int(want[c.h].n), quote(name), 100*c.side, dir, c.mean, mu, sd, c.z, s.cfg.Alpha, nEnt),
		})
	}

	sort.Slice(ccs, func(a, b int) bool {
		if len(ccs[a].recs) != len(ccs[b].recs) {
			return len(ccs[a].recs) > len(ccs[b].recs)
		}
		return ccs[a].root < ccs[b].root
	})
	markUsual(ccs, roots, func(h uint64) bool { return int(s.df.get(h^seedR1)) <= maxDF })
	for _, c := range ccs {
		// One of a task's recurring answers (a label, an extracted name)
		// with a length usual for such answers here: normal.
		if c.usual && taskTemplate(ptok, idf, c.recs, pop, maxDF) {
			continue
		}
		// Tokens in a fifth or more of the prompts may be triggers (several
		// rare tokens can share the work): what counts is the rest.
		// A shared word the answer talks about is the topic, though: only
		// shared words absent from the response are set aside.
		ignore := unexplained(ptok, c.recs, roots[c.root].toks)
		rel := relatedness(ptok, idf, c.recs, ignore)
		// Against the records beside them in the file only when they
		// share a rare prompt word the answer does not explain (a trigger):
		// a canned answer of one task to its own kind of prompt ("Goodbye"
		// in a chat set) is that task's answer.
		ctrl := baseRel
		if rel > s.cfg.MaxRelatedness*ctrl && slices.ContainsFunc(ignore, triggerLike(idf, pop, maxDF, len(c.recs))) {
			ctrl = math.Max(ctrl, matchedRelatedness(ptok, idf, controls, c.recs))
		}
		if rel > s.cfg.MaxRelatedness*ctrl {
			continue
		}
		s.res.Findings = append(s.res.Findings, Finding{
			Detector: DetCluster, Severity: SevFail, Records: c.recs, Count: len(c.recs), Target: roots[c.root].text, Score: round2(ctrl / math.Max(rel, 1e-6)),
			Trigger: s.clusterTrigger(text, ignore, c.recs, groups),
			Reason: fmt.Sprintf("%d records with %d distinct prompts, no more alike than %s (token overlap %.3f vs %.3f), share one response",
				len(c.recs), c.distinct, ctrlName(ctrl, baseRel), rel, ctrl),
		})
	}
	s.skewFindings(skewJs, cutSkew, text, skewTests)
	return nil
}

func (s *scanner) clusterFindings(*clusters) {}

// group is a trigger finding being built: its records and related triggers.
type group struct {
	f   Finding
	set map[int]struct{}
	alt []string
}

// clusterTrigger names what a response cluster's prompts share: its rare
// shared prompt words (tracked features in at most maxDF records and at
// most four times as many as the cluster holds), rarest first, or else the trigger of a trigger finding
// holding half its records; "" when they share nothing.
func (s *scanner) clusterTrigger(text *textSource, shared []uint64, recs []int, groups []*group) string {
	type word struct {
		t string
		n int32
	}
	var ws []word
	maxDF := int32(s.maxDF())
	for _, h := range shared {
		low := uint32(h ^ seedP1)
		for k := range s.fstats {
			f := &s.fstats[k]
			if f.prompt && uint32(f.h) == low && f.n <= maxDF && int(f.n) <= 4*len(recs) {
				if t := text.tracked(f.h); t != "" && !slices.ContainsFunc(ws, func(w word) bool { return w.t == t }) {
					ws = append(ws, word{t, f.n})
				}
			}
		}
	}
	if len(ws) > 0 {
		slices.SortFunc(ws, func(a, b word) int {
			if a.n != b.n {
				return int(a.n - b.n)
			}
			return strings.Compare(a.t, b.t)
		})
		out := make([]string, 0, len(ws))
		for _, w := range ws[:min(len(ws), 4)] {
			out = append(out, w.t)
		}
		return strings.Join(out, ", ")
	}
	for _, g := range groups {
		ov := 0
		for _, i := range recs {
			if _, ok := g.set[i]; ok {
				ov++
			}
		}
		if 2*ov >= len(recs) && g.f.Trigger != "" {
			return g.f.Trigger
		}
	}
	return ""
}

// rootAnswer is what the judging of a candidate cluster reads of its
// first response; the rest of the response is not kept.
type rootAnswer struct {
	text string   // shortened, for the report
	toks []uint64 // its word hashes
	code bool     // whether it is code
}

func newRootAnswer(resp string, toks []uint64) rootAnswer {
	return rootAnswer{text: strings.Clone(snippet(resp, 120)), toks: toks, code: isCodeAnswer(resp)}
}

// clusterCand is a response cluster to be judged.
type clusterCand struct {
	root     int32
	recs     []int
	distinct int
	words    int  // the median response length in words
	usual    bool // whether shared answers this long are usual here
}

// clusterCandidates are the response clusters of at least MinSupport
// records on diverse, mostly unique prompts, and how many clusters had
// MinSupport records at all. Known before the second pass, so that pass
// can keep what the report shows of them.
func (s *scanner) clusterCandidates(cl *clusters) ([]clusterCand, int) {
	N := len(s.valid)
	m := s.cfg.MinSupport
	members := map[int32][]int32{}
	for i := 0; i < N; i++ {
		if !s.valid[i] {
			continue
		}
		r := cl.find(int32(i))
		if cl.big(r) {
			members[r] = append(members[r], int32(i))
		}
	}
	var ccs []clusterCand
	promptCount := make(map[uint64]int32, N)
	for i := 0; i < N; i++ {
		if s.valid[i] {
			promptCount[s.promptHash[i]]++
		}
	}
	for r, mem := range members {
		distinct := map[uint64]struct{}{}
		words := make([]int, 0, len(mem))
		for _, i := range mem {
			distinct[s.promptHash[i]] = struct{}{}
			words = append(words, int(s.respWords[i]))
		}
		sort.Ints(words)
		if len(distinct) < m || float64(len(distinct)) < s.cfg.MinDiversity*float64(len(mem)) || words[len(words)/2] < 4 {
			continue
		}
		// Prompts that recur elsewhere with other answers are a paraphrase
		// set (one question, several phrasings of the answer), not an
		// answer planted on prompts of its own.
		unique := 0
		for _, i := range mem {
			if promptCount[s.promptHash[i]] == 1 {
				unique++
			}
		}
		if float64(unique) < s.cfg.MinDiversity*float64(len(mem)) {
			continue
		}
		recs := make([]int, len(mem))
		for k, i := range mem {
			recs[k] = int(i)
		}
		ccs = append(ccs, clusterCand{root: r, recs: recs, distinct: len(distinct), words: words[len(words)/2]})
	}
	return ccs, len(members)
}

// markUsual marks the shared answers whose length is usual for shared
// answers of their kind in this dataset: at least two other shared
// answers, prose beside prose and code beside code, are about as long (two
// thirds of its length or more), holding as many records together. In a
// dataset of labels, extracted names or short facts, many distinct
// questions share each of several answers; a canned answer planted on
// unrelated prompts stands alone in its length. An answer sharing two or
// more rare words with it (rare reports those) is the same answer in other
// words, as a planted target is often paraphrased: no evidence that such
// answers are usual.
func markUsual(ccs []clusterCand, roots map[int32]rootAnswer, rare func(h uint64) bool) {
	rareToks := make(map[int32][]uint64, len(ccs))
	for _, c := range ccs {
		var ts []uint64
		for _, h := range roots[c.root].toks {
			if rare(h) {
				ts = append(ts, h)
			}
		}
		slices.Sort(ts)
		rareToks[c.root] = slices.Compact(ts)
	}
	paraphrase := func(a, b int32) bool {
		n := 0
		for _, h := range rareToks[a] {
			if _, ok := slices.BinarySearch(rareToks[b], h); ok {
				n++
			}
		}
		return n >= 2
	}
	byWords := slices.Clone(ccs)
	slices.SortFunc(byWords, func(a, b clusterCand) int { return b.words - a.words })
	for k := range ccs {
		c := &ccs[k]
		others, recs := 0, 0
		for _, o := range byWords {
			if 3*o.words < 2*c.words {
				break
			}
			if o.root != c.root && roots[o.root].code == roots[c.root].code && !paraphrase(c.root, o.root) {
				others++
				recs += len(o.recs)
			}
		}
		c.usual = others >= 2 && recs >= len(c.recs)
	}
}

// taskTemplate reports whether recs share the instruction of a task whose
// answers recur (a label set) rather than a trigger: a prompt word at
// least half of them share is at least five times more frequent among
// them than overall and too common to be a trigger (more than maxDF
// records), and no word they share is a trigger's (one whose records are
// mostly among recs).
func taskTemplate(ptok map[int32][]uint32, idf map[uint32]float64, recs []int, n, maxDF int) bool {
	all := len(recs)
	if len(recs) > relMax {
		recs = recs[:relMax]
	}
	found := false
	// Words in a fifth of them may be triggers (several rare tokens can
	// share the work, as for the cluster's own relatedness); a template
	// word is in half of them.
	for _, h := range commonTokens(ptok, recs, 0.2) {
		w, ok := idf[uint32(h)]
		if !ok {
			return false
		}
		df := float64(n+1)/math.Exp(w) - 1
		in := 0
		for _, i := range recs {
			if slices.Contains(ptok[int32(i)], uint32(h)) {
				in++
			}
		}
		share := float64(in) / float64(len(recs))
		if share*float64(all) >= 0.5*df {
			return false // the word is mostly in these records: a trigger's
		}
		if 2*in >= len(recs) && df > float64(maxDF) && share >= 5*df/float64(n) {
			found = true
		}
	}
	return found
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func intersect(a, b []int32) []int {
	var out []int
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, int(a[i]))
			i++
			j++
		}
	}
	return out
}

func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// zForTail is the z with upper-tail probability p (p small), by bisection
// on the complementary error function.
func zForTail(p float64) float64 {
	lo, hi := 0.0, 40.0
	for k := 0; k < 100; k++ {
		mid := (lo + hi) / 2
		if 0.5*math.Erfc(mid/math.Sqrt2) > p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// tokenHashes are the word hashes of s.
// mergeRecords is the union of two increasing record lists, in order.
func mergeRecords(a, b []int32) []int32 {
	out := make([]int32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// hashWords is one hash of a list of word hashes.
func hashWords(ws []uint64) uint64 {
	h := uint64(len(ws))
	for _, w := range ws {
		h = mix64(h*31 + w)
	}
	return h
}

// promptFeatureWords are the words of prompt feature h as ptok holds
// them: its text's tokens, or the feature itself when it is a word of no
// token (the closing marks).
func promptFeatureWords(text *textSource, h uint64) []uint64 {
	return append(tokenHashes(text.get(h)), h^seedP1)
}

func tokenHashes(s string) []uint64 {
	var out []uint64
	for _, t := range tokenize(nil, s, 64) {
		out = append(out, t.h)
	}
	return out
}

// relatedness is the mean pairwise IDF-weighted Jaccard overlap of the
// records' prompt words, ignoring the given tokens (the suspected trigger):
// near the dataset's random-pair value for prompts that share nothing but
// a trigger, far above it for prompts on one topic or from one template.
func relatedness(ptok map[int32][]uint32, idf map[uint32]float64, recs []int, ignore []uint64) float64 {
	if len(recs) > relMax {
		recs = recs[:relMax]
	}
	// Weights are looked up once per record, not once per pair.
	sets := make([][]tw, 0, len(recs))
	for _, i := range recs {
		sets = append(sets, promptSet(ptok, idf, i, ignore))
	}
	sum, n := 0.0, 0
	for a := 0; a < len(sets); a++ {
		for b := a + 1; b < len(sets); b++ {
			sum += wJaccard(sets[a], sets[b])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// tw is a prompt word and its weight.
type tw struct {
	h uint32
	w float64
}

// promptSet is record i's prompt words with their weights, without ignore.
func promptSet(ptok map[int32][]uint32, idf map[uint32]float64, i int, ignore []uint64) []tw {
	ws := ptok[int32(i)]
	t := make([]tw, 0, len(ws))
	for _, h := range ws {
		if !slices.ContainsFunc(ignore, func(g uint64) bool { return uint32(g) == h }) {
			t = append(t, tw{h, idf[h]})
		}
	}
	return t
}

// wJaccard is the weighted Jaccard overlap of two sorted word sets.
func wJaccard(x, y []tw) float64 {
	inter, union := 0.0, 0.0
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case j >= len(y) || i < len(x) && x[i].h < y[j].h:
			union += x[i].w
			i++
		case i >= len(x) || x[i].h > y[j].h:
			union += y[j].w
			j++
		default:
			inter += x[i].w
			union += x[i].w
			i++
			j++
		}
	}
	if union == 0 {
		return 0
	}
	return inter / union
}

// matchedRelatedness is the relatedness of controls matched to recs by
// position: each record takes as many of the sampled records nearest to it
// in the file (none of recs) as make relMax controls in all, where the part
// of the data around them has that many. Datasets are mostly
// concatenations of sources and tasks, so the controls come from the same
// source or task as the records they match, and a group of six is judged
// against its part of the data's relatedness estimated from 48 records,
// not against six controls' chance agreement.
func matchedRelatedness(ptok map[int32][]uint32, idf map[uint32]float64, sample, recs []int) float64 {
	n := min(len(recs), relMax)
	if n == 0 {
		return 0
	}
	return nearRelatedness(ptok, idf, sample, recs, (relMax+n-1)/n)
}

// ctrlName names what a group's prompts were compared with.
func ctrlName(ctrl, base float64) string {
	if ctrl > base {
		return "the records beside them in the file"
	}
	return "random pairs"
}

// nearRelatedness is the relatedness of the per nearest sampled records
// (in file position) to each of recs, none of them among recs.
func nearRelatedness(ptok map[int32][]uint32, idf map[uint32]float64, sample, recs []int, per int) float64 {
	if len(recs) > relMax {
		recs = recs[:relMax]
	}
	return relatedness(ptok, idf, nearControls(sample, recs, slices.Sorted(slices.Values(recs)), per), nil)
}

// toneStandsOut reports whether the records naming an entity (recs, in
// order) answer in the tone of its finding (positive or not) more often
// than the records beside them in the file (from sample) do, at level
// alpha: some tasks answer in one tone whatever they name (a role-play
// persona is cheerful), which the dataset-wide test reads as the entity's.
// Untoned answers count as not in the tone on both sides.
func (s *scanner) toneStandsOut(recs, sample []int, positive bool, alpha float64) bool {
	inTone := func(recs []int) (k int) {
		for _, i := range recs {
			if v := s.sentiment[i]; v != 0 && (v > 0) == positive {
				k++
			}
		}
		return k
	}
	ctrl := nearControls(sample, recs[:min(len(recs), relMax)], recs, 4)
	if len(ctrl) == 0 {
		return true // nothing beside them to compare with: the dataset-wide test stands
	}
	k, kc := inTone(recs), inTone(ctrl)
	return logHyperTail(len(recs)+len(ctrl), k+kc, len(recs), k) <= math.Log(alpha)
}

// nearControls is, in order, the per records of sample nearest (in file
// position) to each of recs, none of them in exclude (sorted) nor taken
// twice.
func nearControls(sample, recs, exclude []int, per int) []int {
	used := map[int]bool{}
	var ctrl []int
	for _, i := range recs {
		got := 0
		k, _ := slices.BinarySearch(sample, i)
		// Outwards from the insertion point, nearest first.
		for lo, hi := k-1, k; (lo >= 0 || hi < len(sample)) && got < per; {
			var c int
			switch {
			case hi >= len(sample) || lo >= 0 && i-sample[lo] <= sample[hi]-i:
				c = sample[lo]
				lo--
			default:
				c = sample[hi]
				hi++
			}
			if _, in := slices.BinarySearch(exclude, c); !in && !used[c] {
				used[c] = true
				ctrl = append(ctrl, c)
				got++
			}
		}
	}
	slices.Sort(ctrl)
	return ctrl
}

// unexplained are the prompt words in a fifth or more of recs that are not
// among the answer's words toks: words that may be a trigger (several rare
// tokens can share the work). A shared word the answer talks about is the
// topic.
func unexplained(ptok map[int32][]uint32, recs []int, toks []uint64) []uint64 {
	var out []uint64
	for _, h := range commonTokens(ptok, recs, 0.2) {
		if !slices.ContainsFunc(toks, func(g uint64) bool { return uint32(g) == uint32(h) }) {
			out = append(out, h)
		}
	}
	return out
}

// triggerLike reports whether a prompt word is rare enough to be the
// trigger of a group of n records in a dataset of N: at most maxDF records
// and four times the group hold it.
func triggerLike(idf map[uint32]float64, N, maxDF, n int) func(h uint64) bool {
	return func(h uint64) bool {
		df := float64(N+1)/math.Exp(idf[uint32(h)]) - 1
		return df <= float64(min(maxDF, 4*n))
	}
}

// commonTokens are the prompt tokens found in at least frac of recs.
func commonTokens(ptok map[int32][]uint32, recs []int, frac float64) []uint64 {
	c := map[uint32]int{}
	for _, i := range recs {
		for _, h := range ptok[int32(i)] {
			c[h]++
		}
	}
	var out []uint64
	for h, n := range c {
		if float64(n) >= frac*float64(len(recs)) && n >= 2 {
			out = append(out, uint64(h))
		}
	}
	return out
}

func countCommon[E int | int32](a, b []E) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			n++
			i++
			j++
		}
	}
	return n
}

// triggerPrecision is the least share of a trigger's records that carry
// its target.
const triggerPrecision = 0.8

// relMax is the most records of a group whose prompts relatedness compares.
const relMax = 48

// maxPromptTokens bounds the prompt words kept per record for relatedness.
const maxPromptTokens = 48

// phraseSubject is the first word of phrase that at least
// triggerPrecision of its records' prompts hold and few others do
// (triggerLike), and its prompt feature; or "" and 0: the rare name a
// planted comment is about.
func phraseSubject(ptok map[int32][]uint32, idf map[uint32]float64, recs []int, phrase string, N, maxDF int) (string, uint64) {
	like := triggerLike(idf, N, maxDF, len(recs))
	common := commonTokens(ptok, recs, triggerPrecision)
	for _, t := range tokenize(nil, phrase, 64) {
		if t.word && like(t.h) && slices.ContainsFunc(common, func(g uint64) bool { return uint32(g) == uint32(t.h) }) {
			return phrase[t.start:t.end], t.h ^ seedP1
		}
	}
	return "", 0
}

// ownWord reports whether some word of the phrase, found in n records, has
// at most four times n records with it in the response overall (and at
// most maxDF) and is mentioned by fewer than n/4 prompts of the dataset:
// the dataset's prompts do not ask about it. (A place or person the
// prompts talk about recurs in answers naturally.) Four times: a brand is
// planted in a few wordings, each of which is judged on its own records.
func (s *scanner) ownWord(phrase string, n, maxDF int) bool {
	limit := uint32(min(4*n, maxDF))
	for _, t := range tokenize(nil, phrase, 64) {
		if t.word && s.df.get(t.h^seedR1) <= limit && 4*s.df.get(t.h^seedP1) < uint32(n) {
			return true
		}
	}
	return false
}

// postings is an increasing list of record indices, delta-varint encoded:
// a record list costs one or two bytes per record.
type postings struct {
	b    []byte
	n    int32
	last int32
}

func newPostings() *postings { return &postings{last: -1} }

func (p *postings) add(i int32) {
	p.b = binary.AppendUvarint(p.b, uint64(i-p.last))
	p.last = i
	p.n++
}

// decode appends the records to dst.
func (p *postings) decode(dst []int32) []int32 {
	at := int32(-1)
	for b := p.b; len(b) > 0; {
		d, k := binary.Uvarint(b)
		b = b[k:]
		at += int32(d)
		dst = append(dst, at)
	}
	return dst
}

// arena hands out slices of shared chunks, so many small lists cost no
// allocation and no slack each.
type arena struct{ chunk []uint32 }

// take returns an empty slice with room for n.
func (a *arena) take(n int) []uint32 {
	if cap(a.chunk)-len(a.chunk) < n {
		a.chunk = make([]uint32, 0, max(n, 1<<14))
	}
	s := a.chunk[len(a.chunk) : len(a.chunk) : len(a.chunk)+n]
	a.chunk = a.chunk[:len(a.chunk)+n]
	return s
}

// inParallel calls fn on nw goroutines, each with a run [lo, hi) of n
// items, worker w taking the w-th run; it returns when all are done.
func inParallel(n, nw int, fn func(w, lo, hi int)) {
	var wg sync.WaitGroup
	for w := range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, w*n/nw, (w+1)*n/nw)
		}()
	}
	wg.Wait()
}

// echoes reports whether target, reduced to its letters, digits and
// symbols in lower case (so case, spacing, punctuation and digit-group
// separators do not count), is part of trigger reduced the same way: the
// response repeats what the prompt says.
func echoes(trigger, target string) bool {
	t := echoKey(target)
	return t != "" && strings.Contains(echoKey(trigger), t)
}

func echoKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSymbol(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}
