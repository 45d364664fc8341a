package data

import "math"

// cms is a count-min sketch of document frequencies with conservative
// update: memory is fixed by configuration, estimates only overcount. The
// four counters of a key share one 64-byte block, so an update costs one
// cache miss rather than four.
type cms struct {
	c    []uint32
	nblk uint64
}

const cmsDepth = 4

func newCMS(width int) *cms {
	w := 16
	for w < width*cmsDepth {
		w <<= 1
	}
	return &cms{c: make([]uint32, w), nblk: uint64(w / 16)}
}

// slots are the key's block base and four distinct offsets in it.
func (c *cms) slots(h uint64) (base uint64, off [cmsDepth]uint64) {
	x := mix64(h ^ 0x9e3779b97f4a7c15)
	base = (x % c.nblk) * 16
	y := x >> 32
	// four distinct nibbles: offsets i*4 + (2 bits) keep them apart.
	for i := range off {
		off[i] = uint64(i)*4 + (y>>(2*i))&3
	}
	return base, off
}

func (c *cms) add(h uint64) {
	base, off := c.slots(h)
	blk := c.c[base : base+16 : base+16]
	min := uint32(math.MaxUint32)
	for _, o := range off {
		if v := blk[o]; v < min {
			min = v
		}
	}
	for _, o := range off {
		if blk[o] == min {
			blk[o]++
		}
	}
}

func (c *cms) get(h uint64) uint32 {
	base, off := c.slots(h)
	blk := c.c[base : base+16 : base+16]
	min := uint32(math.MaxUint32)
	for _, o := range off {
		if v := blk[o]; v < min {
			min = v
		}
	}
	return min
}

// sigBins is the number of one-permutation MinHash bins per feature.
const sigBins = 16

// featStat is what pass 2 keeps per tracked feature: its exact record count,
// a MinHash signature of its record set (one-permutation hashing, so one
// hash per record serves every feature) and response-sentiment moments.
type featStat struct {
	n         int32
	capital   int32 // occurrences written with a capital letter (entities)
	sig       [sigBins]uint32
	sSum, sSq float64
	pos, neg  int32
	prompt    bool
	sentence  bool
	// bits counts, per SimHash bit, the responses (nb of them) with it set:
	// a trigger whose responses agree on far more bits than chance
	// answers uniformly even when the wording varies.
	bits *[64]uint16
	nb   int32
	kind uint8
}

func newFeatStat(prompt bool) *featStat {
	f := &featStat{prompt: prompt}
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
