package harness

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/mlattest/mlattest/scan/data"
)

// The evaluation protocol measures generalization, not fit:
//
//   - Leave one source out: for each source S of the clean data, the scan's
//     threshold (Alpha, from Alphas) is the most sensitive one under which
//     every other source alone and all of them together pass with a clean
//     false-positive rate of at most MaxFPR. S is then scored with it:
//     clean (its false-positive rate and verdict alone) and poisoned (each
//     held-out variant planted at each rate into the whole clean data, the
//     poisoned records drawn only from S).
//   - Only held-out variants (index DevVariants and up) are scored.
//   - The templated, multilingual and 20-times-repeated corpora, which no
//     fold calibrates on, are scanned with the threshold calibrated on all
//     sources.

// Protocol configures one evaluation.
type Protocol struct {
	Clean  []data.Record
	Alphas []float64 // candidate thresholds, most sensitive first
	Rates  []float64
	MaxFPR float64
	Seed   uint64
	// Families to score (all when empty) and extra scan options.
	Only []string
	// Batches of held-out variants to score (all when empty), among
	// Batches(): "first", BatchFresh, BatchThird, BatchFourth, BatchFifth,
	// BatchSixth, BatchSeventh.
	Batches []string
	Opts    []data.Option
	Log     io.Writer // progress, may be nil
}

// CleanScore is a clean corpus's scan.
type CleanScore struct {
	Name     string
	Records  int
	Flagged  int
	FPR      float64
	Verdict  string
	Alpha    float64
	Findings []string // detector: target of each fail finding
}

// Fold is one left-out source.
type Fold struct {
	Source string
	Alpha  float64 // chosen without Source
	Clean  CleanScore
	Poison []Metrics // one per held-out variant and rate
}

// Report is the protocol's outcome.
type Report struct {
	Folds   []Fold
	Corpora []CleanScore // templated, multilingual, repeated
	// FamilyRecall is the recall per family and rate pooled over folds
	// and held-out variants: FamilyRecall[family][rate].
	FamilyRecall map[string]map[float64]float64
	// BatchRecall is the same split by the variants' batch (first,
	// fresh, third, fourth, fifth, sixth): BatchRecall[batch][family][rate].
	BatchRecall map[string]map[string]map[float64]float64
	Alpha       float64 // calibrated on all sources
}

// recallPool pools true positives and poisoned records per family and rate.
type recallPool map[string]map[float64]*[2]int

func (rp recallPool) add(family string, rate float64, m Metrics) {
	if rp[family] == nil {
		rp[family] = map[float64]*[2]int{}
	}
	if rp[family][rate] == nil {
		rp[family][rate] = &[2]int{}
	}
	rp[family][rate][0] += m.TP
	rp[family][rate][1] += m.Poisoned
}

// recall is NaN where nothing could be planted (no eligible record).
func (rp recallPool) recall() map[string]map[float64]float64 {
	out := map[string]map[float64]float64{}
	for f, byRate := range rp {
		out[f] = map[float64]float64{}
		for r, x := range byRate {
			out[f][r] = math.NaN()
			if x[1] > 0 {
				out[f][r] = float64(x[0]) / float64(x[1])
			}
		}
	}
	return out
}

func (p *Protocol) logf(format string, a ...any) {
	if p.Log != nil {
		fmt.Fprintf(p.Log, format, a...)
	}
}

func withAlpha(a float64) data.Option { return func(c *data.Config) { c.Alpha = a } }

// BySource groups record indices by source, sources in first-seen order.
func BySource(recs []data.Record) ([]string, map[string][]int) {
	idx := map[string][]int{}
	var names []string
	for i, r := range recs {
		if _, ok := idx[r.Source]; !ok {
			names = append(names, r.Source)
		}
		idx[r.Source] = append(idx[r.Source], i)
	}
	return names, idx
}

func subset(recs []data.Record, idx []int) []data.Record {
	out := make([]data.Record, len(idx))
	for k, i := range idx {
		out[k] = recs[i]
	}
	return out
}

// scoreClean scans a clean corpus: every flagged record is a false positive.
func (p *Protocol) scoreClean(ctx context.Context, name string, recs []data.Record, alpha float64) (CleanScore, error) {
	res, err := ScanRecords(ctx, name, recs, append(slices.Clone(p.Opts), withAlpha(alpha))...)
	if err != nil {
		return CleanScore{}, err
	}
	c := CleanScore{Name: name, Records: len(recs), Flagged: len(res.Flagged), Verdict: res.Verdict, Alpha: alpha}
	if len(recs) > 0 {
		c.FPR = float64(c.Flagged) / float64(len(recs))
	}
	for _, f := range res.Findings {
		if f.Severity == data.SevFail {
			c.Findings = append(c.Findings, fmt.Sprintf("%s: %.60q (%d)", f.Detector, f.Target, f.Count))
		}
	}
	return c, nil
}

