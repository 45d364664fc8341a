package data

import (
	"math"
	"slices"
)

// Discoveries decides which of the candidate features the detectors test
// are findings, holding the expected share of false discoveries among them
// at a chosen rate q, whatever the number of records or features: one rule
// from a thousand records to ten million, where a fixed per-test threshold
// either misses small poison in small data or alarms on large data.
//
// It is the Benjamini–Hochberg step-up procedure, run per detector. The tests are far from independent
// (the n-grams of one phrase, one trigger against many targets), but their
// dependence is positive: records that raise one n-gram's statistic raise
// its neighbours', under which the procedure holds (Benjamini and Yekutieli
// 2001, theorem 1.2). With Dependent set it is the Benjamini–Yekutieli
// procedure, which holds under any dependence at the price of a factor
// H(m) ≈ ln m in the bound. Each detector registers a family with the
// number of tests it makes; every family gets the same share of the error
// budget, so a detector making billions of pair tests neither drowns one
// making a thousand nor, by its many benign discoveries, loosens it.
//
// P-values are natural logarithms: the exact tails reach far below the
// smallest float64. A test a detector set aside before computing its
// p-value counts in its family's size as p = 1 (never a discovery), which
// is conservative.
type Discoveries struct {
	// Dependent selects the Benjamini–Yekutieli bound.
	Dependent bool
	fams      []*TestFamily
}

// TestFamily is one detector's tests.
type TestFamily struct {
	Name  string
	tests int
	logP  []float64
}

// Family adds a family of tests; tests is how many it makes in all (at
// least the p-values it adds).
func (d *Discoveries) Family(name string, tests int) *TestFamily {
	f := &TestFamily{Name: name, tests: tests}
	d.fams = append(d.fams, f)
	return f
}

// Add records one test's log p-value. P-values above q can never be
// discoveries and need not be added.
func (f *TestFamily) Add(logP float64) {
	if !math.IsNaN(logP) {
		f.logP = append(f.logP, logP)
	}
}

// Cut returns, for each family in the order made, the largest log p-value
// that is a discovery at false-discovery rate q (math.Inf(-1) when none
// is). A test is a finding when its log p-value is at most its family's
// cut. Each of the F families that made tests runs the step-up procedure
// over its own tests at q/F: a family whose statistical null is often
// false for benign reasons (a topic's words do predict its answers) must
// not, by the many discoveries it makes, loosen the bound of another.
func (d *Discoveries) Cut(q float64) []float64 {
	cuts := make([]float64, len(d.fams))
	live := 0
	for _, f := range d.fams {
		if max(f.tests, len(f.logP)) > 0 {
			live++
		}
	}
	for k, f := range d.fams {
		cuts[k] = math.Inf(-1)
		m := max(f.tests, len(f.logP))
		if m == 0 || q <= 0 {
			continue
		}
		qf := q / float64(live)
		if d.Dependent {
			qf /= harmonic(m)
		}
		cuts[k] = stepUpCut(f.logP, m, qf)
	}
	return cuts
}

// stepUpCut is the Benjamini–Hochberg cut-off for the log p-values logP
// out of m tests at rate q: the largest logP[(k)] with p(k) <= k·q/m, or
// -Inf when there is none. (Benjamini–Yekutieli is q/H(m) for q.)
func stepUpCut(logP []float64, m int, q float64) float64 {
	s := slices.Clone(logP)
	slices.Sort(s)
	base := math.Log(q) - math.Log(float64(m))
	cut := math.Inf(-1)
	for k, p := range s {
		if p <= base+math.Log(float64(k+1)) {
			cut = p
		}
	}
	return cut
}

// harmonic is H(m) = 1 + 1/2 + ... + 1/m.
func harmonic(m int) float64 {
	if m < 64 {
		h := 0.0
		for i := 1; i <= m; i++ {
			h += 1 / float64(i)
		}
		return h
	}
	x := float64(m)
	return math.Log(x) + 0.5772156649015329 + 1/(2*x) - 1/(12*x*x)
}

// logNormalTail is log P(Z >= z) for a standard normal Z, accurate far
// into the tail (where the complementary error function underflows).
func logNormalTail(z float64) float64 {
	if z < 8 {
		return math.Log(0.5 * math.Erfc(z/math.Sqrt2))
	}
	// Asymptotic series of Mills' ratio.
	z2 := z * z
	return -z2/2 - math.Log(z) - 0.5*math.Log(2*math.Pi) + math.Log1p(-1/z2+3/(z2*z2)-15/(z2*z2*z2))
}
