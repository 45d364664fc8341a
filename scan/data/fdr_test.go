package data

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The Benjamini–Yekutieli cut against the procedure written out in
// probabilities: reject the k smallest p-values for the largest k with
// p(k) <= k q / (m H(m)).
func TestBYCut(t *testing.T) {
	log := math.Log
	tests := []struct {
		name string
		p    []float64
		m    int
		q    float64
		want float64 // the largest rejected p-value, 0 for none
	}{
		// H(4) = 25/12: the bounds are 0.006, 0.012, 0.018, 0.024.
		{"two of four", []float64{0.5, 0.001, 0.03, 0.01}, 4, 0.05, 0.01},
		{"step-up reaches past a gap", []float64{0.007, 0.011, 0.013, 0.5}, 4, 0.05, 0.013},
		{"none", []float64{0.007, 0.5}, 4, 0.05, 0},
		// Tests given no p-value count as p = 1: more of them, fewer finds.
		{"untested count", []float64{0.001, 0.01}, 4, 0.05, 0.01},
		{"untested count (more)", []float64{0.001, 0.01}, 1000, 0.05, 0},
		{"tiny p", []float64{1e-300, 1e-200}, 1 << 40, 1e-3, 1e-200},
	}
	for _, tc := range tests {
		var lp []float64
		for _, p := range tc.p {
			lp = append(lp, log(p))
		}
		got := stepUpCut(lp, tc.m, tc.q/harmonic(tc.m))
		if tc.want == 0 {
			if !math.IsInf(got, -1) {
				t.Errorf("%s: cut %g, want none", tc.name, math.Exp(got))
			}
			continue
		}
		if math.Abs(got-log(tc.want)) > 1e-9 {
			t.Errorf("%s: cut %g, want %g", tc.name, math.Exp(got), tc.want)
		}
	}
}

// The log-space procedure against a plain one on random p-values.
func TestBYCutMatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 500 {
		n := 1 + rng.IntN(40)
		m := n + rng.IntN(100)
		q := []float64{0.1, 0.01, 0.001}[trial%3]
		p := make([]float64, n)
		lp := make([]float64, n)
		for i := range p {
			p[i] = math.Pow(rng.Float64(), 1+float64(rng.IntN(8)))
			lp[i] = math.Log(p[i])
		}
		h := 0.0
		for i := 1; i <= m; i++ {
			h += 1 / float64(i)
		}
		s := slices.Clone(p)
		slices.Sort(s)
		want := 0.0
		for k, v := range s {
			if v <= float64(k+1)*q/(float64(m)*h) {
				want = v
			}
		}
		got := math.Exp(stepUpCut(lp, m, q/harmonic(m)))
		if math.Abs(got-want) > 1e-12*math.Max(want, 1e-300) {
			t.Fatalf("trial %d: cut %g, want %g (m %d, q %g, p %v)", trial, got, want, m, q, p)
		}
	}
}

// Families share the budget equally: a p-value that is a discovery among
// ten tests is not among a billion (pooled, 1e-6 would be far above
// 0.01/(1e9·H(1e9))), a detector making a billion tests does not raise the
// bar of one making ten, and many discoveries of one family do not lower
// another's bar.
func TestDiscoveriesFamilies(t *testing.T) {
	d := Discoveries{Dependent: true}
	pairs := d.Family("pairs", 1e9)
	few := d.Family("few", 10)
	d.Family("empty", 0)
	pairs.Add(math.Log(1e-6))
	pairs.Add(math.Log(1e-14))
	few.Add(math.Log(1e-6))
	few.Add(math.NaN()) // ignored
	cuts := d.Cut(0.01)
	if len(cuts) != 3 {
		t.Fatalf("%d cuts", len(cuts))
	}
	if !(math.Log(1e-14) <= cuts[0] && cuts[0] < math.Log(1e-6)) {
		t.Errorf("pairs cut %g: want 1e-14 in, 1e-6 out", math.Exp(cuts[0]))
	}
	if math.Log(1e-6) > cuts[1] {
		t.Errorf("few cut %g: want 1e-6 in", math.Exp(cuts[1]))
	}
	if !math.IsInf(cuts[2], -1) {
		t.Errorf("empty family cut %g", cuts[2])
	}
	// A thousand tiny p-values of one family leave the other's bar where
	// it was (pooled, 1e-3 would be the 1001st of 1002 under k·q/m).
	crowd := Discoveries{}
	many, other := crowd.Family("many", 1000), crowd.Family("other", 1000)
	for range 1000 {
		many.Add(-200)
	}
	other.Add(math.Log(1e-3))
	if c := crowd.Cut(0.01); !math.IsInf(c[1], -1) || c[0] != -200 {
		t.Errorf("crowded cuts %v", c)
	}
	// Alone, the small family's bound is the plain procedure's.
	one := Discoveries{Dependent: true}
	f := one.Family("few", 10)
	f.Add(math.Log(0.001))
	f.Add(math.Log(0.5))
	if c := one.Cut(0.05); math.Abs(c[0]-math.Log(0.001)) > 1e-12 {
		t.Errorf("single family cut %g", math.Exp(c[0]))
	}
	var none Discoveries
	none.Family("x", 5).Add(math.Log(0.5))
	if c := none.Cut(0.05); !math.IsInf(c[0], -1) {
		t.Errorf("no discovery: cut %g", c[0])
	}
	// Benjamini–Hochberg (positive dependence): 0.02 is the second of
	// three p-values under 2·0.05/4, not under the Yekutieli bound.
	bh, by := Discoveries{}, Discoveries{Dependent: true}
	for _, x := range []*Discoveries{&bh, &by} {
		f := x.Family("f", 4)
		f.Add(math.Log(0.001))
		f.Add(math.Log(0.02))
	}
	if c := bh.Cut(0.05); math.Abs(c[0]-math.Log(0.02)) > 1e-12 {
		t.Errorf("BH cut %g, want 0.02", math.Exp(c[0]))
	}
	if c := by.Cut(0.05); math.Abs(c[0]-math.Log(0.001)) > 1e-12 {
		t.Errorf("BY cut %g, want 0.001", math.Exp(c[0]))
	}
	if c := one.Cut(0); !math.IsInf(c[0], -1) {
		t.Errorf("q = 0: cut %g", c[0])
	}
}

func TestLogNormalTail(t *testing.T) {
	for _, z := range []float64{0, 1, 3, 5, 7.9, 8, 8.1, 20, 37} {
		want := math.Log(0.5 * math.Erfc(z/math.Sqrt2))
		if got := logNormalTail(z); math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("z %g: %g, want %g", z, got, want)
		}
	}
	// Beyond float64's erfc: finite and decreasing.
	a, b := logNormalTail(40), logNormalTail(60)
	if math.IsInf(a, 0) || math.IsNaN(a) || !(b < a) {
		t.Errorf("tail at 40: %g, at 60: %g", a, b)
	}
}