func (c CleanScore) ok(maxFPR float64) bool { return c.Verdict == data.Pass && c.FPR <= maxFPR }

// CheckBatches reports an error naming the first of bs that is not a batch
// of Batches().
func CheckBatches(bs []string) error {
	for _, b := range bs {
		if !slices.Contains(Batches(), b) {
			return fmt.Errorf("harness: unknown batch %q (batches: %s)", b, strings.Join(Batches(), ", "))
		}
	}
	return nil
}

// Run evaluates the protocol.
func (p *Protocol) Run(ctx context.Context) (*Report, error) {
	if err := CheckBatches(p.Batches); err != nil {
		return nil, err
	}
	names, idx := BySource(p.Clean)
	// Each source alone and each leave-one-out union, at every threshold.
	alone := map[string]map[float64]CleanScore{}
	for _, s := range names {
		alone[s] = map[float64]CleanScore{}
		for _, a := range p.Alphas {
			c, err := p.scoreClean(ctx, s, subset(p.Clean, idx[s]), a)
			if err != nil {
				return nil, err
			}
			alone[s][a] = c
		}
	}
	choose := func(without string) (float64, error) {
		var rest []int
		for _, s := range names {
			if s != without {
				rest = append(rest, idx[s]...)
			}
		}
		slices.Sort(rest)
		for _, a := range p.Alphas {
			ok := true
			for _, s := range names {
				if s != without && !alone[s][a].ok(p.MaxFPR) {
					ok = false
				}
			}
			if !ok {
				continue
			}
			c, err := p.scoreClean(ctx, "without "+without, subset(p.Clean, rest), a)
			if err != nil {
				return 0, err
			}
			if c.ok(p.MaxFPR) {
				return a, nil
			}
		}
		return p.Alphas[len(p.Alphas)-1], nil // none qualifies: the strictest
	}
	rep := &Report{FamilyRecall: map[string]map[float64]float64{}, BatchRecall: map[string]map[string]map[float64]float64{}}
	pool, batches := recallPool{}, map[string]recallPool{}
	for fi, s := range names {
		a, err := choose(s)
		if err != nil {
			return nil, err
		}
		fold := Fold{Source: s, Alpha: a, Clean: alone[s][a]}
		p.logf("fold %s: alpha %g, clean FPR %.3f%% %s\n", s, a, 100*fold.Clean.FPR, fold.Clean.Verdict)
		for _, fam := range Families() {
			if len(p.Only) > 0 && !slices.Contains(p.Only, fam.Name) {
				continue
			}
			for vi, v := range fam.HeldOut() {
				if len(p.Batches) > 0 && !slices.Contains(p.Batches, v.BatchName()) {
					continue
				}
				for ri, rate := range p.Rates {
					seed := p.Seed + uint64(1000*fi+100*vi+ri)
					m, err := Evaluate(ctx, p.Clean, v, rate, []uint64{seed}, idx[s], append(slices.Clone(p.Opts), withAlpha(a))...)
					if err != nil {
						return nil, err
					}
					m.Family = fam.Name + " (" + v.Name + ")"
					m.Batch = v.BatchName()
					fold.Poison = append(fold.Poison, m)
					pool.add(fam.Name, rate, m)
					if batches[m.Batch] == nil {
						batches[m.Batch] = recallPool{}
					}
					batches[m.Batch].add(fam.Name, rate, m)
					p.logf("  %s %.1f%%: %d/%d recall %.2f, FP %d\n", v.Name, 100*rate, m.TP, m.Poisoned, m.Recall, m.FP)
				}
			}
		}
		rep.Folds = append(rep.Folds, fold)
	}
	rep.FamilyRecall = pool.recall()
	for b, bp := range batches {
		rep.BatchRecall[b] = bp.recall()
	}
	a, err := choose("")
	if err != nil {
		return nil, err
	}
	rep.Alpha = a
	for _, c := range []struct {
		name string
		recs []data.Record
	}{
		{"templated", Templated(p.Clean, p.Seed)},
		{"multilingual", Multilingual(3000, p.Seed)},
		{"all sources", p.Clean},
		{"all sources x20", Repeat(p.Clean, 20)},
	} {
		s, err := p.scoreClean(ctx, c.name, c.recs, a)
		if err != nil {
			return nil, err
		}
		p.logf("%s: %d records, FPR %.3f%% %s %v\n", c.name, s.Records, 100*s.FPR, s.Verdict, s.Findings)
		rep.Corpora = append(rep.Corpora, s)
	}
	return rep, nil
}
