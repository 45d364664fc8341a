package data

import (
	"encoding/binary"
	"math"
)

// cms is a count-min sketch of document frequencies with conservative
// update: memory is fixed by configuration, estimates only overcount. The
// four counters of a key share one 64-byte block, so an update costs one
// cache miss rather than four.
type cms struct {
	c    []uint32
	nblk uint64
	sink uint32 // keeps the touching loads of addAll
	free func()
	lo   uint32
	// reached counts the updates that brought an estimate to lo: about
	// the number of keys that did (collisions aside), to size the table
	// of tracked features.
	reached int
}

const cmsDepth = 4

func newCMS(width int) *cms {
	w := 16
	for w < width*cmsDepth {
		w <<= 1
	}
	c, free := sketchAlloc(w)
	return &cms{c: c, nblk: uint64(w / 16), free: free}
}

// release frees the counters; the sketch must not be used afterwards.
func (c *cms) release() {
	if c.free != nil {
		c.free()
		c.free, c.c = nil, nil
	}
}

// countFrom sets the estimate whose reaching addAll counts.
func (c *cms) countFrom(lo uint32) { c.lo = lo }

// addAll adds the features in order. The sketch is far larger than the
// caches, so each update is a cache miss: the keys of a group of features
// are hashed and their blocks touched first, with no dependence between
// the loads, so that the misses overlap; the updates then find the blocks
// cached and do not branch on the counters.
func (c *cms) addAll(fs []uint64) {
	var xs [32]uint64
	var sink uint32
	mask := c.nblk - 1
	for len(fs) > 0 {
		n := min(len(fs), len(xs))
		for k, h := range fs[:n] {
			x := mix64(h ^ 0x9e3779b97f4a7c15)
			xs[k] = x
			sink += c.c[(x&mask)*16]
		}
		for k := range fs[:n] {
			x := xs[k]
			base, y := (x&mask)*16, x>>32
			blk := (*[16]uint32)(c.c[base : base+16])
			o0, o1, o2, o3 := y&3, 4+y>>2&3, 8+y>>4&3, 12+y>>6&3
			a, b, d, e := blk[o0], blk[o1], blk[o2], blk[o3]
			m := min(a, b, d, e)
			blk[o0] = a + b2u(a == m)
			blk[o1] = b + b2u(b == m)
			blk[o2] = d + b2u(d == m)
			blk[o3] = e + b2u(e == m)
			if m+1 == c.lo {
				c.reached++
			}
		}
		fs = fs[n:]
	}
	c.sink += sink
}

// getAll appends the estimate of each feature to dst, hashing a group of
// keys before loading their blocks so the loads overlap.
func (c *cms) getAll(dst []uint32, fs []feat) []uint32 {
	var xs [32]uint64
	mask := c.nblk - 1
	for len(fs) > 0 {
		n := min(len(fs), len(xs))
		for k, f := range fs[:n] {
			xs[k] = mix64(f.h ^ 0x9e3779b97f4a7c15)
		}
		for _, x := range xs[:n] {
			base, y := (x&mask)*16, x>>32
			blk := (*[16]uint32)(c.c[base : base+16])
			dst = append(dst, min(blk[y&3], blk[4+y>>2&3], blk[8+y>>4&3], blk[12+y>>6&3]))
		}
		fs = fs[n:]
	}
	return dst
}

