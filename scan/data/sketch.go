package data

import "math"

// cms is a count-min sketch of document frequencies with conservative
// update: memory is fixed by configuration, estimates only overcount.
type cms struct {
	rows [cmsDepth][]uint32
	mask uint64
}

const cmsDepth = 4

func newCMS(width int) *cms {
	w := 1
	for w < width {
		w <<= 1
	}
	c := &cms{mask: uint64(w - 1)}
	for i := range c.rows {
		c.rows[i] = make([]uint32, w)
	}
	return c
}

func (c *cms) idx(h uint64, i int) uint64 { return mix64(h+uint64(i)*0x9e3779b97f4a7c15) & c.mask }

func (c *cms) add(h uint64) {
	var ix [cmsDepth]uint64
	min := uint32(math.MaxUint32)
	for i := range c.rows {
		ix[i] = c.idx(h, i)
		if v := c.rows[i][ix[i]]; v < min {
			min = v
		}
	}
	for i := range c.rows {
		if c.rows[i][ix[i]] == min {
			c.rows[i][ix[i]]++
		}
	}
}

func (c *cms) get(h uint64) uint32 {
	min := uint32(math.MaxUint32)
	for i := range c.rows {
		if v := c.rows[i][c.idx(h, i)]; v < min {
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
	n              int32
	capital        int32 // occurrences written with a capital letter (entities)
	sig            [sigBins]uint32
	sSum, sSq      float64
	pos, neg       int32
	prompt         bool
	sentence       bool
	lastRecord     int32
	promptDistinct int32
}

func newFeatStat(prompt bool) *featStat {
	f := &featStat{prompt: prompt, lastRecord: -1}
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