// getAllLE is getAll for keys stored as 8-byte little-endian words.
func (c *cms) getAllLE(dst []uint32, hs []byte) []uint32 {
	var xs [32]uint64
	mask := c.nblk - 1
	for len(hs) > 0 {
		n := min(len(hs)/8, len(xs))
		for k := range xs[:n] {
			xs[k] = mix64(binary.LittleEndian.Uint64(hs[8*k:]) ^ 0x9e3779b97f4a7c15)
		}
		for _, x := range xs[:n] {
			base, y := (x&mask)*16, x>>32
			blk := (*[16]uint32)(c.c[base : base+16])
			dst = append(dst, min(blk[y&3], blk[4+y>>2&3], blk[8+y>>4&3], blk[12+y>>6&3]))
		}
		hs = hs[8*n:]
	}
	return dst
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func (c *cms) get(h uint64) uint32 {
	var x [1]uint32
	c.getAll(x[:0], []feat{{h: h}})
	return x[0]
}

// sigBins is the number of one-permutation MinHash bins per feature.
const sigBins = 16

// featStat is what pass 2 keeps per tracked feature: its exact record count,
// a MinHash signature of its record set (one-permutation hashing, so one
// hash per record serves every feature) and response-sentiment moments.
type featStat struct {
	h        uint64
	n        int32
	capital  int32 // occurrences written with a capital letter (entities)
	sig      [sigBins]uint32
	sSum     float64
	pos, neg int32
	// refus counts the records that refuse, canned those whose answer
	// recurs; lab and labC are the state of a majority vote over the
	// records' short answers (skew.go).
	refus  int32
	canned int32
	// named counts the records, of those where the feature is written
	// with a capital, whose answer names a name their prompt gives.
	named    int32
	lab      uint32
	labC     int32
	prompt   bool
	sentence bool
	// bits counts, per SimHash bit, the responses (nb of them) with it set:
	// a trigger whose responses agree on far more bits than chance
	// answers uniformly even when the wording varies.
	bits *bitCounts
	nb   int32
	kind uint8
	text string // the first occurrence, as found findings quote it
	// first is the record of the first occurrence, whose text a replayed
	// second pass reads only when a finding may quote it.
	first    int32
	firstOff int64
}

func newFeatStat(h uint64, prompt bool) featStat {
	f := featStat{h: h, prompt: prompt}
	for i := range f.sig {
		f.sig[i] = math.MaxUint32
	}
	return f
}

// recordHash is the one-permutation hash of a record index: bin and value.
func recordHash(i int) (bin int, val uint32) {
	h := mix64(uint64(i) + 0x51ed27)
	return int(h % sigBins), uint32(h >> 32)
}

// jaccardEst estimates the Jaccard similarity of two record sets from their
// signatures, over bins where at least one is non-empty.
func jaccardEst(a, b *[sigBins]uint32) float64 {
	eq, n := 0, 0
	for i := range a {
		if a[i] == math.MaxUint32 && b[i] == math.MaxUint32 {
			continue
		}
		n++
		if a[i] == b[i] {
			eq++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(eq) / float64(n)
}

// logHyperTail is log P(X >= k) for X hypergeometric: k of the n records
// with feature A also carry feature B (K records) among N, if unrelated.
func logHyperTail(N, K, n, k int) float64 {
	lchoose := func(a, b int) float64 {
		if b < 0 || b > a {
			return math.Inf(-1)
		}
		la, _ := math.Lgamma(float64(a + 1))
		lb, _ := math.Lgamma(float64(b + 1))
		lc, _ := math.Lgamma(float64(a - b + 1))
		return la - lb - lc
	}
	den := lchoose(N, n)
	hi := n
	if K < hi {
		hi = K
	}
	// log-sum-exp of the tail terms.
	maxT := math.Inf(-1)
	terms := make([]float64, 0, hi-k+1)
	for x := k; x <= hi; x++ {
		t := lchoose(K, x) + lchoose(N-K, n-x) - den
		terms = append(terms, t)
		if t > maxT {
			maxT = t
		}
	}
	if math.IsInf(maxT, -1) {
		return math.Inf(-1)
	}
	s := 0.0
	for _, t := range terms {
		s += math.Exp(t - maxT)
	}
	return maxT + math.Log(s)
}

// bitCounts counts, for each of 64 bit positions, the words added with that
// bit set: four 16-bit lanes per uint64, so one add covers four positions.
// Lanes must stay below 1<<16 (callers bound the number of words added).
type bitCounts [16]uint64

// nibbleLanes spreads the four bits of a nibble over four 16-bit lanes.
var nibbleLanes = func() (t [16]uint64) {
	for n := range t {
		for l := 0; l < 4; l++ {
			t[n] |= uint64(n>>l&1) << (16 * l)
		}
	}
	return t
}()

func (c *bitCounts) add(x uint64) {
	for k := range c {
		c[k] += nibbleLanes[x>>(4*k)&15]
	}
}

// at is the count of bit b.
func (c *bitCounts) at(b int) int { return int(uint16(c[b/4] >> (16 * (b % 4)))) }
